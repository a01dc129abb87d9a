"""Run store: the only package that touches netCDF files (through xarray's netcdf4 engine).

``schema`` defines what a round file holds; ``store`` where files live (a run's directory, named by its
config and checked on resume; control branches under ``controls/``) and how they are written and
combined; ``weights`` the small file a published report
is re-judged from; ``sweeps`` how a sweep's runs are indexed and opened together.  None imports torch
or the IMP engine.
"""

from cavitykit.io.schema import (
    CUMULANT_VARIABLES,
    LAYER_VARIABLES,
    MEASURED,
    SCHEMA,
    VARIABLES,
    RoundRecord,
    counts_per_class,
    encode_round,
    first_layer_sparsity,
    grid_shape,
    padded_layers,
    run_config,
    seen_pixels,
    stored_layers,
    stored_mask,
    stored_pruning,
)
from cavitykit.io.store import (
    CONFIG_FILE,
    CUMULANTS_FILE,
    atomic_directory,
    atomic_target,
    cumulants_mismatch,
    current_cumulants,
    open_run,
    prepare_run_directory,
    read_round,
    remove_temporaries,
    round_path,
    run_controls,
    run_directory,
    stored_config_hash,
    with_cumulants,
    write_dataset,
)
from cavitykit.io.sweep_index import (
    open_sweep,
    read_sweep_index,
    read_sweep_verdicts,
    sweep_points,
    write_sweep_index,
    write_sweep_verdicts,
)
from cavitykit.io.weights import open_weights, weights_controls, write_weights

__all__ = [
    "CONFIG_FILE",
    "CUMULANTS_FILE",
    "CUMULANT_VARIABLES",
    "LAYER_VARIABLES",
    "MEASURED",
    "SCHEMA",
    "VARIABLES",
    "RoundRecord",
    "atomic_directory",
    "atomic_target",
    "counts_per_class",
    "cumulants_mismatch",
    "current_cumulants",
    "encode_round",
    "first_layer_sparsity",
    "grid_shape",
    "open_run",
    "open_sweep",
    "open_weights",
    "padded_layers",
    "prepare_run_directory",
    "read_round",
    "read_sweep_index",
    "read_sweep_verdicts",
    "remove_temporaries",
    "round_path",
    "run_config",
    "run_controls",
    "run_directory",
    "seen_pixels",
    "stored_config_hash",
    "stored_layers",
    "stored_mask",
    "stored_pruning",
    "sweep_points",
    "weights_controls",
    "with_cumulants",
    "write_dataset",
    "write_sweep_index",
    "write_sweep_verdicts",
    "write_weights",
]
