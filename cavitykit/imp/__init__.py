"""Iterative magnitude pruning: training, pruning rules and the resumable runner (torch).

``run`` and ``run_directory`` load the runner, and with it torch, on first use; the config
(``cavitykit.config``) is re-exported here for convenience and imports neither.
"""

from cavitykit.config import RunConfig, config_from_dict, load_config, load_preset, presets

__all__ = ["RunConfig", "config_from_dict", "load_config", "load_preset", "presets", "run", "run_directory"]


def __getattr__(name: str):
    if name in ("run", "run_directory"):
        from cavitykit.imp import runner

        return getattr(runner, name)
    raise AttributeError(f"module 'cavitykit.imp' has no attribute {name!r}")
