"""IMP on a researcher's own labelled images: a hand-made set of non-square images whose planted local
feature IMP must find, from the .npz to the report; and every bad input refused before anything is written."""

import numpy as np
import pytest
import xarray as xr

from cavitykit import cli, open_run
from cavitykit.config import config_from_dict
from cavitykit.imp import run
from cavitykit.report import write_report
from cavitykit.spectra import preactivation_cumulants

H, W = 6, 10
PATCH = (slice(2, 4), slice(6, 8))  # 4 of the 60 pixels carry the difference between the classes


def planted_images(path, n=1200, seed=0):
    """Class 7: white noise with its mean raised by 1 on the patch; class 3: white noise; labels any integers."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, H, W))
    y = np.where(rng.random(n) < 0.5, 3, 7)
    x[(y == 7)[:, None, None] & np.pad(np.ones((2, 2), bool), ((2, 2), (6, 2)))] += 1.0
    np.savez(path, X=x.astype(np.float32), y=y)
    return path


def planted_config(path, **data):
    return config_from_dict(
        {
            "name": "planted",
            "seed": 1,
            "replicates": 2,
            "variants": ["images", "images_clone"],
            "data": {"source": "arrays", "path": str(path), "shape": [H, W], "test_fraction": 0.25} | data,
            "network": {"width": 4, "activation": "relu", "bias": True, "bias_init": "zero"},
            "training": {"mode": "batch", "optimizer": "adam", "learning_rate": 0.01, "steps": 300, "batch_size": 32},
            "imp": {"rounds": 5, "prune_fraction": 0.4, "controls": ["random"]},
            "analysis": {"n_heldout": 20, "expansion_orders": [1, 2]},
        }
    )


@pytest.fixture(scope="module")
def planted_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("planted")
    config = planted_config(planted_images(folder / "mine.npz"), classes=[3, 7])
    return config, run(config, folder / "runs", progress=False)


def patch_share(weight: xr.DataArray) -> np.ndarray:
    """Share of each unit's squared weight on the patch, mean over replicates and units, per round."""
    patch = np.zeros((H, W), bool)
    patch[PATCH] = True
    squares = weight.values**2
    return np.nanmean(squares[..., patch.ravel()].sum(-1) / squares.sum(-1), axis=(0, 2))


@pytest.mark.slow
def test_imp_finds_the_planted_feature_of_non_square_images_and_reports(planted_run):
    _, run_dir = planted_run
    ds = open_run(run_dir)
    assert dict(ds.sizes) | {"input": H * W} == dict(ds.sizes) and ds.sizes["round"] == 5
    assert (int(ds.y.max()) + 1, int(ds.x.max()) + 1) == (H, W)  # rows y, columns x
    share = patch_share(ds.weight.sel(variant="images"))
    assert share[-1] > max(1.8 * share[0], 6 * 4 / (H * W))  # IMP keeps the patch: 4 of 60 pixels hold half the field
    random = patch_share(open_run(run_dir, control="random").weight.sel(variant="images"))
    assert share[-1] > random[-1] + 0.1  # random pruning at the same sparsity does not
    assert float(ds.test_accuracy.isel(round=0).min()) > 0.7
    assert np.isfinite(ds.cavity_exact.sel(variant="images")).any()
    spectra = preactivation_cumulants(run_dir, max_order=4)
    assert np.isfinite(spectra.preact_cumulant.sel(order=4)).any()
    report = write_report(run_dir, progress=False)
    text = report.read_text()
    assert "Gaussian clone of the images" in text and "## Verdicts" in text
    assert (report.parent / "receptive_field_maps.png").is_file()
    assert "## Surviving connections (Pellegrini and Biroli's measure)" in text
    assert (report.parent / "connection_distances.png").is_file()
    from cavitykit.analysis import connection_distance_ratio

    ratio = connection_distance_ratio(ds).sel(variant="images").mean("replicate")
    assert float(ratio.sel(distance=1.0)) > 1.5  # the kept patch: neighbouring survivors far above random placement
    random_ratio = connection_distance_ratio(open_run(run_dir, control="random")).sel(variant="images")
    assert abs(float(random_ratio.mean("replicate").sel(distance=1.0)) - 1) < 0.5


