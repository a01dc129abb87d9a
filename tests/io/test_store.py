"""Run store and round schema: a round read back equals what was written; foreign, corrupt and
mismatched files are refused by name."""

import numpy as np
import pytest
import xarray as xr

from cavitykit.imp import run
from cavitykit.io import (
    LAYER_VARIABLES,
    NORM_VARIABLES,
    SCHEMA,
    VARIABLES,
    RoundRecord,
    encode_round,
    open_run,
    read_round,
    round_path,
    stored_config_hash,
    write_dataset,
)
from tests.imp.tiny import tiny_config


def random_record(rng, *, bias=True, cavity=True, orders=(1, 2), snapshots=True):
    """A round of 3 units on 12 inputs with every optional variable, filled with random values."""
    units, inputs, times = 3, 12, 4
    mask = rng.random((units, inputs)) > 0.3
    weight = np.where(mask, rng.standard_normal((units, inputs)), 0.0)
    return RoundRecord(
        variant="ising_clone",
        replicate=2,
        round_index=5,
        weight=weight,
        mask=mask,
        init_weight=rng.standard_normal((units, inputs)),
        readout=rng.standard_normal(units),
        init_readout=rng.standard_normal(units),
        readout_mask=np.array([True, False, True]),
        pruned_next=mask & (rng.random((units, inputs)) > 0.7),
        readout_pruned_next=np.array([False, False, True]),
        train_loss=0.25,
        test_accuracy=0.75,
        preact_variance=rng.random((2, units)),
        preact_skewness=rng.standard_normal((2, units)),
        preact_excess_kurtosis=np.array([[np.nan, -1.0, 0.5], [np.nan, -0.2, 0.1]]),
        ipr=rng.random(units),
        bias=rng.standard_normal(units) if bias else None,
        init_bias=rng.standard_normal(units) if bias else None,
        cavity_exact=rng.standard_normal((2, units, inputs)) if cavity else None,
        cavity_expansion=rng.standard_normal((2, len(orders), units, inputs)) if cavity else None,
        cavity_theory=rng.standard_normal((2, units, inputs)) if cavity else None,
        theory_excess_kurtosis=rng.standard_normal((2, units)) if cavity else None,
        snapshot_time=np.array([0.0, 0.5, 5.0, 50.0]) if snapshots else None,
        snapshot_weight=rng.standard_normal((times, units, inputs)) if snapshots else None,
        snapshot_bias=rng.standard_normal((times, units)) if snapshots and bias else None,
        snapshot_readout=rng.standard_normal((times, units)) if snapshots else None,
    )


def test_a_round_reads_back_as_written(tmp_path, rng):
    config = tiny_config(analysis={"expansion_orders": [1, 2]})
    record = random_record(rng)
    write_dataset(tmp_path / "round.nc", encode_round(record, config, data_description={"gain": 3.0}))
    back = read_round(tmp_path / "round.nc", config_hash=config.hash).isel(variant=0, replicate=0, round=0)
    # a network of one hidden layer without batch normalization has no others
    assert not {*LAYER_VARIABLES, *NORM_VARIABLES} & set(back.data_vars)
    for name in (name for name in VARIABLES if name not in (*LAYER_VARIABLES, *NORM_VARIABLES)):
        expected = record.init_weight * record.mask if name == "init_weight" else getattr(record, name, None)
        if name == "sparsity":
            expected = 1 - record.mask.mean()
        np.testing.assert_array_equal(back[name].values, expected, err_msg=name)
        assert back[name].dtype == np.asarray(expected).dtype, name
        assert back[name].attrs["long_name"] == VARIABLES[name][1] and back[name].attrs["units"] == "1"
        assert back[name].dims == VARIABLES[name][0], name
    assert (back["variant"].item(), int(back["replicate"]), int(back["round"])) == ("ising_clone", 2, 5)
    np.testing.assert_array_equal(back.approx_order, [1, 2])
    np.testing.assert_array_equal(back["time"], [0.0, 0.5, 5.0, 50.0])
    np.testing.assert_array_equal(back.x, np.arange(12))
    assert back.attrs["config"] == config.to_toml() and back.attrs["cavitykit_schema"] == SCHEMA
    assert back.attrs["data_model"] == "ising_clone" and back.attrs["data_gain"] == "3.0"
    assert back.attrs["Conventions"] == "CF-1.8"


def test_optional_variables_are_left_out(tmp_path, rng):
    config = tiny_config(network={"bias": False}, analysis={"cavity": False})
    record = random_record(rng, bias=False, cavity=False, snapshots=False)
    write_dataset(tmp_path / "round.nc", encode_round(record, config, data_description={}))
    back = read_round(tmp_path / "round.nc")
    optional = {"bias", "init_bias", "cavity_exact", "cavity_expansion", "cavity_theory", "theory_excess_kurtosis"}
    snapshots = {"snapshot_weight", "snapshot_bias", "snapshot_readout", "time"}
    assert not (optional | snapshots | {"approx_order"}) & set(back.variables)


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    config = tiny_config(variants=["nlgp"], imp={"rounds": 2}, analysis={"cavity": False, "n_heldout": 100})
    return config, run(config, tmp_path_factory.mktemp("store"), progress=False)


def test_booleans_round_trip(tmp_path):
    dataset = xr.Dataset({"flag": (("a",), np.array([True, False, True]))}, attrs={"cavitykit_schema": "x"})
    write_dataset(tmp_path / "f.nc", dataset)
    with xr.open_dataset(tmp_path / "f.nc", engine="netcdf4") as raw:
        assert raw["flag"].dtype == np.uint8 and raw["flag"].attrs["flag_meanings"] == "false true"


