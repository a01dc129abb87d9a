import numpy as np
import pytest
import xarray as xr

import cavitykit
from cavitykit import xr as ckxr


@pytest.fixture
def labelled(rng):
    values = rng.exponential(size=(3, 500, 2))
    return xr.DataArray(
        values, dims=("neuron", "sample", "round"), coords={"neuron": [10, 20, 30], "round": [0, 1]}, name="preact"
    )


def test_kstats_adds_order_and_keeps_labels(labelled):
    out = ckxr.kstats(labelled, "sample", 4)
    assert out.dims == ("order", "neuron", "round")
    assert list(out.order.values) == [1, 2, 3, 4]
    assert list(out.neuron.values) == [10, 20, 30]
    np.testing.assert_allclose(out.sel(neuron=20, round=1).values, cavitykit.kstats(labelled.values[1, :, 1], 4))


def test_spectrum_and_kurtosis(labelled):
    spectrum = ckxr.cumulant_spectrum(labelled, "sample", 6)
    np.testing.assert_allclose(spectrum.sel(order=4).values, ckxr.kurtosis(labelled, "sample").values, rtol=1e-12)


def test_unknown_dim_is_named(labelled):
    with pytest.raises(ValueError, match="dim='samples'"):
        ckxr.kstats(labelled, "samples")
    with pytest.raises(TypeError, match="DataArray"):
        ckxr.kstats(labelled.values, "sample")
