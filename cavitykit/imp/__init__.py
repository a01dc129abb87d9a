"""Iterative magnitude pruning: configs, training, pruning rules and the resumable runner."""

from cavitykit.imp.config import RunConfig, config_from_dict, load_config, load_preset, presets
from cavitykit.imp.runner import run, run_directory

__all__ = ["RunConfig", "config_from_dict", "load_config", "load_preset", "presets", "run", "run_directory"]
