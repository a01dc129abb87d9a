"""xarray wrappers: name the sample dimension, get labelled results back.

Each wrapper reduces over ``dim`` and keeps every other dimension and its
coordinates; orders become a new leading ``order`` dimension labelled 1..R.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from cavitykit import stats

__all__ = ["cumulant_spectrum", "kstats", "kurtosis"]


def _sample_axis_first(da: xr.DataArray, dim: str) -> tuple[np.ndarray, list[str]]:
    if not isinstance(da, xr.DataArray):
        raise TypeError(f"da must be an xarray.DataArray, got {type(da).__name__}")
    if dim not in da.dims:
        raise ValueError(f"dim={dim!r} is not a dimension of the array; it has {tuple(da.dims)}")
    kept = [d for d in da.dims if d != dim]
    return da.transpose(dim, *kept).values, kept


def _kept_coords(da: xr.DataArray, dim: str) -> dict:
    return {name: coord for name, coord in da.coords.items() if dim not in coord.dims}


def _by_order(values: np.ndarray, da: xr.DataArray, dim: str, kept: list[str], name: str, attrs: dict):
    coords = _kept_coords(da, dim) | {"order": np.arange(1, values.shape[0] + 1)}
    return xr.DataArray(values, dims=("order", *kept), coords=coords, name=name, attrs=attrs)


def kstats(da: xr.DataArray, dim: str = "sample", max_order: int = 4, *, nan_policy: str = "propagate"):
    """k-statistics k_1..k_max_order over ``dim``: a DataArray with a new ``order`` dimension.

    Parameters
    ----------
    da : xarray.DataArray
    dim : str, default "sample"
        The dimension holding the samples.
    max_order : int, default 4
    nan_policy : {'propagate', 'raise', 'omit'}

    Returns
    -------
    xarray.DataArray with dims ("order", *other dims of ``da``)

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> da = xr.DataArray(np.random.default_rng(0).standard_normal((1000, 2)), dims=("sample", "unit"))
    >>> kstats(da, max_order=4).dims
    ('order', 'unit')
    """
    values, kept = _sample_axis_first(da, dim)
    result = stats.kstats(values, max_order, axis=0, nan_policy=nan_policy)
    attrs = {"long_name": "k-statistic (unbiased cumulant estimate)", "sample_dim": dim}
    return _by_order(result, da, dim, kept, "kstat", attrs)


def cumulant_spectrum(da: xr.DataArray, dim: str = "sample", max_order: int = 8, *, nan_policy: str = "propagate"):
    """Standardized cumulants k_n / k_2^(n/2) over ``dim``, with an ``order`` dimension 1..max_order.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> da = xr.DataArray(np.random.default_rng(0).standard_normal((1000, 2)), dims=("sample", "unit"))
    >>> spectrum = cumulant_spectrum(da, max_order=6)
    >>> spectrum.dims, spectrum.order.values.tolist()
    (('order', 'unit'), [1, 2, 3, 4, 5, 6])
    """
    values, kept = _sample_axis_first(da, dim)
    result = stats.cumulant_spectrum(values, max_order, axis=0, nan_policy=nan_policy)
    attrs = {"long_name": "standardized cumulant k_n / k_2^(n/2)", "units": "1", "sample_dim": dim}
    return _by_order(result, da, dim, kept, "cumulant_spectrum", attrs)


def kurtosis(da: xr.DataArray, dim: str = "sample", *, fisher: bool = True, bias: bool = False):
    """Kurtosis over ``dim`` (excess, unbiased k_4 / k_2^2 by default), other dims kept.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> da = xr.DataArray(np.random.default_rng(0).uniform(-1, 1, (100_000, 2)), dims=("sample", "unit"))
    >>> kurtosis(da).round(1).values  # uniform: -6/5
    array([-1.2, -1.2])
    """
    values, kept = _sample_axis_first(da, dim)
    result = stats.kurtosis(values, axis=0, fisher=fisher, bias=bias)
    attrs = {"long_name": "excess kurtosis" if fisher else "kurtosis", "units": "1", "sample_dim": dim}
    return xr.DataArray(result, dims=kept, coords=_kept_coords(da, dim), name="kurtosis", attrs=attrs)
