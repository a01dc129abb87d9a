"""Joint fourth cumulants of NLGP pixels: the interpolation formula against quadrature and the Hermite
series, and the windowed contractions against brute-force sums over the dense tensor."""

import itertools

import numpy as np
import pytest
from numpy.polynomial.hermite_e import hermegauss

from cavitykit.data import NLGP, marginal_cumulants
from cavitykit.data.nlgp import nlgp_nonlinearity
from cavitykit.data.nlgp_cumulants import (
    _offsets,
    field_cumulants,
    hermite_coefficients,
    joint_fourth_cumulant,
    leading_diagrams,
)


def two_site_cumulant(rho, pattern, gain, nodes=300):
    """kappa of four pixels on two latent sites (pattern: which site each slot takes), by 2-D Gauss-Hermite."""
    z, weight = hermegauss(nodes)
    weight = weight / np.sqrt(2 * np.pi)
    u, v = np.meshgrid(z, z, indexing="ij")
    w2 = np.outer(weight, weight)
    second = rho * u + np.sqrt(1 - rho**2) * v
    values = [nlgp_nonlinearity(u, gain), nlgp_nonlinearity(second, gain)]
    x = [values[s] for s in pattern]

    def moment(*slots):
        return float((w2 * np.prod([x[i] for i in slots], axis=0)).sum())

    return moment(0, 1, 2, 3) - moment(0, 1) * moment(2, 3) - moment(0, 2) * moment(1, 3) - moment(0, 3) * moment(1, 2)


def slot_correlations(latent, sites):
    return np.array([[latent[a, b] for b in sites] for a in sites])


@pytest.mark.parametrize("gain", [0.3, 1.0, 3.0, 10.0, 30.0])
def test_four_copies_of_a_pixel_give_its_marginal_fourth_cumulant(gain):
    assert joint_fourth_cumulant(np.ones((4, 4)), gain) == pytest.approx(marginal_cumulants(gain, 4)[3], abs=1e-9)


@pytest.mark.parametrize("pattern", [(0, 0, 0, 1), (0, 0, 1, 1), (0, 1, 1, 1)])
@pytest.mark.parametrize("rho", [0.3, 0.8, 0.97])
def test_two_site_cumulants_match_gauss_hermite_quadrature(pattern, rho):
    correlations = np.array([[1.0 if pattern[a] == pattern[b] else rho for b in range(4)] for a in range(4)])
    expected = two_site_cumulant(rho, pattern, 3.0)
    assert joint_fourth_cumulant(correlations, 3.0) == pytest.approx(expected, abs=2e-8)


def test_weakly_correlated_pixels_follow_the_leading_hermite_diagrams():
    # Four distinct pixels with latent correlations ~ eps: T = stars (eps^3) + paths (eps^4) + O(eps^5).
    rng = np.random.default_rng(0)
    for eps in (0.02, 0.05):
        off = eps * (1 + 0.5 * rng.random((4, 4)))
        correlations = np.triu(off, 1) + np.triu(off, 1).T + np.eye(4)
        exact = joint_fourth_cumulant(correlations, 3.0)
        assert abs(exact - leading_diagrams(correlations, 3.0)) < 30 * eps**5
        assert abs(exact) > eps**3 / 10  # the test compares something that is not zero


def test_the_star_coefficient_is_c1_cubed_c3():
    # c_1 = E[psi'] and c_3 = E[psi'''] by quadrature of the closed-form derivatives of b erf(a z).
    c1, c3 = hermite_coefficients(3.0)
    z, weight = hermegauss(200)
    weight = weight / np.sqrt(2 * np.pi)
    psi = nlgp_nonlinearity(z, 3.0)
    assert c1 == pytest.approx(weight @ (psi * z), rel=1e-9)
    assert c3 == pytest.approx(weight @ (psi * (z**3 - 3 * z)), rel=1e-7)


def test_independent_or_gaussian_pixels_have_no_joint_cumulant():
    correlations = np.eye(4)
    assert joint_fourth_cumulant(correlations, 3.0) == pytest.approx(0.0, abs=1e-14)
    assert joint_fourth_cumulant(np.full((4, 4), 0.5) + 0.5 * np.eye(4), 0.0) == 0.0


def test_the_cumulant_is_symmetric_in_its_pixels():
    model = NLGP(12, 2.0, 3.0)
    latent = model.latent_covariance()
    values = [joint_fourth_cumulant(slot_correlations(latent, p), 3.0) for p in itertools.permutations((0, 1, 3, 4))]
    np.testing.assert_allclose(values, values[0], rtol=1e-12)


def test_correlations_must_be_four_by_four():
    with pytest.raises(ValueError, match=r"correlations must have shape \(\.\.\., 4, 4\)"):
        joint_fourth_cumulant(np.eye(3), 3.0)


def dense_tensor(model):
    """T_ijkl for every quadruple of pixels, (D, D, D, D): the brute-force reference."""
    latent = model.latent_covariance()
    D = model.D
    index = np.array(list(itertools.product(range(D), repeat=4)))
    correlations = latent[index[:, :, None], index[:, None, :]]
    return joint_fourth_cumulant(correlations, model.gain).reshape((D,) * 4), correlations


