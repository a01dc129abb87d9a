"""Cumulant spectra of a run's pre-activations against k-statistics computed by hand on the same samples."""

import numpy as np
import pytest
import scipy.stats

import cavitykit
from cavitykit.cli import main
from cavitykit.config import load_config
from cavitykit.data import NLGP, named_model
from cavitykit.imp import run
from cavitykit.io import open_run
from cavitykit.samples import member_samples
from cavitykit.spectra import preactivation_cumulants, sample_chunks, streamed_spectrum
from cavitykit.variants import VARIANT_INDEX, Stream, seed
from tests.imp.tiny import tiny_config


@pytest.fixture(scope="module")
def tiny_run_dir(tmp_path_factory):
    return run(tiny_config(), tmp_path_factory.mktemp("spectra"), progress=False)


def by_hand(one, inputs, max_order):
    """k-statistics (order, neuron) of one round's pre-activations, written out without the toolkit's helpers."""
    pre = inputs @ one.weight.values.T / np.sqrt(inputs.shape[1]) + one.bias.values
    return cavitykit.kstats(pre, max_order)


def test_a_runs_spectra_describe_its_held_out_samples(tiny_run_dir):
    """By default the spectra are those of the held-out inputs behind the per-round statistics: the same
    k_2, skewness and excess kurtosis as the round files, and k-statistics computed by hand on them."""
    files = sorted(tiny_run_dir.rglob("*"))
    result = preactivation_cumulants(tiny_run_dir, max_order=6)
    assert sorted(tiny_run_dir.rglob("*")) == files  # nothing written unasked
    assert all("long_name" in result[name].attrs for name in ("sample_set", "order"))
    config = load_config(tiny_run_dir / "config.toml")
    class_0, class_1 = (x.astype(np.float64) for x in member_samples(config, "gaussian_clone", 0).heldout)
    run = open_run(tiny_run_dir)
    one = run.sel(variant="gaussian_clone", replicate=0, round=2)
    alive = one["mask"].values.any(axis=1)
    expected = by_hand(one, class_1, 6)
    got = result.sel(variant="gaussian_clone", replicate=0, round=2, sample_set="class_1")
    np.testing.assert_allclose(got.preact_kstat.values.T[:, alive], expected[:, alive], rtol=1e-9)
    orders = np.arange(1, 7)[:, None]
    np.testing.assert_allclose(
        got.preact_cumulant.values.T[2:, alive], (expected / expected[1] ** (orders / 2))[2:, alive], rtol=1e-9
    )
    assert not np.allclose(by_hand(one, class_0, 6)[:, alive], expected[:, alive])  # the two classes differ
    assert np.isnan(got.preact_kstat.values[~alive]).all()
    assert result.preact_kstat.dims[-1] == "order" and result.sizes["sample_set"] == 2
    assert result.attrs["samples"] == f"the run's {config.analysis.n_heldout} held-out inputs per class"
    per_round = {2: run.preact_variance, 3: run.preact_skewness, 4: run.preact_excess_kurtosis}
    for order, stored in per_round.items():
        name = "preact_kstat" if order == 2 else "preact_cumulant"
        spectra = result[name].sel(order=order).rename(sample_set="label").assign_coords(label=[0, 1])
        np.testing.assert_allclose(spectra.transpose(*stored.dims), stored, rtol=1e-9, err_msg=str(order))


def test_more_samples_than_the_run_held_out_come_from_a_stream_of_their_own(tiny_run_dir):
    result = preactivation_cumulants(tiny_run_dir, max_order=4, n_samples=3000)
    config = load_config(tiny_run_dir / "config.toml")
    rng = np.random.default_rng(seed(config.seed, 0, Stream.CUMULANTS, VARIANT_INDEX["gaussian_clone"]))
    _, class_1 = (m.sample(3000, rng).astype(np.float64) for m in config.data.models("gaussian_clone"))
    one = open_run(tiny_run_dir).sel(variant="gaussian_clone", replicate=0, round=2)
    alive = one["mask"].values.any(axis=1)
    got = result.sel(variant="gaussian_clone", replicate=0, round=2, sample_set="class_1")
    np.testing.assert_allclose(got.preact_kstat.values.T[:, alive], by_hand(one, class_1, 4)[:, alive], rtol=1e-9)
    assert result.attrs["samples"] == "3000 regenerated per class"


