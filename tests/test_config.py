from pathlib import Path

import pytest

from cavitykit.config import config_from_dict, load_config, load_preset, presets, read_toml, stored_config
from tests.imp.tiny import tiny_config


def test_presets_load_and_round_trip_through_toml(tmp_path):
    assert {"quick", "paper", "fashion_mnist", "lenet_300_100"} <= set(presets())
    for name in presets():
        config = load_preset(name, check_files=False)  # the idx presets name their shape: no file needed
        (tmp_path / f"{name}.toml").write_text(config.to_toml())
        assert stored_config(read_toml(tmp_path / f"{name}.toml")).hash == config.hash


def test_an_idx_preset_checks_its_files_as_a_run_does(tmp_path):
    config = load_preset("fashion_mnist", check_files=False)
    assert config.data.source == "idx" and config.data.D == 784 and config.network.width == 256
    assert load_preset("lenet_300_100", check_files=False).network.widths == (300, 100)
    if Path(config.data.path).is_dir():
        assert load_preset("fashion_mnist").identity == config.identity
    text = config.to_toml().replace(config.data.path, str(tmp_path / "nowhere"))
    (tmp_path / "moved.toml").write_text(text)
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        load_config(tmp_path / "moved.toml")
    stored = stored_config(read_toml(tmp_path / "moved.toml"))  # a stored config opens anyway, its branches too
    assert stored.data.shape == (28, 28) and stored.branch("random").data.path == str(tmp_path / "nowhere")


def test_hash_changes_with_any_setting():
    assert tiny_config().hash != tiny_config(imp={"prune_fraction": 0.31}).hash
    assert tiny_config().hash == tiny_config().hash


@pytest.mark.parametrize(
    ("sections", "message"),
    [
        ({"imp": {"prune_fraction": 1.0}}, r"imp.prune_fraction must be in \(0, 1\)"),
        ({"imp": {"prune_fraction": 0.0}}, r"imp.prune_fraction must be in \(0, 1\)"),
        ({"imp": {"rounds": -1}}, r"imp.rounds must be at least 1"),
        ({"imp": {"pruning": 0.2}}, "unknown config key.*imp.pruning"),
        ({"colour": "red"}, "unknown config key.*colour"),
        ({"network": {"activation": "tanh"}}, "network.activation must be one of"),
        ({"training": {"steps": 10}, "imp": {"rewind_step": 10}}, "imp.rewind_step must be below"),
        ({"variants": ["nlgp", "nlgp"]}, "variants must be distinct"),
        ({"data": {"L": "ten"}}, "data.L must be an integer"),
        ({"variants": ["ising"], "data": {"L": 4, "dim": 2}}, "variant 'ising' needs data.dim = 1"),
        ({"variants": ["ising_gauss"]}, "variants must be one of"),
        ({"imp": {"strategy": "cavity"}, "analysis": {"cavity": False}}, "needs analysis.cavity = true"),
        ({"imp": {"strategy": "cavity"}, "network": {"prune_readout": True}}, "network.prune_readout = false"),
    ],
)
def test_bad_configs_are_named(sections, message):
    with pytest.raises(ValueError, match=message):
        tiny_config(**sections)


def test_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_config(tmp_path / "missing.toml")
    (tmp_path / "bad.toml").write_text("rounds = = 3")
    with pytest.raises(ValueError, match="not valid TOML"):
        load_config(tmp_path / "bad.toml")
    with pytest.raises(ValueError, match="preset must be one of"):
        load_preset("huge")


def test_an_odd_network_on_symmetric_classes_is_refused_with_the_fix():
    with pytest.raises(
        ValueError, match=r"network.activation = 'erf' with network.bias = false .*bias_init = \"split\""
    ):
        tiny_config(network={"activation": "erf", "bias": False})
    assert tiny_config(network={"activation": "erf", "bias": True, "bias_init": "split"}).network.bias
    assert not tiny_config(network={"activation": "relu", "bias": False}).network.bias  # ReLU is not odd
    with pytest.raises(ValueError, match=r"network\.bias_init must be one of"):
        tiny_config(network={"bias_init": "random"})


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"training": {"stesp": 2}}, "unknown config key(s) training.stesp (did you mean training.steps?)"),
        ({"replicate": 2}, "unknown config key(s) replicate (did you mean replicates?)"),
        ({"training": {"steps": "2000"}}, "training.steps must be an integer, got '2000' of type str"),
        ({"data": {"xi": 3.0}}, "data: object of type 'float' has no len()"),
    ],
)
def test_config_errors_carry_one_prefix_and_suggest_the_closest_key(values, message):
    with pytest.raises(ValueError) as error:
        config_from_dict(values)
    assert str(error.value).startswith(message)


def test_the_shipped_experiment_configs_that_are_runs_load():
    import tomllib
    from pathlib import Path

    experiments = Path(__file__).parents[1] / "experiments"
    runs = [path for path in sorted(experiments.glob("*.toml")) if "grid" not in tomllib.loads(path.read_text())]
    assert runs  # e.g. photos_four_classes.toml
    for path in runs:
        assert load_config(path).name == path.stem


def test_a_config_reads_its_data_paths_from_its_own_folder(tmp_path, monkeypatch):
    import numpy as np

    folder = tmp_path / "study"
    (folder / "data").mkdir(parents=True)
    np.savez(folder / "data" / "mine.npz", X=np.zeros((4, 5, 6)), y=np.arange(4))
    (folder / "run.toml").write_text(
        'variants = ["images"]\n[training]\nmode = "batch"\n'
        '[data]\nsource = "arrays"\npath = "data/mine.npz"\ntest_path = "data/mine.npz"\n'
        'constant_pixels = "refuse"\n'
    )
    monkeypatch.chdir(tmp_path)
    config = load_config("study/run.toml")
    assert config.data.path == str(folder.resolve() / "data" / "mine.npz") == config.data.test_path
    assert config.data.shape == (5, 6)  # from the file's header
    assert load_config(folder / "run.toml") == config  # wherever it is read from
    assert config_from_dict(config.to_dict()) == config  # stored resolved


def test_constant_pixels_takes_a_known_choice_and_only_for_images():
    photos = {"source": "photos", "shape": [8, 8], "classes": [["astronaut"], ["coffee"]]}
    with pytest.raises(ValueError, match=r"data.constant_pixels must be one of 'drop', 'refuse'; got 'zero'"):
        config_from_dict(
            {"variants": ["images"], "training": {"mode": "batch"}, "data": photos | {"constant_pixels": "zero"}}
        )
    with pytest.raises(ValueError, match=r'data.constant_pixels does not apply to data.source = "synthetic"'):
        config_from_dict({"data": {"constant_pixels": "refuse"}})
