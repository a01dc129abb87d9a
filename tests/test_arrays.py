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
    for path, key in [("w.npy", None), ("w.npz", None), ("named.npz", "first"), ("state.pt", "first.weight")]:
        np.testing.assert_array_equal(load_weights(tmp_path / path, key=key), weight, err_msg=path)
    np.testing.assert_array_equal(load_weights(tmp_path / "tensor.pt"), weight)


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
    with pytest.raises(ValueError, match=r"weights must be a real array of shape \(K, D\), got float64 \(8,\)"):
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
    with pytest.raises(ValueError, match="weights_only=True: pickled objects are refused"):
        load_weights(tmp_path / "evil.pt")


def test_samples_must_match_the_inputs(tmp_path, rng):
    x = rng.standard_normal((50, 8))
    np.save(tmp_path / "x.npy", x)
    np.testing.assert_array_equal(load_samples(tmp_path / "x.npy", 8), x)
    with pytest.raises(ValueError, match=r"samples must be numeric of shape \(P, 9\), got float64 \(50, 8\)"):
        load_samples(tmp_path / "x.npy", 9)