def test_user_samples_from_a_file(tiny_run_dir):
    samples = np.random.default_rng(0).standard_normal((500, 12))
    np.save(tiny_run_dir / "samples.npy", samples)
    user = preactivation_cumulants(
        tiny_run_dir, max_order=4, samples=tiny_run_dir / "samples.npy", out=tiny_run_dir / "cumulants.nc"
    )
    one = open_run(tiny_run_dir).sel(variant="nlgp", replicate=0, round=2)
    alive = one["mask"].values.any(axis=1)
    got = user.preact_kstat.sel(variant="nlgp", replicate=0, round=2, sample_set="file").values.T
    np.testing.assert_allclose(got[:, alive], by_hand(one, samples, 4)[:, alive], rtol=1e-10)
    se = user.preact_kstat_se.values
    assert np.all(se[np.isfinite(se)] > 0)
    assert open_run(tiny_run_dir, cumulants=True).sizes["order"] == 4  # merged when asked for
    assert "order" not in open_run(tiny_run_dir).sizes  # a run opened plainly has the same variables as ever


def test_cumulants_cli_errors(tiny_run_dir, tmp_path, capsys):
    assert main(["cumulants", str(tmp_path)]) == 2
    assert "no config.toml" in capsys.readouterr().err
    np.save(tmp_path / "wrong.npy", np.zeros((10, 5)))
    assert main(["cumulants", str(tiny_run_dir), "--samples", str(tmp_path / "wrong.npy"), "--overwrite"]) == 2
    assert "of shape (10, 5) do not match the run's D = 12: D = 5 inputs against 12" in capsys.readouterr().err
    assert main(["cumulants", str(tiny_run_dir), "--max-order", "9", "--overwrite"]) == 2
    assert "max_order" in capsys.readouterr().err


def test_weights_spectrum_equals_kstats_of_the_preactivations(rng):
    from cavitykit.spectra import weights_spectrum

    weights = rng.standard_normal((3, 10))
    weights[2] = 0.0  # a dead unit
    samples = rng.uniform(-1, 1, (4000, 10))
    bias = np.array([0.5, -1.0, 2.0])
    spectrum = weights_spectrum(weights, samples, max_order=6, bias=bias)
    pre = samples @ weights[:2].T / np.sqrt(10) + bias[:2]
    expected = cavitykit.kstats(pre, 6)
    np.testing.assert_allclose(spectrum.kstat.values[:2].T, expected, rtol=1e-10)
    np.testing.assert_allclose(spectrum.cumulant.sel(order=4).values[:2], expected[3] / expected[1] ** 2, rtol=1e-10)
    assert np.isnan(spectrum.kstat.values[2]).all() and spectrum.kstat.dims == ("neuron", "order")
    with pytest.raises(ValueError, match=r"weights of shape \(3, 10\) and samples of shape \(4000, 9\) do not match"):
        weights_spectrum(weights, samples[:, :9])
    with pytest.raises(ValueError, match=r"samples holds 1 non-finite value\(s\), e.g. nan at index \(5, 1\)"):
        weights_spectrum(
            weights, np.where(np.arange(10) == 1, np.where(np.arange(4000)[:, None] == 5, np.nan, samples), samples)
        )
    with pytest.raises(ValueError, match=r"samples must be a non-empty array of shape \(P, D\), got shape \(0, 10\)"):
        weights_spectrum(weights, samples[:0])
    weights_spectrum(weights, samples[:120], max_order=6)  # the same bound as a run's spectra: 20 batches x 6
    with pytest.raises(ValueError, match=r"number of samples must be at least 120.*got 119"):
        weights_spectrum(weights, samples[:119], max_order=6)


