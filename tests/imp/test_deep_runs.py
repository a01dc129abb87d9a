"""IMP on deeper networks (``network.hidden``): per-layer pruning rates, every layer's masks and weights in
the round files under a ``layer`` coordinate, resuming, the control branches and the weights file."""

import numpy as np
import pytest
import torch
import xarray as xr

from cavitykit.analysis import lottery_ticket, weights_left
from cavitykit.config import config_from_dict
from cavitykit.imp import run
from cavitykit.imp.prune import kept_count
from cavitykit.imp.runner import initial_network, next_pruning
from cavitykit.io import open_run, open_weights, round_path, stored_layers, write_weights
from tests.imp.tiny import TINY, tiny_config, tiny_values

WIDTHS = (6, 5, 4)
FRACTIONS = (0.3, 0.2, 0.25, 0.1)  # first layer, layers 2 and 3, the readout


def _network(**keys):
    """TINY's network table without its width, with ``keys``."""
    return {key: value for key, value in TINY["network"].items() if key != "width"} | keys


def _config(network, **sections):
    """TINY with its network table replaced by ``network`` and other sections' keys by ``sections``."""
    return config_from_dict(tiny_values(**sections) | {"network": network})


def _deep_config(**sections):
    return _config(
        _network(hidden=list(WIDTHS), prune_readout=True),
        imp={"rounds": 3, "prune_fraction": FRACTIONS[0], "layer_fractions": list(FRACTIONS[1:])}
        | sections.pop("imp", {}),
        analysis={"cavity": False, "n_heldout": 100},
        **sections,
    )


@pytest.fixture(scope="module")
def deep_run(tmp_path_factory):
    config = _deep_config(imp={"controls": ["reinit", "random"]})
    run_dir = run(config, tmp_path_factory.mktemp("deep"), progress=False)
    return config, run_dir, open_run(run_dir)


def test_hidden_sets_the_first_width_and_one_layer_keeps_the_plain_network_s_hash():
    config = _deep_config()
    assert config.network.width == 6 and config.network.widths == WIDTHS and config.network.depth == 3
    assert _config(_network(hidden=[4])).hash == tiny_config().hash  # one hidden layer is network.width
    assert config.imp.fractions(4) == FRACTIONS


@pytest.mark.parametrize(
    ("sections", "message"),
    [
        ({"network": _network(hidden=[6, 5], width=4)}, "network.width is 4"),
        ({"network": _network(hidden=[6, 0])}, "network.hidden"),
        ({"network": _network(hidden=[0, 6])}, "network.hidden must be at least 1"),
        ({"network": _network(hidden="8,6")}, "network.hidden must be a list"),
        ({"network": _network(hidden=[6, 5], parameterization="mean_field")}, "'standard' parameterization"),
        ({"network": _network(hidden=[6, 5]), "training": {"snapshots": 3}}, "training.snapshots"),
        ({"network": _network(hidden=[6, 5]), "imp": {"layer_fractions": [0.2, 0.1]}}, "gives 2 fraction"),
        (
            {"imp": {"layer_fractions": [1.5]}, "network": _network(hidden=[6, 5])},
            r"imp.layer_fractions must be in \(0, 1\)",
        ),
        ({"imp": {"layer_fractions": [0.2]}}, "0 prunable layer"),
        (
            {"network": _network(hidden=[6, 5]), "imp": {"strategy": "cavity"}, "analysis": {"cavity": True}},
            "cavity control is not available for network.hidden",
        ),
        (
            {"network": _network(hidden=[6, 5], prune_readout=True), "imp": {"controls": ["cavity"]}},
            "cavity control is not available for network.hidden",
        ),
    ],
)
def test_what_a_deeper_network_cannot_take_is_refused_naming_the_key(sections, message):
    with pytest.raises(ValueError, match=message):
        _config(sections.pop("network", TINY["network"]), **sections)


def test_each_layer_is_pruned_at_its_own_rate_from_its_own_count():
    config = _deep_config()
    network = initial_network(config, 0)
    sizes = [6 * 12, 5 * 6, 4 * 5, 2 * 4]  # D = 12 inputs; the readout of two classes is one output of 4
    assert [w.size for w in network.layers()[0]] == [6 * 12, 5 * 6, 4 * 5, 4]
    removed = next_pruning(config, network, round_index=1, seed=0)  # the round after: two prunings
    sizes[3] = 4
    for layer, (size, fraction) in enumerate(zip(sizes, FRACTIONS, strict=True)):
        assert int(removed[layer].sum()) == size - kept_count(size, fraction, 2), layer


