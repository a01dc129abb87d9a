"""A tiny IMP config that runs in a second or two (shared by the IMP, io and CLI tests)."""

from cavitykit.config import config_from_dict

TINY = {
    "name": "tiny",
    "seed": 3,
    "replicates": 1,
    "variants": ["nlgp", "gaussian_clone"],
    "data": {"L": 12, "dim": 1, "xi": [1.0, 3.0], "gain": 3.0, "n_train": 400, "n_test": 200},
    "network": {"width": 4, "activation": "relu", "bias": True},
    "training": {"optimizer": "adam", "learning_rate": 0.01, "steps": 60, "batch_size": 16},
    "imp": {"rounds": 4, "prune_fraction": 0.3},
    "analysis": {"n_heldout": 400, "expansion_orders": [1, 2]},
}


def tiny_values(**sections) -> dict:
    """TINY's tables with some sections' keys replaced, e.g. tiny_values(imp={"strategy": "random"})."""
    values = {key: (dict(value) if isinstance(value, dict) else value) for key, value in TINY.items()}
    for section, changes in sections.items():
        if isinstance(changes, dict):
            values[section] = values[section] | changes
        else:
            values[section] = changes
    return values


def tiny_config(**sections):
    """TINY with some sections' keys replaced, e.g. tiny_config(imp={"strategy": "random"})."""
    return config_from_dict(tiny_values(**sections))