def test_cumulants_cli_for_weights_from_a_file(tmp_path, rng, capsys):
    import torch
    import xarray as xr

    from cavitykit.data import NLGP
    from cavitykit.spectra import weights_spectrum

    weights = rng.standard_normal((4, 25))
    torch.save({"first.weight": torch.as_tensor(weights)}, tmp_path / "net.pt")
    samples = rng.standard_normal((2000, 25))
    np.save(tmp_path / "x.npy", samples)
    out = tmp_path / "spectrum.nc"
    args = ["cumulants", "--weights", str(tmp_path / "net.pt"), "--key", "first.weight", "--max-order", "6"]
    assert main([*args, "--samples", str(tmp_path / "x.npy"), "--out", str(out)]) == 0
    with xr.open_dataset(out) as written:
        np.testing.assert_allclose(written.kstat, weights_spectrum(weights, samples, max_order=6).kstat, rtol=1e-12)
        assert written.attrs["samples"] == str(tmp_path / "x.npy")
    drawn = tmp_path / "drawn.nc"
    model = ["--model", "nlgp", "--dim", "2", "--xi", "2", "--n-samples", "5000", "--seed", "3"]
    assert main([*args, *model, "--out", str(drawn)]) == 0
    x = NLGP(5, 2.0, 3.0, dim=2).sample(5000, np.random.default_rng(3))
    with xr.open_dataset(drawn) as written:
        np.testing.assert_allclose(written.kstat, weights_spectrum(weights, x, max_order=6).kstat, rtol=1e-12)
    capsys.readouterr()
    assert main([*args, "--samples", str(tmp_path / "x.npy")]) == 2
    assert "--weights needs --out" in capsys.readouterr().err
    assert main([*args, "--out", str(tmp_path / "none.nc")]) == 2
    assert "exactly one of --samples FILE or --model NAME" in capsys.readouterr().err
    no_key = ["cumulants", "--weights", str(tmp_path / "net.pt"), "--model", "nlgp", "--out", str(tmp_path / "a.nc")]
    assert main(no_key) == 2
    assert "has no tensor 'weight'" in capsys.readouterr().err
    np.save(tmp_path / "w24.npy", rng.standard_normal((4, 24)))
    not_square = ["cumulants", "--weights", str(tmp_path / "w24.npy"), "--model", "nlgp", "--dim", "2"]
    assert main([*not_square, "--out", str(tmp_path / "b.nc")]) == 2
    assert "a 2D model needs D = L**2 inputs; the weights have D = 24" in capsys.readouterr().err
    left = {p.name for p in tmp_path.iterdir()}
    assert not left & {"none.nc", "a.nc", "b.nc"} and not [name for name in left if name.endswith(".tmp")]


def test_the_linear_convention_is_nn_linears_preactivation(tmp_path, rng, capsys):
    """--convention linear: the k-statistics of x W^T + b, as a torch.nn.Linear layer computes it (scipy)."""
    import xarray as xr

    weights, bias = rng.standard_normal((3, 16)), rng.standard_normal(3)
    weights[2] = 0.0  # a unit pruned away: NaN and a warning, the rest computed
    samples = rng.standard_normal((4000, 16)) ** 3
    np.savez(tmp_path / "layer.npz", weight=weights, bias=bias)
    np.save(tmp_path / "x.npy", samples)
    args = ["cumulants", "--weights", str(tmp_path / "layer.npz"), "--samples", str(tmp_path / "x.npy")]
    with pytest.warns(UserWarning, match=r"neuron\(s\) 2 have no non-zero weight"):
        assert main([*args, "--convention", "linear", "--max-order", "4", "--out", str(tmp_path / "s.nc")]) == 0
    with xr.open_dataset(tmp_path / "s.nc") as written:
        expected = scipy_kstats(samples @ weights[:2].T + bias[:2], 4)
        np.testing.assert_allclose(written.kstat.values[:2].T, expected, rtol=1e-10)
        assert np.isnan(written.kstat.values[2]).all()
        assert written.attrs["preactivation"] == "x . W^T + b (torch.nn.Linear)"
    scaled = cavitykit.spectra.weights_spectrum(weights * 4.0, samples, max_order=4, bias=bias)  # sqrt(D) = 4
    np.testing.assert_allclose(scaled.kstat.values[:2], expected.T, rtol=1e-10)
    assert scaled.attrs["preactivation"] == "w . x / sqrt(D) + b"


