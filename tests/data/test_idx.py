"""MNIST-format idx files: read exactly as written, every damaged file refused in one line, a missing data
set answered with how to get it, and a run on idx files finds the feature planted in them."""

import gzip

import numpy as np
import pytest

from cavitykit import cli, open_run
from cavitykit.config import IdxData, config_from_dict
from cavitykit.data.idx import HOW_TO_GET, read_idx, read_idx_set, write_idx
from cavitykit.imp import run

H, W = 6, 10
PATCH = (slice(2, 4), slice(6, 8))  # 4 of the 60 pixels carry the difference between the classes


def idx_set(folder, *, n_train=480, n_test=160, seed=0, gzipped=True):
    """The four files of a data set: uint8 noise around 128, class 7 brighter by 60 on the patch, class 3 not."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gzipped else ""
    for split, n in (("train", n_train), ("t10k", n_test)):
        labels = np.where(rng.random(n) < 0.5, 3, 7).astype(np.uint8)
        images = 128 + 30 * rng.standard_normal((n, H, W))
        images[(labels == 7)[:, None, None] & np.pad(np.ones((2, 2), bool), ((2, 2), (6, 2)))] += 60
        write_idx(folder / f"{split}-images-idx3-ubyte{suffix}", np.clip(np.rint(images), 0, 255).astype(np.uint8))
        write_idx(folder / f"{split}-labels-idx1-ubyte{suffix}", labels)
    return folder


def test_a_hand_written_file_reads_as_its_bytes_say(tmp_path):
    path = tmp_path / "images-idx3-ubyte"
    path.write_bytes(bytes([0, 0, 0x08, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 3, 1, 2, 3, 250, 251, 252]))
    np.testing.assert_array_equal(read_idx(path, 3), [[[1, 2, 3]], [[250, 251, 252]]])
    wide = tmp_path / "wide-idx1"
    wide.write_bytes(bytes([0, 0, 0x0B, 1, 0, 0, 0, 2, 0x01, 0x02, 0xFF, 0xFE]))  # big-endian int16
    np.testing.assert_array_equal(read_idx(wide, 1), [258, -2])


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.float32])
@pytest.mark.parametrize("name", ["x-idx3-ubyte", "x-idx3-ubyte.gz"])
def test_written_files_read_back_exactly(tmp_path, dtype, name):
    values = (np.arange(60).reshape(3, 4, 5) * 3 - 50).astype(dtype)
    if dtype is np.uint8:
        values = np.arange(60, dtype=np.uint8).reshape(3, 4, 5)
    again = read_idx(write_idx(tmp_path / name, values), 3)
    assert again.dtype == values.dtype and again.dtype.isnative
    np.testing.assert_array_equal(again, values)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (bytes([1, 0, 8, 1, 0, 0, 0, 1, 5]), "is not an idx file: its header starts 01000801"),
        (bytes([0, 0, 0x42, 1, 0, 0, 0, 1, 5]), "is not an idx file"),
        (b"", "is not an idx file: its header starts empty"),
        (bytes([0, 0, 8, 3, 0, 0, 0, 1, 5]), "holds an idx array of 3 dimensions, expected 1"),
        (bytes([0, 0, 8, 1, 0, 0]), "is cut short inside its header"),
        (bytes([0, 0, 8, 1, 0, 0, 0, 4, 5, 6]), "is cut short: its header declares 4 values of 1 byte"),
        (bytes([0, 0, 8, 1, 0, 0, 0, 1, 5, 6]), "has bytes beyond its declared shape"),
    ],
)
def test_a_damaged_file_is_refused_in_one_line_naming_it(tmp_path, content, message):
    path = tmp_path / "labels-idx1-ubyte"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message) as error:
        read_idx(path, 1)
    assert str(path) in str(error.value) and "\n" not in str(error.value)


def test_a_truncated_gzip_and_a_count_mismatch_are_refused(tmp_path):
    folder = idx_set(tmp_path / "set", n_train=20, n_test=10)
    whole = (folder / "t10k-images-idx3-ubyte.gz").read_bytes()
    (folder / "t10k-images-idx3-ubyte.gz").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte\.gz' is cut short"):
        read_idx_set(folder)
    folder = idx_set(tmp_path / "other", n_train=20, n_test=10)
    write_idx(folder / "train-labels-idx1-ubyte.gz", np.zeros(19, np.uint8))
    with pytest.raises(ValueError, match=r"holds 20 images but .*train-labels-idx1-ubyte\.gz' 19 labels"):
        read_idx_set(folder)


def test_missing_files_say_how_to_get_them_and_the_command_writes_nothing(tmp_path, capsys):
    with pytest.raises(FileNotFoundError, match="no train-images-idx3-ubyte"):
        IdxData(path=str(tmp_path))
    assert "apt-get install dataset-fashion-mnist" in HOW_TO_GET
    (tmp_path / "run.toml").write_text(
        'variants = ["images", "images_clone"]\n[data]\nsource = "idx"\npath = "nothing-here"\n'
        '[training]\nmode = "batch"\n'
    )
    assert cli.main(["run", str(tmp_path / "run.toml"), "--out", str(tmp_path / "runs")]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "apt-get install dataset-fashion-mnist" in error
    assert not (tmp_path / "runs").exists()


def test_float_labels_a_file_for_a_folder_a_wrong_shape_and_too_many_images_are_refused(tmp_path):
    folder = idx_set(tmp_path / "set", n_train=20, n_test=10)
    with pytest.raises(ValueError, match=r"data\.shape is \[28, 28\], but the images in .* are \[6, 10\]"):
        IdxData(path=str(folder), shape=(28, 28))  # from the header, when the config is read
    with pytest.raises(ValueError, match=r"data\.n_train = 21 exceeds the 20 train images"):
        IdxData(path=str(folder), n_train=21)
    with pytest.raises(FileNotFoundError, match="is a file, not a folder"):
        IdxData(path=str(folder / "train-labels-idx1-ubyte.gz"))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        IdxData(path=str(tmp_path / "nowhere"))
    write_idx(folder / "train-labels-idx1-ubyte.gz", np.full(20, 3.5, np.float32))
    with pytest.raises(ValueError, match=r"train-labels-idx1-ubyte\.gz' holds float32 labels: labels must be integers"):
        read_idx_set(folder)


def test_an_idx_table_holds_its_own_keys_and_reads_its_shape_from_the_header(tmp_path):
    folder = idx_set(tmp_path / "set", n_train=20, n_test=10, gzipped=False)
    data = config_from_dict(
        {
            "variants": ["images", "images_clone"],
            "data": {"source": "idx", "path": str(folder)},
            "training": {"mode": "batch"},
        }
    ).data
    assert type(data) is IdxData and data.shape == (H, W) and data.class_count == 2
    assert data.files()[0].name == "train-images-idx3-ubyte"
    with pytest.raises(ValueError, match=r'data\.gain does not apply to data\.source = "idx"'):
        config_from_dict({"data": {"source": "idx", "path": str(folder), "gain": 3.0}})
    images = data.images()
    assert images.train[0].shape == (20, H * W) and images.test[0].shape == (10, H * W)
    first = IdxData(path=str(folder), n_train=8, n_test=4).images()
    assert first.train[0].shape[0] == 8 and first.test[0].shape[0] == 4


@pytest.mark.slow
def test_imp_on_idx_files_finds_the_planted_feature_in_the_first_layer(tmp_path):
    folder = idx_set(tmp_path / "set")
    config = config_from_dict(
        {
            "name": "idx",
            "seed": 1,
            "replicates": 2,
            "variants": ["images", "images_clone"],
            "data": {"source": "idx", "path": str(folder)},
            "network": {"width": 4, "activation": "relu", "bias": True, "bias_init": "zero"},
            "training": {"mode": "batch", "optimizer": "adam", "learning_rate": 0.01, "steps": 300, "batch_size": 32},
            "imp": {"rounds": 5, "prune_fraction": 0.4, "controls": ["random"]},
            "analysis": {"n_heldout": 20, "cavity": False},
        }
    )
    run_dir = run(config, tmp_path / "runs", progress=False)
    ds = open_run(run_dir)
    patch = np.zeros((H, W), bool)
    patch[PATCH] = True

    def patch_share(weight):
        squares = weight.values**2
        return np.nanmean(squares[..., patch.ravel()].sum(-1) / squares.sum(-1), axis=(0, 2))

    share = patch_share(ds.weight.sel(variant="images"))
    assert float(ds.test_accuracy.sel(variant="images").isel(round=0).min()) > 0.7
    assert share[-1] > max(1.8 * share[0], 6 * 4 / (H * W))  # the survivors hold the patch: 4 of 60 pixels
    random = patch_share(open_run(run_dir, control="random").weight.sel(variant="images"))
    assert share[-1] > random[-1] + 0.1  # random pruning at the same sparsity does not
    assert (run_dir / "data.sha256").is_file()  # the digest of the files it trained on, checked on resume


def test_gzip_detection_reads_a_gzipped_file_without_the_suffix(tmp_path):
    path = tmp_path / "labels-idx1-ubyte"
    path.write_bytes(gzip.compress(bytes([0, 0, 8, 1, 0, 0, 0, 2, 4, 2])))
    np.testing.assert_array_equal(read_idx(path, 1), [4, 2])
