"""Assertions the test suite uses, public so that users can check their own estimates the same way."""

from __future__ import annotations

import numpy as np


def assert_close_to_reference(result, reference, *, rtol: float = 1e-10) -> None:
    """Assert ``result`` equals ``reference`` to ``rtol`` of the reference's largest magnitude.

    Made for arrays of effects whose scale is set by their largest entries (cavity effects,
    k-statistics): entries near zero carry no relative digits, so each entry is compared with
    an absolute tolerance ``rtol * max|reference|``.  NaN must sit in the same places.

    Parameters
    ----------
    result, reference : array_like of the same shape
    rtol : float

    Raises
    ------
    AssertionError

    Examples
    --------
    >>> assert_close_to_reference([1.0, 1e-12, np.nan], [1.0, 0.0, np.nan])
    >>> assert_close_to_reference([1.0, 0.1], [1.0, 0.0])
    Traceback (most recent call last):
    ...
    AssertionError: ...
    """
    result, reference = np.asarray(result, dtype=np.float64), np.asarray(reference, dtype=np.float64)
    np.testing.assert_array_equal(np.isnan(result), np.isnan(reference), err_msg="NaN in different places")
    scale = np.nanmax(np.abs(reference)) if np.isfinite(reference).any() else 0.0
    np.testing.assert_allclose(result, reference, rtol=0, atol=rtol * scale, equal_nan=True)


def assert_within_sampling_error(estimate, expected, standard_error, *, n_se: float = 4.0) -> None:
    """Assert every ``|estimate - expected| < n_se * standard_error``: a tolerance that scales with the sample.

    With a correct estimator a 4-SE band fails about once in 16 000 draws; a wrong one fails
    as soon as its bias exceeds the band, which shrinks like 1 / sqrt(samples).

    Parameters
    ----------
    estimate, expected, standard_error : array_like, broadcastable
    n_se : float

    Raises
    ------
    AssertionError
        Naming the entries outside the band.

    Examples
    --------
    >>> assert_within_sampling_error(0.51, 0.5, standard_error=0.01)
    >>> assert_within_sampling_error(0.6, 0.5, standard_error=0.01)
    Traceback (most recent call last):
    ...
    AssertionError: 1 of 1 estimates off by more than 4.0 standard errors: ...
    """
    estimate, expected, error = np.broadcast_arrays(
        *(np.asarray(a, dtype=np.float64) for a in (estimate, expected, standard_error))
    )
    outside = ~(np.abs(estimate - expected) < n_se * error)
    if outside.any():
        raise AssertionError(
            f"{int(outside.sum())} of {outside.size} estimates off by more than {n_se} standard errors: "
            f"estimate {estimate[outside][:5]}, expected {expected[outside][:5]}, standard error {error[outside][:5]}"
        )
