"""The stored example run is what ``make_example_run`` trains today: the doctests read a current run."""

import pytest
import xarray as xr

from cavitykit.io import open_run
from cavitykit.testing.runs import example_config, example_run, make_example_run


def test_the_stored_example_run_holds_its_config():
    ds = open_run(example_run())
    assert (example_run() / "config.toml").read_text() == example_config().to_toml()
    assert (ds.sizes["variant"], ds.sizes["replicate"], ds.sizes["round"]) == (2, 2, 3)
    assert int(ds["mask"].isel(round=-1).sum()) < int(ds["mask"].isel(round=0).sum())  # pruned


@pytest.mark.slow
def test_the_stored_example_run_is_what_make_example_run_trains(tmp_path):
    stored, fresh = open_run(example_run()), open_run(make_example_run(tmp_path))
    assert set(stored.data_vars) == set(fresh.data_vars)
    xr.testing.assert_allclose(stored.drop_attrs(), fresh.drop_attrs(), rtol=1e-5, atol=1e-8)