def test_round_files_hold_every_layer_with_its_masks_nested_and_pruned_weights_zero(deep_run):
    _, _, ds = deep_run
    assert ds["layer"].values.tolist() == [2, 3]
    assert ds["layer_width"].values.tolist() == [5, 4] and ds["layer_fan_in"].values.tolist() == [6, 5]
    assert ds.readout.dims[-1] == "last_neuron" and ds.sizes["last_neuron"] == 4
    one = ds.sel(variant="nlgp", replicate=0)
    for r in range(3):
        layers = stored_layers(one.sel(round=r), "layer_mask")
        weights = stored_layers(one.sel(round=r), "layer_weight")
        assert [layer.shape for layer in layers] == [(5, 6), (4, 5)]
        for fraction, layer, weight, size in zip(FRACTIONS[1:3], layers, weights, (30, 20), strict=True):
            assert int(layer.sum()) == kept_count(size, fraction, r)
            assert np.all(weight[~layer] == 0) and np.isfinite(weight).all()
        assert int(one.readout_mask.sel(round=r).sum()) == kept_count(4, FRACTIONS[3], r)
    # the padding: layer 3 has 4 units of fan-in 5, of the stacked (5, 6)
    assert np.isnan(one.layer_weight.sel(layer=3).values[:, 4:, :]).all()
    assert not one.layer_mask.sel(layer=3).values[:, :, 5:].any()
    later, earlier = one.layer_mask.sel(round=2).values, one.layer_mask.sel(round=1).values
    assert np.all(later <= earlier)  # masks nested
    # the rewind point is the initialization in every round, masked by the round
    init = stored_layers(one.sel(round=0), "layer_init_weight")
    masked = stored_layers(one.sel(round=2), "layer_init_weight")
    for dense, pruned, mask in zip(init, masked, stored_layers(one.sel(round=2), "layer_mask"), strict=True):
        np.testing.assert_array_equal(pruned, dense * mask)


def test_resuming_a_deep_run_gives_the_same_weights(deep_run, tmp_path):
    config, _, ds = deep_run
    fresh = run(config, tmp_path, progress=False)
    round_path(fresh, "nlgp", 0, 2).unlink()
    round_path(fresh, "nlgp", 0, 1).unlink()
    resumed = open_run(run(config, tmp_path, progress=False))
    for name in ("weight", "layer_weight", "layer_mask", "readout", "readout_mask", "layer_bias"):
        np.testing.assert_array_equal(resumed[name].values, ds[name].values, err_msg=name)


def test_the_controls_train_every_layer_and_the_weights_file_keeps_them(deep_run, tmp_path):
    _, run_dir, ds = deep_run
    reinit = open_run(run_dir, control="reinit")
    np.testing.assert_array_equal(reinit.layer_mask.values, ds.layer_mask.values)  # IMP's masks ...
    assert not np.allclose(
        np.nan_to_num(reinit.layer_init_weight.sel(round=1).values),
        np.nan_to_num(ds.layer_init_weight.sel(round=1).values),
    )  # ... from a fresh initialization
    random = open_run(run_dir, control="random")
    assert (
        random.layer_mask.sum(("layer_neuron", "layer_input")) == ds.layer_mask.sum(("layer_neuron", "layer_input"))
    ).all()
    path = write_weights(run_dir, tmp_path / "weights.nc")
    stored = open_weights(path)
    for name in ("layer_weight", "layer_mask", "layer_init_weight", "layer_bias", "readout_mask"):
        np.testing.assert_allclose(
            np.nan_to_num(stored[name].values.astype(float), nan=9.0),
            np.nan_to_num(ds[name].values.astype(float), nan=9.0),
            rtol=1e-6,
            atol=1e-7,
            err_msg=name,
        )
    from_file = open_weights(path, control="reinit")
    np.testing.assert_array_equal(from_file.layer_mask.values, reinit.layer_mask.values)
    assert "init_weight" not in from_file and "layer_init_weight" not in from_file  # fresh each round: not kept
    assert "layer_init_weight" in open_weights(path, control="random")  # the run's rewind point


