"""IMP with batch normalization (``network.batch_norm``): what the round files hold, the stored statistics and
accuracy against an independent evaluation of the stored network, resuming, the weights file and what is
refused."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import stats

from cavitykit.config import config_from_dict
from cavitykit.imp import run
from cavitykit.io import open_run, open_weights, round_path, stored_layers, write_weights
from cavitykit.samples import member_samples
from tests.imp.tiny import TINY, tiny_values

WIDTHS = (6, 5)
ONE_LAYER = {"network": {"hidden": [], "width": 4, "prune_readout": False}, "imp": {"layer_fractions": []}}


def _config(**sections):
    network = {key: value for key, value in TINY["network"].items() if key != "width"}
    network |= {"hidden": list(WIDTHS), "batch_norm": True, "prune_readout": True} | sections.pop("network", {})
    values = tiny_values(
        imp={"rounds": 3, "layer_fractions": [0.2, 0.1]} | sections.pop("imp", {}),
        analysis={"n_heldout": 200, "expansion_orders": [1, 2]},
        **sections,
    )
    return config_from_dict(values | {"network": network})


@pytest.fixture(scope="module")
def normalized_run(tmp_path_factory):
    config = _config(imp={"controls": ["reinit"]})
    run_dir = run(config, tmp_path_factory.mktemp("bn"), progress=False)
    return config, run_dir, open_run(run_dir)


def _evaluated(one, x: np.ndarray) -> tuple[list[torch.Tensor], torch.Tensor]:
    """Every hidden layer's pre-activation and the outputs of one stored network on inputs x, by torch's
    batch_norm with the stored statistics (float64)."""
    fan_ins = one.norm_fan_in.values

    def normalized(inputs, layer):
        row = {
            name: torch.from_numpy(one[name].values[layer, : fan_ins[layer]])
            for name in ("norm_scale", "norm_shift", "norm_mean", "norm_var")
        }
        return F.batch_norm(
            inputs, row["norm_mean"], row["norm_var"], row["norm_scale"], row["norm_shift"], training=False, eps=1e-5
        )

    weights = [np.where(one["mask"].values, one.weight.values, 0.0)]
    weights += [
        np.where(m, w, 0.0)
        for w, m in zip(stored_layers(one, "layer_weight"), stored_layers(one, "layer_mask"), strict=True)
    ]
    if "bias" in one:
        biases = [one.bias.values, *stored_layers(one, "layer_bias")]
    else:
        biases = [np.zeros(len(w)) for w in weights]
    hidden, lambdas = torch.from_numpy(x.astype(np.float64)), []
    for layer, (w, b) in enumerate(zip(weights, biases, strict=True)):
        w = torch.from_numpy(w)
        lambdas.append(F.linear(normalized(hidden, layer), w / w.shape[1] ** 0.5, torch.from_numpy(b)))
        hidden = torch.relu(lambdas[-1])
    readout = torch.from_numpy(np.where(one.readout_mask.values, one.readout.values, 0.0))
    return lambdas, F.linear(normalized(hidden, len(weights)), readout) / readout.shape[-1] ** 0.5


def test_round_files_hold_every_input_s_normalization(normalized_run):
    _, _, ds = normalized_run
    assert ds["norm_layer"].values.tolist() == [1, 2, 3] and ds["norm_fan_in"].values.tolist() == [12, *WIDTHS]
    one = ds.sel(variant="nlgp", replicate=0)
    assert (one.init_norm_scale.sel(norm_layer=1) == 1).all() and (one.init_norm_shift == 0).where(
        one.init_norm_shift.notnull(), True
    ).all()
    assert not np.allclose(one.norm_scale.sel(round=1, norm_layer=1).values, 1.0)  # trained
    assert np.isnan(one.norm_scale.sel(norm_layer=3).values[:, WIDTHS[1] :]).all()  # padding past the fan-in
    assert np.isfinite(one.norm_var.sel(norm_layer=2).values[:, : WIDTHS[0]]).all()


def test_stored_statistics_and_accuracy_are_those_of_the_network_evaluated_with_its_fitted_statistics(normalized_run):
    config, _, ds = normalized_run
    for variant in ("nlgp", "gaussian_clone"):
        samples = member_samples(config, variant, 0)
        for r in range(3):
            one = ds.sel(variant=variant, replicate=0, round=r)
            for label, x in enumerate(samples.heldout):
                first = _evaluated(one, x)[0][0].numpy()
                kurtosis = [stats.kstat(first[:, k], 4) / stats.kstat(first[:, k], 2) ** 2 for k in range(WIDTHS[0])]
                np.testing.assert_allclose(one.preact_excess_kurtosis.sel(label=label).values, kurtosis, rtol=1e-8)
            x_test, y_test = samples.test
            predicted = (_evaluated(one, x_test)[1] > 0).numpy()  # one output: two classes
            assert float(one.test_accuracy) == pytest.approx(np.mean(predicted == y_test), abs=1.5 / len(y_test))


def test_a_deeper_layer_s_cumulants_read_the_normalized_layer_below(normalized_run):
    from cavitykit.spectra import preactivation_cumulants

    config, run_dir, ds = normalized_run
    spectra = preactivation_cumulants(run_dir, max_order=4, layer=2)
    one = ds.sel(variant="nlgp", replicate=0, round=2)
    x = member_samples(config, "nlgp", 0).heldout[1]
    second = _evaluated(one, x)[0][1].numpy()
    alive = stored_layers(one, "layer_mask")[0].any(axis=1)
    got = spectra.preact_kstat.sel(variant="nlgp", replicate=0, round=2, sample_set="class_1")
    for order in (1, 2, 4):
        expected = [
            stats.kstat(second[:, unit], order) if order > 1 else second[:, unit].mean()
            for unit in np.flatnonzero(alive)
        ]
        np.testing.assert_allclose(got.sel(order=order).values[alive], expected, rtol=1e-7, atol=1e-10)
    first = preactivation_cumulants(run_dir, max_order=4, run=ds).preact_cumulant.sel(order=4)
    np.testing.assert_allclose(
        first.sel(sample_set="class_0").values, ds.preact_excess_kurtosis.sel(label=0).values, rtol=1e-8
    )
    # without biases the folded normalization still shifts the pre-activation: its mean, order 1
    unbiased = ds.drop_vars(["bias", "init_bias", "layer_bias", "layer_init_bias"])
    means = preactivation_cumulants(run_dir, max_order=2, run=unbiased, layer=2).preact_kstat.sel(order=1)
    second = _evaluated(unbiased.sel(variant="nlgp", replicate=0, round=2), x)[0][1].numpy()
    got = means.sel(variant="nlgp", replicate=0, round=2, sample_set="class_1").values[alive]
    np.testing.assert_allclose(got, second.mean(axis=0)[alive], rtol=1e-7)


def test_resuming_a_normalized_run_gives_the_same_network(normalized_run, tmp_path):
    config, _, ds = normalized_run
    fresh = run(config, tmp_path, progress=False)
    round_path(fresh, "nlgp", 0, 2).unlink()
    resumed = open_run(run(config, tmp_path, progress=False))
    for name in ("weight", "layer_weight", "norm_scale", "norm_shift", "norm_mean", "norm_var", "readout"):
        np.testing.assert_array_equal(resumed[name].values, ds[name].values, err_msg=name)


def test_the_weights_file_keeps_the_normalizations(normalized_run, tmp_path):
    _, run_dir, ds = normalized_run
    stored = open_weights(write_weights(run_dir, tmp_path / "weights.nc"))
    for name in ("norm_scale", "norm_shift", "norm_mean", "norm_var", "init_norm_scale"):
        np.testing.assert_allclose(stored[name].values, ds[name].values, rtol=1e-6, equal_nan=True, err_msg=name)
    reinit = open_run(run_dir, control="reinit")
    assert not np.allclose(reinit.norm_scale.sel(round=2).values, ds.norm_scale.sel(round=2).values, equal_nan=True)


@pytest.mark.parametrize(
    ("sections", "message"),
    [
        ({"training": {"mode": "online", "batch_size": 1}}, 'training.mode = "online" does not go with'),
        ({"training": {"batch_size": 1}}, "training.batch_size = 1 does not go with"),
        ({"training": {"snapshots": 3}, **ONE_LAYER}, "training.snapshots = 3 does not go with"),
        (
            {"network": ONE_LAYER["network"] | {"parameterization": "mean_field"}, "imp": ONE_LAYER["imp"]},
            "'standard' parameterization only",
        ),
    ],
)
def test_what_batch_normalization_cannot_take_is_refused_naming_the_key(sections, message):
    with pytest.raises(ValueError, match=message):
        _config(**sections)


def test_one_hidden_layer_with_batch_normalization_runs_and_its_cavity_effects_are_exact(tmp_path):
    config = _config(
        network={"hidden": [], "width": 4, "prune_readout": False}, imp={"rounds": 2, "layer_fractions": []}
    )
    ds = open_run(run(config, tmp_path, progress=False))
    one = ds.sel(variant="nlgp", replicate=0, round=1)
    x = member_samples(config, "nlgp", 0).heldout[0]
    first = _evaluated(one, x)[0][0].numpy()
    weight = np.where(one["mask"].values, one.weight.values, 0.0)
    # removing w_ki from the evaluated pre-activation: lambda_k less w_ki x_hat_i / sqrt(D)
    x_hat = (x - one.norm_mean.values[0]) / np.sqrt(one.norm_var.values[0] + 1e-5) * one.norm_scale.values[
        0
    ] + one.norm_shift.values[0]
    k, i = np.argwhere(one["mask"].values)[3]
    removed = first[:, k] - weight[k, i] * x_hat[:, i] / np.sqrt(x.shape[1])
    change = (
        stats.kstat(removed, 4) / stats.kstat(removed, 2) ** 2
        - stats.kstat(first[:, k], 4) / stats.kstat(first[:, k], 2) ** 2
    )
    assert float(one.cavity_exact.sel(label=0, neuron=k, input=i)) == pytest.approx(change, rel=1e-6)
    assert ds.sizes["norm_layer"] == 2  # the pixels and the readout's input


def test_a_normalized_run_s_report_and_weights_file_report_alike(normalized_run, tmp_path):
    from cavitykit.report import write_report

    _, run_dir, _ = normalized_run
    from_run = write_report(run_dir, out=tmp_path / "from_run").read_text()
    weights = write_weights(run_dir, tmp_path / "published" / "weights.nc")
    from_file = write_report(weights, out=tmp_path / "published").read_text()
    assert "batch_norm = true" in from_run
    assert from_file.split("## Configuration")[0] == from_run.split("## Configuration")[0]


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_a_normalized_run_on_cuda_equals_the_run_on_the_cpu(normalized_run, tmp_path):
    config, _, ds = normalized_run
    on_gpu = open_run(run(config, tmp_path, device="cuda", progress=False))
    for name in ("weight", "layer_weight", "norm_scale", "norm_mean", "norm_var"):
        np.testing.assert_allclose(on_gpu[name].values, ds[name].values, rtol=1e-3, atol=1e-4, err_msg=name)