def test_an_all_zero_layer_gives_nan_spectra_not_an_os_error(tmp_path, rng, capsys):
    import xarray as xr

    np.save(tmp_path / "zero.npy", np.zeros((3, 10)))
    np.save(tmp_path / "x.npy", rng.standard_normal((400, 10)))
    args = ["cumulants", "--weights", str(tmp_path / "zero.npy"), "--samples", str(tmp_path / "x.npy")]
    with pytest.warns(UserWarning, match=r"neuron\(s\) 0, 1, 2 have no non-zero weight"):
        assert main([*args, "--out", str(tmp_path / "z.nc")]) == 0
    with xr.open_dataset(tmp_path / "z.nc") as written:
        assert np.isnan(written.cumulant).all()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--n-samples", "100"], "--n-samples applies to samples drawn from --model, not to --samples FILE"),
        (["--xi", "2", "--seed", "1"], "--xi, --seed apply to samples drawn from --model"),
    ],
)
def test_options_for_drawn_samples_are_refused_beside_a_samples_file(tmp_path, rng, capsys, extra, message):
    np.save(tmp_path / "w.npy", rng.standard_normal((2, 10)))
    np.save(tmp_path / "x.npy", rng.standard_normal((400, 10)))
    args = ["cumulants", "--weights", str(tmp_path / "w.npy"), "--samples", str(tmp_path / "x.npy")]
    assert main([*args, *extra, "--out", str(tmp_path / "o.nc")]) == 2
    assert message in capsys.readouterr().err and not (tmp_path / "o.nc").exists()


def in_memory(weights, model, n_samples, chunk_size, seed, max_order):
    """The k-statistics of the same samples drawn all at once: the chunks of sample_chunks, concatenated."""
    samples = np.concatenate(
        [model.sample(size, np.random.default_rng([seed, i])) for i, size in sample_chunks(n_samples, chunk_size)]
    )
    return scipy_kstats(samples @ weights.T / np.sqrt(weights.shape[1]), max_order)


def scipy_kstats(values, max_order):
    """k_1..k_4 per column from scipy.stats.kstat (an independent estimator)."""
    return np.array([[scipy.stats.kstat(column, n) for column in values.T] for n in range(1, max_order + 1)])


