"""Run store: errors for foreign, corrupt and mismatched files; boolean round trip."""

import numpy as np
import pytest
import xarray as xr

from cavitykit.imp import run
from cavitykit.io import SCHEMA, open_run, read_round, round_path, write_dataset
from tests.imp.tiny import tiny_config


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


def test_directory_of_another_config_is_refused(small_run):
    _, run_dir = small_run
    other = tiny_config(variants=["nlgp"], imp={"rounds": 3})
    with pytest.raises(ValueError, match="holds a run of a different config"):
        run(other, run_dir, progress=False)
    assert open_run(run_dir).sizes["round"] == 2  # nothing lost