def test_strings_read_from_a_narrower_file_are_written_whole(tmp_path):
    short = xr.Dataset(coords={"variant": ["ising"]}, attrs={"cavitykit_schema": SCHEMA})
    write_dataset(tmp_path / "short.nc", short)
    both = xr.concat([read_round(tmp_path / "short.nc"), xr.Dataset(coords={"variant": ["ising_clone"]})], "variant")
    write_dataset(tmp_path / "both.nc", both.assign_attrs(cavitykit_schema=SCHEMA))
    assert list(read_round(tmp_path / "both.nc").variant.values) == ["ising", "ising_clone"]


def test_corrupt_round_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "round_000.nc"
    bad.write_bytes(b"\x89HDF garbage")
    with pytest.raises(ValueError, match="not a readable netCDF4 file"):
        read_round(bad)


def test_a_round_file_cut_short_says_that_deleting_it_recomputes_the_round(tmp_path):
    bad = round_path(tmp_path, "nlgp", 0, 2)
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(40))
    for reader in (read_round, stored_config_hash):  # the runner reads the header first
        with pytest.raises(ValueError, match=r"a round file cut short .* delete it and run the same `cavitykit run`"):
            reader(bad)


def test_foreign_netcdf_is_refused(tmp_path):
    xr.Dataset({"a": ("x", [1.0])}).to_netcdf(tmp_path / "foreign.nc", engine="netcdf4")
    with pytest.raises(ValueError, match="not a cavitykit round file"):
        read_round(tmp_path / "foreign.nc")


def test_round_of_another_config_is_refused(small_run):
    _, run_dir = small_run
    with pytest.raises(ValueError, match="belongs to config"):
        read_round(round_path(run_dir, "nlgp", 0, 0), config_hash="0" * 64)


def test_open_run_errors(tmp_path):
    with pytest.raises(ValueError, match=r"no config\.toml"):
        open_run(tmp_path)


def test_open_run_refuses_a_round_of_another_config(small_run, tmp_path):
    _, run_dir = small_run
    other = run(tiny_config(variants=["nlgp"], imp={"rounds": 2}, seed=4), tmp_path, progress=False)
    copy = tmp_path / "mixed"
    copy.mkdir()
    (copy / "config.toml").write_text((run_dir / "config.toml").read_text())
    round_path(copy, "nlgp", 0, 0).parent.mkdir(parents=True)
    round_path(copy, "nlgp", 0, 0).write_bytes(round_path(run_dir, "nlgp", 0, 0).read_bytes())
    round_path(copy, "nlgp", 0, 1).write_bytes(round_path(other, "nlgp", 0, 1).read_bytes())
    with pytest.raises(ValueError, match=r"round_001\.nc' belongs to config .* not to the config\.toml beside it"):
        open_run(copy)


def test_directory_of_another_config_is_refused(small_run):
    _, run_dir = small_run
    other = tiny_config(variants=["nlgp"], imp={"rounds": 3})
    with pytest.raises(ValueError, match="holds a run of a different training"):
        run(other, run_dir, progress=False)
    assert open_run(run_dir).sizes["round"] == 2  # nothing lost


def test_booleans_survive_a_netcdf_file_and_missing_flags_stay_numbers(tmp_path):
    from cavitykit.io.schema import decode_booleans, encode_booleans

    ds = xr.Dataset(
        {"mask": ("input", np.array([True, False, True])), "weight": ("input", [1.0, 0.0, 2.0])},
        coords={"input": [0, 1, 2]},
    )
    write_dataset(tmp_path / "b.nc", encode_booleans(ds))
    with xr.open_dataset(tmp_path / "b.nc") as stored:
        assert stored.mask.dtype == np.uint8  # netCDF holds no bool
        decoded = decode_booleans(stored.load())
    xr.testing.assert_identical(decoded, ds)
    outer = encode_booleans(ds).reindex(input=[0, 1, 2, 3])  # an outer join: the new flag is missing
    kept = decode_booleans(outer).mask
    assert kept.dtype.kind == "f" and np.isnan(kept.values[3]) and kept.values[:3].tolist() == [1, 0, 1]


def test_swept_dims_and_pixel_coordinates_by_hand():
    from cavitykit.io.schema import pixel_coordinates
    from cavitykit.io.sweep_index import swept_dims

    assert swept_dims(["data.gain", "imp.rounds", "x.rounds"]) == {
        "data.gain": "gain",
        "imp.rounds": "imp.rounds",
        "x.rounds": "x.rounds",
    }
    ring, torus = pixel_coordinates((4,)), pixel_coordinates((2, 2))
    assert ring["x"][1].tolist() == [0, 1, 2, 3] and set(ring) == {"x"}
    assert torus["x"][1].tolist() == [0, 1, 0, 1] and torus["y"][1].tolist() == [0, 0, 1, 1]


def test_run_controls_refuses_a_weights_file_and_a_missing_folder(tmp_path):
    from cavitykit.io import run_controls

    (tmp_path / "weights.nc").write_bytes(b"")
    with pytest.raises(ValueError, match="is a file: the controls of a weights file are weights_controls"):
        run_controls(tmp_path / "weights.nc")
    with pytest.raises(ValueError, match="does not exist"):
        run_controls(tmp_path / "nowhere")
    assert run_controls(tmp_path) == []