def test_the_lottery_ticket_counts_every_layer_s_weights(deep_run):
    _, run_dir, ds = deep_run
    left = weights_left(ds).sel(variant="nlgp", replicate=0).values
    sizes = [6 * 12, 30, 20, 4]
    expected = [sum(kept_count(n, p, r) for n, p in zip(sizes, FRACTIONS, strict=True)) / sum(sizes) for r in range(3)]
    np.testing.assert_allclose(left, expected)
    controls = {name: open_run(run_dir, control=name) for name in ("reinit", "random")}
    ticket = lottery_ticket(ds, controls, "nlgp", drop=0.03)
    assert ticket.attrs["weights_counted"] == "all"
    np.testing.assert_allclose(ticket.weights_left.sel(branch="imp").values, expected)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_a_deep_run_on_cuda_equals_the_run_on_the_cpu(deep_run, tmp_path):
    config, _, ds = deep_run
    on_gpu = open_run(run(config, tmp_path, device="cuda", progress=False))
    for name in ("weight", "layer_weight", "readout"):
        np.testing.assert_allclose(on_gpu[name].values, ds[name].values, rtol=1e-3, atol=1e-4, err_msg=name)
    np.testing.assert_array_equal(on_gpu.layer_mask.sel(round=1).values, ds.layer_mask.sel(round=1).values)


def test_a_deep_run_s_report_and_weights_file_report_alike(deep_run, tmp_path):
    _, run_dir, _ = deep_run
    from cavitykit.report import write_report

    from_run = write_report(run_dir, out=tmp_path / "from_run").read_text()
    assert "share of all weights left" in from_run and "of all weights left" in from_run
    weights = write_weights(run_dir, tmp_path / "published" / "weights.nc")
    from_file = write_report(weights, out=tmp_path / "published").read_text()
    assert from_file.split("## Configuration")[0] == from_run.split("## Configuration")[0]


def test_a_run_without_a_clone_reports_its_lottery_ticket_and_judges_no_claim(tmp_path):
    from cavitykit.report import write_report

    config = _deep_config(variants=["nlgp"], imp={"controls": ["reinit"]})
    report = write_report(run(config, tmp_path, progress=False), out=tmp_path / "report").read_text()
    assert report.count("**not tested**") == 4 and "holds no Gaussian clone of NLGP" in report
    assert "## The lottery ticket" in report and "beside them" not in report  # no random or one-shot branch
    assert "receptive_fields_nlgp.png" in report and "claims_by_round" not in report


def _torch_forward(one, x, depth):
    """Pre-activations of hidden layers 1..depth of one stored network, by torch from its stored arrays."""
    weights = [torch.from_numpy(np.where(one["mask"].values, one.weight.values, 0.0))]
    biases = [torch.from_numpy(one.bias.values)]
    for w, m, b in zip(
        stored_layers(one, "layer_weight"),
        stored_layers(one, "layer_mask"),
        stored_layers(one, "layer_bias"),
        strict=True,
    ):
        weights.append(torch.from_numpy(np.where(m, w, 0.0)))
        biases.append(torch.from_numpy(b))
    hidden, lambdas = torch.from_numpy(x.astype(np.float64)), []
    for w, b in list(zip(weights, biases, strict=True))[:depth]:
        lambdas.append(torch.nn.functional.linear(hidden, w / w.shape[1] ** 0.5, b))
        hidden = torch.relu(lambdas[-1])
    return [z.numpy() for z in lambdas]