@pytest.mark.parametrize("chunks_per_task", [1, 3])
def test_streamed_spectrum_equals_the_in_memory_statistics(rng, chunks_per_task):
    weights = rng.normal(size=(3, 12)) * (rng.random((3, 12)) < 0.5)
    model = NLGP(12, 2.0, 4.0)
    streamed = streamed_spectrum(
        weights, model, 23_456, max_order=4, chunk_size=2_000, chunks_per_task=chunks_per_task, seed=7
    )
    expected = in_memory(weights, model, 23_456, 2_000, 7, 4)
    np.testing.assert_allclose(streamed.kstat.values.T, expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(streamed.cumulant.sel(order=4), expected[3] / expected[1] ** 2, rtol=1e-9)


def test_streamed_errors_are_batch_means_over_the_chunks(rng):
    weights = np.vstack([rng.normal(size=12), np.zeros(12)])  # the second unit is dead
    model = NLGP(12, 2.0, 4.0)
    with pytest.warns(UserWarning, match=r"neuron\(s\) 1 have no non-zero weight: their cumulants are NaN"):
        streamed = streamed_spectrum(weights, model, 10_001, max_order=4, chunk_size=500, seed=3)
    chunks = [model.sample(size, np.random.default_rng([3, i])) for i, size in sample_chunks(10_001, 500)]
    sizes = np.array([len(chunk) for chunk in chunks])[:, None]
    per_chunk = np.array([scipy_kstats(chunk @ weights[:1].T / np.sqrt(12), 4)[:, 0] for chunk in chunks])
    orders = np.arange(1, 5)
    for estimates, se in (
        (per_chunk, streamed.kstat_se),
        (per_chunk / per_chunk[:, 1:2] ** (orders / 2), streamed.cumulant_se),
    ):
        mean = (sizes * estimates).sum(axis=0) / sizes.sum()
        expected = np.sqrt((sizes * (estimates - mean) ** 2).sum(axis=0) / ((len(chunks) - 1) * sizes.sum()))
        np.testing.assert_allclose(se.sel(neuron=0), expected, rtol=1e-8)
    # the same 21 batches' errors as the in-memory spectrum's 20 batches, to within their own noise
    in_memory = cavitykit.spectra.weights_spectrum(weights, np.concatenate(chunks), max_order=4)
    ratio = streamed.kstat_se.sel(neuron=0) / in_memory.kstat_se.sel(neuron=0)
    assert np.all((ratio > 0.6) & (ratio < 1.6)), ratio.values
    assert np.isnan(streamed.sel(neuron=1).to_array()).all()
    one_chunk = streamed_spectrum(weights, model, 1000, max_order=4, chunk_size=1000)
    assert np.isnan(one_chunk.kstat_se.sel(neuron=0)).all() and np.isfinite(one_chunk.kstat.sel(neuron=0)).all()
    streamed_spectrum(weights, model, 1000, max_order=4, chunk_size=4)  # k_4 of each 4-sample chunk is defined
    with pytest.raises(ValueError, match=r"smallest chunk of chunk_size=3 must be at least 4 .*got 2"):
        streamed_spectrum(weights, model, 1000, max_order=4, chunk_size=3)


def test_streamed_run_spectra_equal_the_same_samples_in_memory(tiny_run_dir):
    streamed = preactivation_cumulants(tiny_run_dir, max_order=4, n_samples=3000, chunk_size=700)
    config = load_config(tiny_run_dir / "config.toml")
    draw = seed(config.seed, 0, Stream.CUMULANTS, VARIANT_INDEX["nlgp"])
    class_1 = config.data.models("nlgp")[1]
    x = np.concatenate(
        [class_1.sample(size, np.random.default_rng([draw, 1, i])) for i, size in sample_chunks(3000, 700)]
    )
    one = open_run(tiny_run_dir).sel(variant="nlgp", replicate=0, round=2)
    alive = one["mask"].values.any(axis=1)
    got = streamed.sel(variant="nlgp", replicate=0, round=2, sample_set="class_1")
    np.testing.assert_allclose(got.preact_kstat.values.T[:, alive], by_hand(one, x, 4)[:, alive], rtol=1e-9)
    in_memory = preactivation_cumulants(tiny_run_dir, max_order=4)
    assert (np.isnan(streamed.preact_kstat) == np.isnan(in_memory.preact_kstat)).all()
    se = streamed.preact_kstat_se.values
    assert np.all(se[np.isfinite(streamed.preact_kstat.values)] > 0)
    assert streamed.attrs["samples"] == "3000 regenerated per class, streamed in chunks of at most 700"
    with pytest.raises(ValueError, match=r"samples \(a file\) cannot be combined with n_samples or chunk_size"):
        preactivation_cumulants(tiny_run_dir, samples=tiny_run_dir / "x.npy", chunk_size=700)
    preactivation_cumulants(tiny_run_dir, max_order=4, n_samples=80)  # 20 batches of 4 samples
    with pytest.raises(ValueError, match=r"n_samples must be at least 80 \(a sample per order up to 4 in each of 20"):
        preactivation_cumulants(tiny_run_dir, max_order=4, n_samples=79)
    np.save(tiny_run_dir / "few.npy", np.zeros((79, 12)))
    with pytest.raises(ValueError, match=r"number of samples in the file must be at least 80.*got 79"):
        preactivation_cumulants(tiny_run_dir, max_order=4, samples=tiny_run_dir / "few.npy")


@pytest.mark.slow
def test_streamed_cli_reduces_partial_states_on_a_local_cluster(rng, tmp_path):
    import xarray as xr

    weights = rng.normal(size=(2, 10))
    np.save(tmp_path / "w.npy", weights)
    out = tmp_path / "streamed.nc"
    args = ["cumulants", "--weights", str(tmp_path / "w.npy"), "--max-order", "4", "--out", str(out)]
    model = ["--model", "gaussian_clone", "--xi", "2", "--n-samples", "40000", "--seed", "1"]
    assert main([*args, *model, "--chunk-size", "3000", "--workers", "2"]) == 0
    expected = in_memory(weights, named_model("gaussian_clone", 10, xi=2.0), 40_000, 3_000, 1, 4)
    with xr.open_dataset(out) as written:
        np.testing.assert_allclose(written.kstat.values.T, expected, rtol=1e-9, atol=1e-12)
    assert main([*args, "--samples", str(tmp_path / "w.npy"), "--chunk-size", "10"]) == 2  # needs --model


@pytest.mark.slow
def test_streamed_run_cli_on_a_local_cluster(tiny_run_dir, capsys):
    import xarray as xr

    options = ["--max-order", "4", "--n-samples", "3000"]
    assert main(["cumulants", str(tiny_run_dir), *options, "--chunk-size", "700", "--workers", "2", "--overwrite"]) == 0
    with xr.open_dataset(tiny_run_dir / "cumulants.nc") as written:
        from_cli = written.load()
    expected = preactivation_cumulants(tiny_run_dir, max_order=4, n_samples=3000, chunk_size=700)
    xr.testing.assert_allclose(from_cli, expected, rtol=1e-12)
    capsys.readouterr()
    assert main(["cumulants", str(tiny_run_dir), "--model", "nlgp", "--seed", "1"]) == 2
    assert "--model, --seed apply to --weights FILE" in capsys.readouterr().err


def test_own_data_refusals_name_the_argument_and_write_nothing(tmp_path, rng, capsys):
    """Each way a researcher's own files can go wrong: one line naming the file and the value, exit 2, no file."""
    import torch
    import xarray as xr

    weights, samples = rng.standard_normal((16, 64)), rng.standard_normal((2000, 64))
    np.save(tmp_path / "W.npy", weights)
    np.save(tmp_path / "X.npy", samples)
    np.save(tmp_path / "Wnan.npy", np.where(np.arange(64) == 5, np.nan, weights))
    np.save(tmp_path / "Xinf.npy", np.where(np.arange(64) == 9, np.inf, samples))
    np.save(tmp_path / "W50.npy", rng.standard_normal((16, 50)))
    np.savez(tmp_path / "data.npz", X=samples, y=np.zeros(2000))
    (tmp_path / "taken.nc").write_bytes(b"someone's results")
    folder = str(tmp_path)
    cases = [
        (["--weights", "Wnan.npy", "--samples", "X.npy"], "weights (from '{0}/Wnan.npy') holds 16 non-finite value(s)"),
        (["--weights", "W.npy", "--samples", "Xinf.npy"], "samples (from '{0}/Xinf.npy') holds 2000 non-finite"),
        (["--weights", "W50.npy", "--samples", "X.npy"], "do not match the weights in '{0}/W50.npy' of shape (16, 50)"),
        (["--weights", "W.npy", "--samples", "data.npz"], "holds arrays ['X', 'y']; name one with key"),
    ]
    for arguments, message in cases:
        paths = [f"{folder}/{a}" if a.endswith((".npy", ".npz")) else a for a in arguments]
        assert main(["cumulants", *paths, "--out", f"{folder}/out.nc"]) == 2
        err = capsys.readouterr().err
        assert message.format(folder) in err and err.count("\n") == 1, err
    for out, message in [
        ("taken.nc", "'{0}/taken.nc' exists; pass --overwrite to replace it"),
        ("spec.txt", "the output '{0}/spec.txt' must be a netCDF file ending in .nc"),
        ("X.npy/o.nc", "cannot write '{0}/X.npy/o.nc': '{0}/X.npy' is not a directory"),
    ]:
        assert (
            main(
                [
                    "cumulants",
                    "--weights",
                    f"{folder}/W.npy",
                    "--samples",
                    f"{folder}/X.npy",
                    "--out",
                    f"{folder}/{out}",
                ]
            )
            == 2
        )
        assert message.format(folder) in capsys.readouterr().err
    assert (tmp_path / "taken.nc").read_bytes() == b"someone's results"
    assert not (tmp_path / "out.nc").exists() and not list(tmp_path.glob(".*.tmp"))
    # The right results: the samples' array picked by key, a state_dict's bias used and said so.
    torch.save(
        {"fc1.weight": torch.as_tensor(weights), "fc1.bias": torch.ones(16, dtype=torch.float64)}, tmp_path / "m.pt"
    )
    pick = ["--samples", f"{folder}/data.npz", "--samples-key", "X"]
    assert (
        main(["cumulants", "--weights", f"{folder}/m.pt", "--key", "fc1.weight", *pick, "--out", f"{folder}/b.nc"]) == 0
    )
    assert main(["cumulants", "--weights", f"{folder}/W.npy", *pick, "--out", f"{folder}/taken.nc", "--overwrite"]) == 0
    with xr.open_dataset(tmp_path / "b.nc") as with_bias, xr.open_dataset(tmp_path / "taken.nc") as without:
        assert with_bias.attrs["preactivation"] == "w . x / sqrt(D) + b"
        assert without.attrs["preactivation"] == "w . x / sqrt(D) (no bias)"
        np.testing.assert_allclose(with_bias.kstat.sel(order=1), without.kstat.sel(order=1) + 1.0, rtol=1e-12)
        np.testing.assert_allclose(with_bias.kstat.sel(order=2), without.kstat.sel(order=2), rtol=1e-10)


def test_cumulants_of_a_run_are_not_replaced_unasked_and_an_interrupted_write_keeps_them(
    tiny_run_dir, capsys, monkeypatch
):
    import xarray as xr

    assert main(["cumulants", str(tiny_run_dir), "--max-order", "4", "--overwrite"]) == 0
    before = (tiny_run_dir / "cumulants.nc").read_bytes()
    capsys.readouterr()
    assert main(["cumulants", str(tiny_run_dir), "--max-order", "3"]) == 2
    assert "cumulants.nc' exists; pass --overwrite to replace it" in capsys.readouterr().err

    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(xr.Dataset, "to_netcdf", interrupted)
    assert main(["cumulants", str(tiny_run_dir), "--max-order", "3", "--overwrite"]) == 130
    assert (tiny_run_dir / "cumulants.nc").read_bytes() == before
    assert not list(tiny_run_dir.glob(".*.tmp"))


def test_a_negative_sample_count_is_named_as_the_option(tmp_path, rng, capsys):
    np.save(tmp_path / "w.npy", rng.standard_normal((2, 10)))
    args = ["cumulants", "--weights", str(tmp_path / "w.npy"), "--model", "nlgp", "--n-samples", "-5"]
    assert main([*args, "--out", str(tmp_path / "o.nc")]) == 2
    assert "--n-samples must be at least 1, got -5" in capsys.readouterr().err
