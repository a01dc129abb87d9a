"""Loading the user's weights and samples: every format, every refusal named."""

import numpy as np
import pytest
import torch

from cavitykit.arrays import load_samples, load_weights


@pytest.fixture
def weight(rng):
    return rng.standard_normal((3, 8))


def test_weights_from_every_format(tmp_path, weight):
    np.save(tmp_path / "w.npy", weight)
    np.savez(tmp_path / "w.npz", weight=weight, bias=np.zeros(3))
    np.savez(tmp_path / "named.npz", first=weight)
    torch.save({"first.weight": torch.as_tensor(weight), "first.bias": torch.zeros(3)}, tmp_path / "state.pt")
    torch.save(torch.as_tensor(weight), tmp_path / "tensor.pt")
    expected_bias = {"w.npy": None, "w.npz": np.zeros(3), "named.npz": None, "state.pt": np.zeros(3)}
    for path, key in [("w.npy", None), ("w.npz", None), ("named.npz", "first"), ("state.pt", "first.weight")]:
        loaded, bias = load_weights(tmp_path / path, key=key)
        np.testing.assert_array_equal(loaded, weight, err_msg=path)
        if expected_bias[path] is None:
            assert bias is None, path
        else:
            np.testing.assert_array_equal(bias, expected_bias[path], err_msg=path)
    loaded, bias = load_weights(tmp_path / "tensor.pt")
    np.testing.assert_array_equal(loaded, weight)
    assert bias is None


def test_bad_weight_files_are_named(tmp_path, weight):
    with pytest.raises(FileNotFoundError, match="weights: no file"):
        load_weights(tmp_path / "missing.npz")
    np.savez(tmp_path / "w.npz", first=weight)
    with pytest.raises(ValueError, match=r"has no array 'weight'; it holds \['first'\]"):
        load_weights(tmp_path / "w.npz")
    torch.save({"first.weight": torch.as_tensor(weight)}, tmp_path / "state.pt")
    with pytest.raises(ValueError, match=r"has no tensor 'weight'; it holds \['first.weight'\]"):
        load_weights(tmp_path / "state.pt")
    np.save(tmp_path / "vector.npy", weight[0])
    with pytest.raises(
        ValueError, match=r"weights in '.*vector.npy' must be a real array of shape \(K, D\), got float64 \(8,\)"
    ):
        load_weights(tmp_path / "vector.npy")
    (tmp_path / "garbage.npy").write_bytes(b"not numpy")
    with pytest.raises(ValueError, match=r"is not a plain \.npy/\.npz array \(pickled data is refused\)"):
        load_weights(tmp_path / "garbage.npy")


def test_pickled_objects_are_refused(tmp_path):
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="pickled data is refused"):
        load_weights(tmp_path / "objects.npy")

    class Evil:
        def __reduce__(self):
            return (print, ("this must never run",))

    torch.save({"weight": Evil()}, tmp_path / "evil.pt")
    with pytest.raises(ValueError, match="holds pickled Python objects"):
        load_weights(tmp_path / "evil.pt")
    # a whole model pickled by torch.save: one plain line that says what to save instead, no colour codes
    torch.save(torch.nn.Sequential(torch.nn.Linear(4, 2)), tmp_path / "model.pt")
    with pytest.raises(ValueError, match=r"torch.save\(model.state_dict\(\), FILE\)") as refused:
        load_weights(tmp_path / "model.pt")
    assert "\x1b" not in str(refused.value) and "\n" not in str(refused.value)
    (tmp_path / "junk.pt").write_text("not a checkpoint")
    with pytest.raises(ValueError, match=r"junk\.pt' is not a torch checkpoint of tensors"):
        load_weights(tmp_path / "junk.pt")


def test_samples_must_match_the_inputs(tmp_path, rng):
    x = rng.standard_normal((50, 8))
    np.save(tmp_path / "x.npy", x)
    np.testing.assert_array_equal(load_samples(tmp_path / "x.npy", 8), x)
    with pytest.raises(ValueError, match=r"of shape \(50, 8\) do not match the weights: D = 8 inputs against 9"):
        load_samples(tmp_path / "x.npy", 9)
    np.savez(tmp_path / "xy.npz", X=x, y=np.zeros(50))
    np.testing.assert_array_equal(load_samples(tmp_path / "xy.npz", 8, key="X"), x)
    with pytest.raises(ValueError, match=r"holds arrays \['X', 'y'\]; name one with key"):
        load_samples(tmp_path / "xy.npz", 8)


def test_non_finite_values_are_refused_where_they_enter(tmp_path, weight, rng):
    with_nan = weight.copy()
    with_nan[1, 2] = np.nan
    np.save(tmp_path / "w.npy", with_nan)
    with pytest.raises(
        ValueError, match=r"weights \(from '.*w.npy'\) holds 1 non-finite value\(s\), e.g. nan at index \(1, 2\)"
    ):
        load_weights(tmp_path / "w.npy")
    np.savez(tmp_path / "b.npz", weight=weight, bias=np.array([0.0, np.inf, 0.0]))
    with pytest.raises(ValueError, match=r"bias \(from '.*b.npz'\) holds 1 non-finite"):
        load_weights(tmp_path / "b.npz")
    np.savez(tmp_path / "short.npz", weight=weight, bias=np.zeros(2))
    with pytest.raises(ValueError, match=r"must be real of shape \(3,\), got float64 \(2,\)"):
        load_weights(tmp_path / "short.npz")
    x = rng.standard_normal((20, 8))
    x[[3, 7], [0, 5]] = np.inf
    np.save(tmp_path / "x.npy", x)
    with pytest.raises(
        ValueError, match=r"samples \(from '.*x.npy'\) holds 2 non-finite value\(s\), e.g. inf at index \(3, 0\)"
    ):
        load_samples(tmp_path / "x.npy", 8)
