"""The data models behind each variant: a model and its clone share the covariance; Ising classes have
the temperature of their correlation length."""

import numpy as np
import pytest

from tests.imp.tiny import tiny_config


def test_nlgp_models_and_clones_share_the_covariance():
    data = tiny_config().data
    models, clones = data.models("nlgp"), data.models("gaussian_clone")
    assert [m.xi for m in models] == list(data.xi) and all(m.gain == data.gain for m in models)
    for model, clone in zip(models, clones, strict=True):
        np.testing.assert_allclose(clone.covariance(), model.covariance(), rtol=1e-12)


def test_ising_variants_use_the_temperature_of_each_correlation_length():
    data = tiny_config(variants=["ising", "ising_clone"]).data
    models = data.models("ising")
    assert [model.correlation_length for model in models] == pytest.approx(data.xi, rel=1e-12)
    for model, clone in zip(models, data.models("ising_clone"), strict=True):
        np.testing.assert_allclose(clone.covariance(), model.covariance(), rtol=1e-12)