def test_a_deeper_layer_s_cumulants_are_those_of_its_pre_activations_on_the_layer_below(deep_run):
    from scipy import stats

    from cavitykit.samples import member_samples
    from cavitykit.spectra import layer_inputs, preactivation_cumulants

    config, run_dir, ds = deep_run
    ds = ds.copy(deep=True)  # layer 2's unit 0 loses every weight
    ds["layer_mask"].loc[{"layer": 2, "layer_neuron": 0}] = False
    ds["layer_weight"].loc[{"layer": 2, "layer_neuron": 0}] = 0.0
    spectra = preactivation_cumulants(run_dir, max_order=4, layer=2, run=ds)
    assert spectra.sizes["neuron"] == 5 and spectra.attrs["layer"] == 2
    heldout = member_samples(config, "gaussian_clone", 0).heldout
    one = ds.sel(variant="gaussian_clone", replicate=0, round=2)
    alive = stored_layers(one, "layer_mask")[0].any(axis=1)
    assert alive.tolist() == [False, True, True, True, True]
    for label, x in enumerate(heldout):
        lambda_2 = _torch_forward(one, x, 2)[1]
        got = spectra.preact_kstat.sel(variant="gaussian_clone", replicate=0, round=2, sample_set=f"class_{label}")
        for order in (2, 3, 4):
            expected = [stats.kstat(lambda_2[:, unit], order) for unit in np.flatnonzero(alive)]
            np.testing.assert_allclose(got.sel(order=order).values[alive], expected, rtol=1e-8, atol=1e-12)
    assert np.isnan(spectra.preact_kstat.sel(neuron=0)).all()  # no weight left: no cumulants
    third = preactivation_cumulants(run_dir, max_order=4, layer=3, run=ds)
    np.testing.assert_allclose(layer_inputs(one, heldout[0], 2), np.maximum(_torch_forward(one, heldout[0], 1)[0], 0))
    for layer, message in ((4, "got 4"), (0, "got 0")):
        with pytest.raises(ValueError, match=message):
            layer_inputs(one, heldout[0], layer)
    with pytest.raises(ValueError, match=r"inputs must have shape \(P, 12\)"):
        layer_inputs(one, heldout[0][:, :5], 2)
    with pytest.raises(ValueError, match="one round of one network"):
        layer_inputs(ds.sel(variant="nlgp"), heldout[0], 2)
    assert third.sizes["neuron"] == 4 and np.isfinite(third.preact_cumulant.sel(round=0, order=4)).all()


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"layer": 4}, r"layer must be a hidden layer of the run, 1\.\.3 \(network.hidden = \[6, 5, 4\]\); got 4"),
        ({"layer": 0}, "got 0"),
        ({"layer": 2, "chunk_size": 50}, r"chunk_size \(--chunk-size\) streams"),
    ],
)
def test_a_layer_the_run_lacks_or_a_streamed_deeper_layer_is_refused(deep_run, keys, message):
    from cavitykit.spectra import preactivation_cumulants

    with pytest.raises(ValueError, match=message):
        preactivation_cumulants(deep_run[1], max_order=4, n_samples=100, **keys)


def test_cumulants_of_a_deeper_layer_go_to_their_own_file_from_the_cli(deep_run, tmp_path, capsys):
    import shutil

    from cavitykit.cli import main

    run_dir = shutil.copytree(deep_run[1], tmp_path / "run")
    assert main(["cumulants", str(run_dir), "--layer", "3", "--max-order", "4", "--quiet"]) == 0
    written = xr.open_dataset(run_dir / "cumulants_layer3.nc")
    assert written.sizes["neuron"] == 4 and written.attrs["layer"] == 3
    assert not (run_dir / "cumulants.nc").exists()
    capsys.readouterr()
    assert main(["cumulants", "--weights", "w.npy", "--samples", "x.npy", "--out", "o.nc", "--layer", "2"]) == 2
    assert "--layer applies to a run's deeper layers" in capsys.readouterr().err


def test_a_deeper_unit_s_effective_field_is_the_masked_path_sum_over_the_pixels(deep_run):
    from cavitykit import metrics
    from cavitykit.analysis import effective_fields, unit_classes

    _, _, ds = deep_run
    one = ds.sel(variant="nlgp", replicate=0, round=0)
    w1 = np.where(one["mask"].values, one.weight.values, 0.0)
    deeper = (stored_layers(one, name) for name in ("layer_weight", "layer_mask"))
    w2, w3 = (np.where(m, w, 0.0) for w, m in zip(*deeper, strict=True))
    expected = w3 @ (w2 @ w1 / np.sqrt(6)) / np.sqrt(5)
    fields = effective_fields(ds, 3)
    np.testing.assert_allclose(fields.sel(variant="nlgp", replicate=0).values, expected, rtol=1e-12)
    classes = unit_classes(ds, layer=3)
    assert classes.dims == ("variant", "replicate", "neuron") and classes.sizes["neuron"] == 4
    np.testing.assert_array_equal(classes.sel(variant="nlgp", replicate=0).values, metrics.unit_class(expected, (12,)))
    with pytest.raises(ValueError, match=r"1\.\.3 \(network.hidden = \[6, 5, 4\]\); got 4"):
        effective_fields(ds, 4)