def windowed_tensor(model, radius):
    """The tensor field_cumulants sums: exact where every partner lies within radius of the first pixel,
    stars and paths elsewhere."""
    exact, correlations = dense_tensor(model)
    approximate = leading_diagrams(correlations, model.gain).reshape(exact.shape)
    coordinates = np.indices(model.shape).reshape(model.dim, -1).T
    delta = (coordinates[None, :, :] - coordinates[:, None, :]) % model.L
    delta = np.minimum(delta, model.L - delta)
    near = (delta**2).sum(-1) <= radius**2  # (D, D): partner within radius of the first pixel
    inside = near[:, :, None, None] & near[:, None, :, None] & near[:, None, None, :]
    return np.where(inside, exact, approximate)


@pytest.mark.parametrize(("L", "dim", "radius"), [(7, 1, np.inf), (7, 1, 1.5), (4, 2, np.inf), (4, 2, 1.0)])
def test_field_cumulants_equal_brute_force_sums_over_the_tensor(L, dim, radius):
    model = NLGP(L, 1.5, 3.0, dim=dim)
    weights = np.random.default_rng(L + dim).standard_normal((3, model.D))
    T = windowed_tensor(model, radius)
    exact, _ = dense_tensor(model)
    result = field_cumulants(model, weights, radius=radius)
    np.testing.assert_allclose(result.first, np.einsum("jlmn,kl,km,kn->kj", T, weights, weights, weights), rtol=1e-10)
    np.testing.assert_allclose(result.second, np.einsum("jjmn,km,kn->kj", exact, weights, weights), rtol=1e-10)
    np.testing.assert_allclose(result.third, np.einsum("jjjn,kn->kj", exact, weights), rtol=1e-10)
    np.testing.assert_allclose(result.variance, np.einsum("ij,ki,kj->k", model.covariance(), weights, weights))
    assert result.fourth == pytest.approx(marginal_cumulants(3.0, 4)[3], abs=1e-12)


def test_removal_change_equals_recomputing_with_the_weight_removed():
    model = NLGP(7, 1.5, 3.0)
    weights = np.random.default_rng(1).standard_normal((2, 7))
    delta = field_cumulants(model, weights, radius=np.inf).removal_change(weights)
    for k, j in itertools.product(range(2), range(7)):
        removed = weights[k].copy()
        removed[j] = 0
        expected = model.preactivation_excess_kurtosis(removed, radius=np.inf) - model.preactivation_excess_kurtosis(
            weights[k], radius=np.inf
        )
        assert delta[k, j] == pytest.approx(expected, rel=1e-10, abs=1e-13)


def test_the_effect_of_a_tiny_weight_keeps_its_relative_precision():
    # Removing a weight eps changes gamma_2 by about eps times a slope: the same slope at 1e-10 and 1e-13,
    # not the rounding of gamma_2 itself (about 1e-16) that a difference of the two ratios would leave.
    model = NLGP(24, 2.0, 3.0)
    field = np.exp(-((np.arange(24) - 12.0) ** 2) / 8.0)
    slopes = []
    for eps in (1e-10, 1e-13):
        field[0] = eps
        delta = field_cumulants(model, field[None], radius=np.inf).removal_change(field[None])
        slopes.append(delta[0, 0] / eps)
    assert slopes[1] == pytest.approx(slopes[0], rel=1e-4)
    assert abs(slopes[0]) > 1e-6  # a slope that is not zero (about 1.2e-5 here)


def test_uncorrelated_latents_give_the_independent_pixel_law():
    # xi far below the lattice spacing: C = I, so gamma_2 = kappa_x * IPR(w) exactly.
    model = NLGP(9, 0.05, 3.0, dim=2)
    weights = np.random.default_rng(2).standard_normal((3, 81))
    ipr = (weights**4).sum(1) / (weights**2).sum(1) ** 2
    np.testing.assert_allclose(model.preactivation_excess_kurtosis(weights), marginal_cumulants(3.0, 4)[3] * ipr)


def test_the_window_holds_the_displacements_within_the_radius_nearest_first():
    offsets = _offsets((6, 6), 1.5)
    assert offsets.tolist()[0] == [0, 0]
    assert sorted(map(tuple, offsets.tolist())) == sorted(
        [(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (1, -1), (-1, 1), (-1, -1)]
    )
    assert len(_offsets((6,), np.inf)) == 6  # displacement 3 counted once on a ring of 6


def test_preactivation_excess_kurtosis_checks_its_arguments():
    model = NLGP(8, 2.0, 3.0)
    with pytest.raises(ValueError, match=r"weights must have shape \(K, 8\)"):
        model.preactivation_excess_kurtosis(np.ones(5))
    with pytest.raises(ValueError, match=r"radius must be a number > 0 \(inf for the whole ring or torus\), got -1.0"):
        model.preactivation_excess_kurtosis(np.ones(8), radius=-1.0)
    assert np.isnan(model.preactivation_excess_kurtosis(np.zeros(8)))