@pytest.mark.slow
def test_the_clone_keeps_the_class_means_and_covariance(planted_run):
    from cavitykit.samples import member_samples

    config, _ = planted_run
    real, clone = (member_samples(config, variant, 0) for variant in ("images", "images_clone"))
    assert (
        real.train[0].shape == clone.train[0].shape
        and (np.bincount(real.train[1]) == np.bincount(clone.train[1])).all()
    )
    for c in (0, 1):
        own, drawn = real.train[0][real.train[1] == c], clone.train[0][clone.train[1] == c]
        n = len(own)
        np.testing.assert_allclose(drawn.mean(axis=0), own.mean(axis=0), atol=6 / np.sqrt(n))
        np.testing.assert_allclose(np.cov(drawn.T), np.cov(own.T), atol=8 / np.sqrt(n))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"classes": [3, 8]}, r"data.classes: labels \[8\] of \[3, 8\] are not among the labels \[3, 7\]"),
        ({"shape": [5, 12]}, r"data.shape is \[5, 12\], but the images in .* are \[6, 10\]"),
        ({"images_key": "images"}, r"has no array 'images' \(it has \['X', 'y'\]\)"),
    ],
)
def test_bad_inputs_stop_the_command_with_one_line_and_nothing_written(tmp_path, capsys, data, message):
    config = planted_config(planted_images(tmp_path / "mine.npz", n=200), **data)
    (tmp_path / "bad.toml").write_text(config.to_toml())
    assert cli.main(["run", str(tmp_path / "bad.toml"), "--out", str(tmp_path / "runs"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert __import__("re").search(message, err), err
    assert not (tmp_path / "runs").exists()


def three_class_images(path, n=1500, seed=0):
    """Labels 1, 3 and 5: white noise, and white noise with its mean raised by 1 on one of two 2 x 2 patches."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, H, W))
    y = rng.choice([1, 3, 5], n, p=[0.5, 0.25, 0.25])  # unbalanced: chance is the largest class's share
    x[y == 3, 1:3, 1:3] += 1.0
    x[y == 5, 3:5, 6:8] += 1.0
    np.savez(path, X=x.astype(np.float32), y=y)
    return path


@pytest.mark.slow
def test_three_classes_train_a_readout_of_three_outputs_prune_it_and_report(tmp_path):
    from cavitykit.analysis import feature_learning
    from cavitykit.data import LabelledImages

    path = three_class_images(tmp_path / "three.npz")
    config = planted_config(path, classes=[])
    config = config_from_dict(
        config.to_dict()
        | {
            "network": config.to_dict()["network"] | {"width": 6, "prune_readout": True},
            "training": config.to_dict()["training"] | {"loss": "cross_entropy", "snapshots": 2},
            "imp": config.to_dict()["imp"] | {"rounds": 3, "controls": ["random"]},
        }
    )
    run_dir = run(config, tmp_path / "runs", progress=False)
    ds = open_run(run_dir)
    assert ds.readout.dims[-2:] == ("output", "neuron") and ds.sizes["output"] == ds.sizes["label"] == 3
    assert ds.snapshot_readout.dims[-3:] == ("time", "output", "neuron")
    # the readout is a prunable layer of 3 x 6 weights: round(18 * 0.6^r) kept, the pruned ones zero
    kept = ds.readout_mask.sel(variant="images").sum(("output", "neuron"))
    assert (kept == [[18, 11, 6]] * 2).all()
    assert (ds.readout.where(~ds.readout_mask) == 0).sum() == (~ds.readout_mask).sum()
    # chance: the largest class's share of the test set, plus three binomial standard errors
    images = LabelledImages.load(path, test_fraction=0.25)
    counts = np.bincount(images.test[1])
    share = counts.max() / counts.sum()
    assert ds.attrs["data_test_class_counts"] == " ".join(map(str, counts)) and 0.45 < share < 0.55
    features = feature_learning(ds, ("images", "images_clone"))
    assert float(features.chance) == pytest.approx(share + 3 * np.sqrt(share * (1 - share) / counts.sum()))
    assert (features.test_accuracy > features.chance).all()  # both learn the task from the planted patches
    spectra = preactivation_cumulants(run_dir, max_order=4)
    assert spectra.sample_set.values.tolist() == ["class_0", "class_1", "class_2"]
    text = write_report(run_dir, progress=False).read_text()
    assert f"(chance: {share:.3g})" in text


def test_a_network_narrower_than_its_classes_is_refused_before_anything_is_written(tmp_path, capsys):
    config = planted_config(three_class_images(tmp_path / "three.npz", n=300))
    bad = config_from_dict(config.to_dict() | {"network": config.to_dict()["network"] | {"width": 2}})
    (tmp_path / "bad.toml").write_text(bad.to_toml())
    assert cli.main(["run", str(tmp_path / "bad.toml"), "--out", str(tmp_path / "runs"), "--quiet"]) == 2
    assert "network.width = 2 is fewer than the 3 classes" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"data": {"source": "arrays", "shape": [3, 4], "test_fraction": 0.2}}, r"needs data.path"),
        (
            {"data": {"source": "arrays", "path": "m.npz", "test_fraction": 0.2}},
            r"data.path: no file or folder at 'm.npz'",  # without data.shape, the file is read for it
        ),
        (
            {"data": {"source": "arrays", "path": "m.npz", "shape": [3, 4]}},
            r"needs a test set: data.test_path or data.test_fraction",
        ),
        (
            {"data": {"source": "arrays", "path": "m.npz", "shape": [3, 4], "test_fraction": 1.5}},
            r"data.test_fraction must lie in \(0, 1\)",
        ),
        (
            {
                "data": {
                    "source": "arrays",
                    "path": "m.npz",
                    "shape": [3, 4],
                    "test_fraction": 0.2,
                    "classes": [1],
                }
            },
            r"data.classes must name two or more classes",
        ),
        (
            {"data": {"path": "m.npz"}},
            r'data.path does not apply to data.source = "synthetic", which reads L, dim, xi, gain, n_train, n_test; '
            r'it belongs to data.source = "arrays"',
        ),
        ({"variants": ["images"]}, r"'images' does not train on data.source = 'synthetic'"),
        (
            {
                "variants": ["nlgp"],
                "data": {"source": "arrays", "path": "m.npz", "shape": [3, 4], "test_fraction": 0.2},
            },
            r"'nlgp' does not train on data.source = 'arrays'",
        ),
        (
            {
                "variants": ["images"],
                "training": {"mode": "online"},
                "data": {"source": "arrays", "path": "m.npz", "shape": [3, 4], "test_fraction": 0.2},
            },
            r'training.mode must be "batch"',
        ),
    ],
)
def test_bad_configs_name_their_key(values, message):
    with pytest.raises(ValueError, match=message):
        config_from_dict(values)


PHOTOS = {"source": "photos", "shape": [12, 12], "classes": [["astronaut", "rocket"], ["coffee", "brick"]]}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"classes": [["astronaut"]]}, r"needs data.classes, two or more groups of photographs"),
        ({"classes": [["astronaut"], []]}, r"needs data.classes, two or more groups of photographs"),
        ({"classes": [["astronaut"], ["moon"]]}, r"data.classes must be one of 'camera', .*; got 'moon'"),
        ({"path": "mine.npz"}, r'data.path does not apply to data.source = "photos"'),
        (
            {"gain": 1.0},
            r'data.gain does not apply to data.source = "photos", .*; it belongs to data.source = "synthetic"',
        ),
        ({"gain": 3.0}, r'data.gain does not apply to data.source = "photos"'),  # given at its default, still refused
        ({"shape": [12]}, r"data.shape must give the images' height and width"),
    ],
)
def test_bad_photo_configs_name_their_key(data, message):
    values = {"variants": ["images", "images_clone"], "data": PHOTOS | data}
    with pytest.raises(ValueError, match=message):
        config_from_dict(values)


def test_synthetic_configs_keep_their_hash():
    from cavitykit.config import load_preset

    assert load_preset("quick").hash.startswith("74a1f8336311")  # the new data keys are left out at their defaults


def test_an_image_config_stores_and_hashes_only_its_own_data_keys():
    from cavitykit.config import PhotosData, data_config, load_preset, stored_values

    photos = load_preset("photos")
    stored = photos.to_dict()["data"]
    assert sorted(stored) == ["classes", "n_test", "n_train", "shape", "source"]
    assert "gain" not in photos.to_toml() and "\nL = " not in photos.to_toml()
    assert type(photos.data) is PhotosData and not hasattr(photos.data, "gain")  # holds only its own keys
    with pytest.raises(ValueError, match=r'data.xi does not apply to data.source = "photos"'):
        data_config(source="photos", shape=(8, 8), classes=(("astronaut",), ("coffee",)), xi=(2.0, 4.0))
    with pytest.raises(ValueError, match=r'data.xi does not apply to data.source = "photos"'):
        config_from_dict({"data": {"source": "photos", "shape": [8, 8], "classes": [["rocket"], ["brick"]], "xi": 1}})
    # A config stored before each source kept only its own keys reads as the same run.
    old = photos.to_dict() | {"data": stored | {"L": 40, "dim": 1, "xi": [1.0, 3.0], "gain": 3.0}}
    assert config_from_dict(stored_values(old)).identity == photos.identity


def test_a_changed_data_file_is_refused_on_resume(tmp_path):
    path = planted_images(tmp_path / "mine.npz", n=200)
    values = planted_config(path).to_dict()
    values["training"]["steps"], values["imp"] = 20, {"rounds": 1, "strategy": "dense"}
    values["analysis"] = {"n_heldout": 20, "cavity": False}
    config = config_from_dict(values)
    run_dir = run(config, tmp_path / "runs", progress=False)
    planted_images(path, n=200, seed=1)  # other images at the same path
    before = {p: p.read_bytes() for p in run_dir.glob("**/*") if p.is_file()}
    with pytest.raises(ValueError, match=r"is not the data .* was trained on \(the sha256 of its files is now"):
        run(config, tmp_path / "runs", progress=False)
    assert before == {p: p.read_bytes() for p in run_dir.glob("**/*") if p.is_file()}


@pytest.mark.slow
def test_a_sweep_of_runs_on_arrays(tmp_path):
    from cavitykit.analysis import sweep_verdicts
    from cavitykit.sweep_runner import run_sweep

    path = planted_images(tmp_path / "mine.npz", n=400)
    values = planted_config(path).to_dict()
    values["training"] |= {"steps": 60, "order": "epochs"}
    values["imp"] = {"rounds": 2, "prune_fraction": 0.4}
    values["analysis"] = {"n_heldout": 40, "cavity": False}
    values["replicates"] = 1
    (tmp_path / "base.toml").write_text(config_from_dict(values).to_toml())
    sweep = tmp_path / "scan.toml"
    sweep.write_text('name = "scan"\nbase_file = "base.toml"\n[grid]\n"imp.prune_fraction" = [0.3, 0.5]\n')
    run_dirs = run_sweep(sweep, tmp_path / "out", workers=1, progress=False)
    assert len(run_dirs) == 2
    for run_dir in run_dirs:
        ds = open_run(run_dir)
        assert ds.sizes["round"] == 2 and set(ds.variant.values) == {"images", "images_clone"}
    verdicts = sweep_verdicts(tmp_path / "out" / "scan-sweep.toml")
    assert verdicts.sizes["prune_fraction"] == 2


def bordered_digits(path, n=300, seed=0):
    """8 x 8 images of four classes, blank on their border (as handwritten digits): a bar in row c + 1 for
    class c, in noise; stored as uint8, like scanned images."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    inner = rng.random((n, 6, 6)) * 0.5
    inner[np.arange(n), y, :] += 1.0
    np.savez(path, X=(np.pad(inner, ((0, 0), (1, 1), (1, 1))) * 100).astype(np.uint8), y=y)
    return path


@pytest.mark.slow
def test_small_images_with_blank_borders_and_no_shape_run_from_file_to_report(tmp_path, monkeypatch, capsys):
    """The route a researcher takes with digits-like images: a config beside the data, read from elsewhere,
    with neither data.shape nor anything done to the images; more held-out inputs asked for than a class has."""
    from cavitykit.samples import heldout_counts, member_samples

    folder = tmp_path / "study"
    folder.mkdir()
    bordered_digits(folder / "digits.npz")
    (folder / "run.toml").write_text(
        'name = "digits"\nreplicates = 1\nvariants = ["images", "images_clone"]\n'
        '[data]\nsource = "arrays"\npath = "digits.npz"\ntest_fraction = 0.2\n'
        '[network]\nwidth = 4\nactivation = "relu"\nbias = true\n'
        '[training]\nmode = "batch"\noptimizer = "adam"\nlearning_rate = 0.01\nsteps = 60\nbatch_size = 32\n'
        "[imp]\nrounds = 2\nprune_fraction = 0.5\n"
        "[analysis]\nn_heldout = 500\nexpansion_orders = [1]\n"
    )
    monkeypatch.chdir(tmp_path)  # the data path is read from the config's folder, not from here
    with pytest.warns(UserWarning, match=r"analysis.n_heldout = 500 is more than some classes' test images"):
        assert cli.main(["run", "study/run.toml", "--out", "runs", "--quiet", "--report"]) == 0
    assert "data: 28 of 64 pixels are constant over the training images and left out" in capsys.readouterr().out
    run_dir = next((tmp_path / "runs").glob("digits-*"))
    ds = open_run(run_dir)
    border = np.ones((8, 8), bool)
    border[1:7, 1:7] = False
    assert ds.sizes["input"] == 64 and (ds.dropped.values == border.ravel()).all()
    # Networks start without weights on the blank border; rates count the 4 x 36 others.
    assert not ds["mask"].sel(input=border.ravel()).any()
    assert (ds["mask"].sum(("neuron", "input")).values == [[[144, 72]]] * 2).all()
    assert (ds.sparsity.sel(round=0) == 0).all() and np.allclose(ds.sparsity.sel(round=1), 0.5)
    # Held-out sets: each class's test images, none twice; the clone as many draws.
    from cavitykit.config import load_config

    config = load_config(run_dir / "config.toml")
    counts = heldout_counts(config)
    assert ds.attrs["data_heldout_counts"] == " ".join(map(str, counts)) == ds.attrs["data_test_class_counts"]
    assert ds.attrs["data_dropped_pixels"] == "28" and ds.attrs["data_shape"] == "8 8"
    real, clone = (member_samples(config, variant, 0) for variant in ("images", "images_clone"))
    for c, n in enumerate(counts):
        inputs = real.heldout[c]
        assert len({row.tobytes() for row in inputs}) == len(inputs) == n
        tests = {row.astype(np.float32).tobytes() for row in real.test[0][real.test[1] == c]}
        assert {row.tobytes() for row in inputs} == tests
        assert len(clone.heldout[c]) == n
    # Every null places weights among the 36 pixels the networks see, not the 64 of the grid.
    from cavitykit import analysis, metrics

    assert float(analysis.feature_learning(ds, ("images", "images_clone")).random_ipr) == pytest.approx(3 / 38)
    units = analysis.unit_measures(ds)
    dense = units.isel(round=0)
    assert (dense.n_kept == 36).all() and np.allclose(dense.null_top, 3 / 38, rtol=0.01)  # Monte Carlo null
    expected = metrics.connectivity_null(36, (8, 8), periodic=False, support=~border.ravel())
    assert np.allclose(dense.connectivity_null, expected) and float(expected[()]) == 1.0  # all 36: all linked
    text = (run_dir / "report" / "report.md").read_text()
    assert text.startswith(f"# cavitykit report: {run_dir.name}\n")
    # Its weights file keeps both variants' names (of different lengths) and re-judges to the same verdicts.
    from cavitykit.io import open_weights, write_weights
    from cavitykit.report import write_report

    weights = write_weights(run_dir, tmp_path / "weights.nc")
    assert open_weights(weights).variant.values.tolist() == ["images", "images_clone"]
    # It keeps what claim 3 reads from the held-out images, so the feedback needs no data file.
    stored = analysis.feedback_loop(open_weights(weights), "images")
    (folder / "digits.npz").rename(folder / "elsewhere.npz")
    xr.testing.assert_allclose(analysis.feedback_loop(open_weights(weights), "images"), stored)
    (folder / "elsewhere.npz").rename(folder / "digits.npz")
    fresh = analysis.feedback_loop(open_run(run_dir), "images")
    xr.testing.assert_allclose(stored, fresh, rtol=1e-5)
    # The run's report kept its spectra beside it (cumulants.nc), and the weights file keeps them: the whole
    # report, spectra figure included, is written from the weights file with the data file gone.
    spectra = xr.load_dataset(run_dir / "cumulants.nc")
    xr.testing.assert_allclose(open_weights(weights).preact_cumulant, spectra.preact_cumulant.astype(np.float32))
    (folder / "digits.npz").rename(folder / "elsewhere.npz")
    try:
        again = write_report(weights, out=tmp_path / "again", progress=False).read_text()
    finally:
        (folder / "elsewhere.npz").rename(folder / "digits.npz")
    assert (tmp_path / "again" / "cumulant_spectra.png").is_file()
    assert again.split("## Verdicts")[1].split("\n## ")[0] == text.split("## Verdicts")[1].split("\n## ")[0]
    assert text.count("  - Criterion: ") == 4  # one under each verdict
    shown = ", ".join(map(str, counts))
    assert f"each class's test images, each once: {shown} per class (analysis.n_heldout = 500 asks for more" in text
    # 200 training steps on 8 x 8 images form no field the low-frequency criterion can tell from noise:
    # the report says so, with the threshold it would have on larger images, and what else to change.
    assert "No unit of real images formed a field" in text and "threshold at 16 x 16: 0.13" in text
