"""Iterative magnitude pruning: training, pruning rules and the resumable runner (torch).

``run`` loads the runner, and with it torch, on first use; ``run_directory`` (from ``cavitykit.io``)
and the config (``cavitykit.config``) are re-exported here for convenience and import neither.
"""

from cavitykit.config import RunConfig, config_from_dict, load_config, load_preset, presets

__all__ = ["RunConfig", "config_from_dict", "load_config", "load_preset", "presets", "run", "run_directory"]


def __getattr__(name: str):
    if name == "run":
        from cavitykit.imp import runner

        return runner.run
    if name == "run_directory":
        from cavitykit.io import run_directory

        return run_directory
    raise AttributeError(f"module 'cavitykit.imp' has no attribute {name!r}")
