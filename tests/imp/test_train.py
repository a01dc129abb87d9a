"""The ensemble trainer: routes against each other, members against training alone, grouping, the rewind
snapshot, and one step of every parameterization against a hand-computed update."""

import numpy as np
import pytest
import torch

from cavitykit.config import TrainingConfig
from cavitykit.data import NLGP, GaussianClone
from cavitykit.imp.train import SampleBlocks, Task, accuracy, train_ensemble
from cavitykit.network import PARAMETERIZATION_NAMES
from cavitykit.network import parameterization as parameterization_by_name
from cavitykit.network.ensemble import Ensemble
from cavitykit.network.mask import Mask
from cavitykit.network.sgd import sgd_on_samples

D, K = 12, 4


def members(n_members, *, mode="online", seed=0):
    """n_members networks with different masks and data: tasks, seeds and an ensemble factory."""
    rng = np.random.default_rng(seed)
    models = [
        (NLGP(D, 1.0, 3.0), NLGP(D, 4.0, 3.0)),
        (GaussianClone(NLGP(D, 1.0, 3.0)), GaussianClone(NLGP(D, 4.0, 3.0))),
    ]
    tasks = []
    for e in range(n_members):
        pair = models[e % 2]
        x_test = torch.as_tensor(pair[0].sample(200, rng), dtype=torch.float32)
        task = Task(x_test, torch.as_tensor(rng.integers(0, 2, 200)), pair)
        if mode == "batch":
            task.x_train = torch.as_tensor(rng.standard_normal((300, D)), dtype=torch.float32)
            task.y_train = torch.as_tensor(rng.integers(0, 2, 300))
        tasks.append(task)
    weight = rng.standard_normal((n_members, K, D))
    mask = rng.random((n_members, K, D)) > 0.4
    bias = rng.standard_normal((n_members, K))
    readout = rng.standard_normal((n_members, K))

    def ensemble(index=slice(None), activation="erf", parameterization="standard"):
        return Ensemble(
            weight[index],
            readout[index],
            mask[index],
            bias=bias[index],
            activation=activation,
            parameterization=parameterization,
        )

    return tasks, [100 + e for e in range(n_members)], ensemble


CONFIGS = {
    "online sgd": TrainingConfig(mode="online", optimizer="sgd", learning_rate=0.1, batch_size=1),
    "online sgd batch 4": TrainingConfig(mode="online", optimizer="sgd", learning_rate=0.1, batch_size=4),
    "batch adam": TrainingConfig(mode="batch", optimizer="adam", learning_rate=0.01, batch_size=8),
    "batch sgd cross-entropy": TrainingConfig(mode="batch", learning_rate=0.1, batch_size=8, loss="cross_entropy"),
}


@pytest.mark.parametrize(
    ("name", "parameterization"), [(name, "standard") for name in CONFIGS] + [("online sgd", "mean_field")]
)
def test_a_member_trained_in_an_ensemble_equals_it_trained_alone(name, parameterization):
    config = CONFIGS[name]
    tasks, seeds, ensemble_of = members(3, mode=config.mode)
    together = ensemble_of(parameterization=parameterization)
    loss_together, _ = train_ensemble(together, tasks, seeds, config, n_steps=150)
    for e in range(3):
        alone = ensemble_of(slice(e, e + 1), parameterization=parameterization)
        loss_alone, _ = train_ensemble(alone, tasks[e : e + 1], seeds[e : e + 1], config, n_steps=150)
        if name == "online sgd":  # the kernel route: members never share a computation
            np.testing.assert_array_equal(alone.weight[0], together.weight[e])
        torch.testing.assert_close(alone.weight[0], together.weight[e], rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(alone.readout[0], together.readout[e], rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(loss_alone[0], loss_together[e], rtol=1e-4)
    assert not torch.allclose(together.weight, ensemble_of(parameterization=parameterization).weight)  # it trained


def test_grouping_does_not_change_results():
    tasks, seeds, ensemble_of = members(4)
    config = CONFIGS["online sgd"]
    whole = ensemble_of()
    train_ensemble(whole, tasks, seeds, config, n_steps=300)
    pairs = [ensemble_of(slice(0, 2)), ensemble_of(slice(2, 4))]
    for start, part in zip((0, 2), pairs, strict=True):
        train_ensemble(part, tasks[start : start + 2], seeds[start : start + 2], config, n_steps=300)
    np.testing.assert_array_equal(torch.cat([p.weight for p in pairs]), whole.weight)


@pytest.mark.parametrize("parameterization", PARAMETERIZATION_NAMES)
def test_kernel_and_torch_routes_agree(parameterization):
    tasks, seeds, ensemble_of = members(2)
    config = CONFIGS["online sgd"]
    kernel, torch_route = ensemble_of(parameterization=parameterization), ensemble_of(parameterization=parameterization)
    loss_kernel, _ = train_ensemble(kernel, tasks, seeds, config, n_steps=200, route="kernel")
    loss_torch, _ = train_ensemble(torch_route, tasks, seeds, config, n_steps=200, route="torch")
    torch.testing.assert_close(kernel.weight, torch_route.weight, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(kernel.bias, torch_route.bias, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(kernel.readout, torch_route.readout, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(loss_kernel, loss_torch, rtol=1e-4)
    assert not torch.allclose(kernel.bias, ensemble_of(parameterization=parameterization).bias)  # biases trained
    if not parameterization_by_name(parameterization).trains_readout:
        assert torch.equal(kernel.readout, ensemble_of(parameterization=parameterization).readout)


@pytest.mark.parametrize(
    ("name", "route"), [("online sgd", "kernel"), ("online sgd", "torch"), ("batch adam", "torch")]
)
def test_masked_weights_stay_zero(name, route):
    """The forward pass reads the weights unmasked: the masking after every step must hold them at zero."""
    tasks, seeds, ensemble_of = members(2, mode=CONFIGS[name].mode)
    ensemble = ensemble_of()
    train_ensemble(ensemble, tasks, seeds, CONFIGS[name], n_steps=50, route=route)
    kept = torch.from_numpy(ensemble.mask.weight)
    assert torch.all(ensemble.weight[~kept] == 0)
    assert torch.all(ensemble.weight[kept] != 0)


@pytest.mark.parametrize("route", ["kernel", "torch"])
def test_each_snapshot_is_the_network_after_that_many_steps(route):
    tasks, seeds, ensemble_of = members(2)
    config = CONFIGS["online sgd"]
    long_run, short_run, start = ensemble_of(), ensemble_of(), ensemble_of()
    _, snapshots = train_ensemble(long_run, tasks, seeds, config, n_steps=120, capture_steps=[37, 0, 120], route=route)
    assert sorted(snapshots) == [0, 37, 120]
    train_ensemble(short_run, tasks, seeds, config, n_steps=37, route=route)
    np.testing.assert_array_equal(snapshots[37]["weight"], short_run.weight)
    np.testing.assert_array_equal(snapshots[37]["bias"], short_run.bias)
    np.testing.assert_array_equal(snapshots[0]["weight"], start.weight)
    np.testing.assert_array_equal(snapshots[120]["weight"], long_run.weight)
    with pytest.raises(ValueError, match="capture_steps must lie in"):
        train_ensemble(ensemble_of(), tasks, seeds, config, n_steps=10, capture_steps=[11])


def test_sgd_on_the_drawn_samples_is_train_ensemble():
    """``train_ensemble``'s kernel route is ``sgd_on_samples`` on each member's ``SampleBlocks`` stream."""
    tasks, seeds, ensemble_of = members(3)
    config = CONFIGS["online sgd"]
    trained, by_hand = ensemble_of(parameterization="mean_field"), ensemble_of(parameterization="mean_field")
    loss, _ = train_ensemble(trained, tasks, seeds, config, n_steps=100)
    blocks = SampleBlocks(tasks, seeds, config)
    x, y = blocks.numpy(100)
    blocks.close()
    assert x.shape == (3, 100, D) and set(np.unique(y)) <= {0.0, 1.0}
    losses = sgd_on_samples(by_hand, x, y, config)
    np.testing.assert_array_equal(by_hand.weight, trained.weight)
    np.testing.assert_array_equal(by_hand.bias, trained.bias)
    np.testing.assert_allclose(losses[:, 90:].mean(axis=1), loss, rtol=1e-6)


def test_sgd_on_samples_names_bad_shapes_and_configs():
    _, _, ensemble_of = members(2)
    with pytest.raises(ValueError, match=r"x must have shape \(E, n, D\) = \(2, n, 12\)"):
        sgd_on_samples(ensemble_of(), np.zeros((2, 5, D + 1)), np.zeros((2, 5)), CONFIGS["online sgd"])
    with pytest.raises(ValueError, match="needs online SGD with batch_size 1"):
        sgd_on_samples(ensemble_of(), np.zeros((2, 5, D)), np.zeros((2, 5)), CONFIGS["online sgd batch 4"])


def test_accuracy_counts_each_members_own_test_set():
    tasks, _, ensemble_of = members(2)
    ensemble = ensemble_of()
    with torch.no_grad():
        outputs = ensemble.forward(torch.stack([t.x_test for t in tasks]))
    expected = [float(((outputs[e] > 0).long() == tasks[e].y_test).double().mean()) for e in range(2)]
    np.testing.assert_allclose(accuracy(ensemble, tasks, chunk=64), expected)


def test_bad_routes_and_shapes_are_named():
    tasks, seeds, ensemble_of = members(2, mode="batch")
    with pytest.raises(ValueError, match="route='kernel' needs online SGD"):
        train_ensemble(ensemble_of(), tasks, seeds, CONFIGS["batch adam"], n_steps=5, route="kernel")
    with pytest.raises(ValueError, match="route must be one of"):
        train_ensemble(ensemble_of(), tasks, seeds, CONFIGS["batch adam"], n_steps=5, route="numba")
    with pytest.raises(ValueError, match="one task and one seed per member"):
        train_ensemble(ensemble_of(), tasks[:1], seeds, CONFIGS["batch adam"], n_steps=5)
    with pytest.raises(ValueError, match="must agree"):
        Ensemble(np.zeros((2, K, D)), np.zeros((2, K + 1)), np.ones((2, K, D), bool))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("name", ["online sgd", "batch adam"])
def test_the_cuda_route_equals_the_cpu_route(name):
    config = CONFIGS[name]
    tasks, seeds, ensemble_of = members(3, mode=config.mode)
    on_cpu = ensemble_of()
    train_ensemble(on_cpu, tasks, seeds, config, n_steps=100, route="torch")
    gpu_tasks = [
        Task(
            t.x_test.cuda(),
            t.y_test.cuda(),
            t.models,
            None if t.x_train is None else t.x_train.cuda(),
            None if t.y_train is None else t.y_train.cuda(),
        )
        for t in tasks
    ]
    first = ensemble_of()
    on_gpu = Ensemble(first.weight, first.readout, first.mask, bias=first.bias, activation="erf", device="cuda")
    train_ensemble(on_gpu, gpu_tasks, seeds, config, n_steps=100)  # 'auto' takes torch on CUDA
    torch.testing.assert_close(on_gpu.weight.cpu(), on_cpu.weight, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(accuracy(on_gpu, gpu_tasks), accuracy(on_cpu, tasks))


def test_losses_by_hand():
    from cavitykit.imp.train import loss_function

    output, label = torch.tensor([0.5, 0.5, -2.0]), torch.tensor([1.0, 0.0, 0.0])
    # MSE against the +-1 target 2y - 1: 0.5 (0.5 - 1)^2, 0.5 (0.5 + 1)^2, 0.5 (-2 + 1)^2
    torch.testing.assert_close(loss_function("mse")(output, label), torch.tensor([0.125, 1.125, 0.5]))
    # logistic: log(1 + exp(-f)) for y = 1, log(1 + exp(f)) for y = 0
    expected = torch.tensor([np.log1p(np.exp(-0.5)), np.log1p(np.exp(0.5)), np.log1p(np.exp(-2.0))])
    torch.testing.assert_close(loss_function("cross_entropy")(output, label), expected.float())


def test_the_kernel_route_is_online_sgd_with_batch_one_on_a_cpu():
    from cavitykit.network.sgd import kernel_route_applies

    online = TrainingConfig(mode="online", optimizer="sgd", batch_size=1)
    assert kernel_route_applies(online, "cpu")
    assert not kernel_route_applies(online, "cuda")
    assert not kernel_route_applies(TrainingConfig(mode="online", optimizer="adam", batch_size=1), "cpu")
    assert not kernel_route_applies(TrainingConfig(mode="online", optimizer="sgd", batch_size=2), "cpu")


def test_epochs_take_every_training_sample_once_per_pass_whatever_the_blocks():
    tasks, seeds, _ = members(2, mode="batch")
    config = TrainingConfig(mode="batch", batch_size=8, order="epochs")
    blocks = SampleBlocks(tasks, seeds, config)
    n_steps = 300 * 5 // 8 // 2  # about two and a half passes over 300 samples, in uneven blocks
    x = torch.cat([blocks.torch(n, "cpu")[0] for n in (7, 31, 1, n_steps - 39)], dim=1)
    for member, task in enumerate(tasks):
        seen = x[member].reshape(-1, D)
        index = (seen[:, None, :] == task.x_train[None]).all(-1).float().argmax(1)  # each row's training index
        for start in (0, 300):
            assert sorted(index[start : start + 300].tolist()) == list(range(300))  # a pass: each sample once
    again = SampleBlocks(tasks, seeds, config)
    torch.testing.assert_close(again.torch(n_steps, "cpu")[0], x, rtol=0, atol=0)  # blocks do not matter


def test_epochs_need_a_training_set():
    with pytest.raises(ValueError, match=r'training.order = "epochs" passes over a fixed training set'):
        TrainingConfig(mode="online", order="epochs")
    with pytest.raises(ValueError, match=r"training.order must be one of"):
        TrainingConfig(order="shuffled")


@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
@pytest.mark.parametrize("route", ["kernel", "torch"])
def test_one_step_of_a_three_class_network_on_each_route_is_the_hand_computed_update(loss, route):
    from tests.network.test_kernels import THREE_CLASS, three_class_step_by_hand

    expected_w, expected_b, expected_r, expected_loss = three_class_step_by_hand(loss)
    # 'standard' with K = 4: c_K = 1/2 and every rate eta = 0.1, as the hand-made step has
    ensemble = Ensemble(
        np.array(THREE_CLASS["w"])[None],
        np.array(THREE_CLASS["r"])[None],
        Mask(np.ones((1, 4, 4), bool), np.ones((1, 3, 4), bool)),
        bias=np.array(THREE_CLASS["b"])[None],
        activation="relu",
    )
    x, y = np.array(THREE_CLASS["x"])[None, None], np.ones((1, 1))
    if route == "kernel":
        config = TrainingConfig(mode="online", batch_size=1, learning_rate=0.1, loss=loss)
        losses = sgd_on_samples(ensemble, x, y, config)
    else:  # one minibatch step on a training set of the one sample
        config = TrainingConfig(mode="batch", batch_size=1, learning_rate=0.1, loss=loss)
        x_one = torch.as_tensor(x[0], dtype=torch.float32)
        task = Task(x_one, torch.ones(1), (None, None, None), x_one, torch.ones(1))
        losses, _ = train_ensemble(ensemble, [task], [0], config, n_steps=1, route="torch")
    np.testing.assert_allclose(losses[0], expected_loss, rtol=1e-6)
    np.testing.assert_allclose(ensemble.weight[0], expected_w, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(ensemble.bias[0], expected_b, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(ensemble.readout[0], expected_r, rtol=1e-6, atol=1e-7)


def test_three_outputs_classify_by_their_largest_and_take_one_vs_all_losses():
    from cavitykit.imp.train import loss_function

    # unit 0 feeds output 0, unit 1 output 1, unit 2 output 2; inputs switch on one unit each (or none)
    weight = np.eye(3)[None] * np.sqrt(3)  # lambda_k = x_k
    ensemble = Ensemble(
        weight, np.eye(3)[None], Mask(np.ones((1, 3, 3), bool), np.ones((1, 3, 3), bool)), activation="relu"
    )
    x_test = torch.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 3.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    task = Task(x_test, torch.tensor([0, 2, 1, 0]), (None, None, None))
    np.testing.assert_array_equal(accuracy(ensemble, [task]), [0.75])  # the last sample's largest output is 2
    f, y = torch.tensor([[0.5, -1.0, 2.0]]), torch.tensor([2.0])
    # MSE against (-1, -1, +1): 0.5 (1.5^2 + 0 + 1^2); softmax: logsumexp(f) - f_2
    torch.testing.assert_close(loss_function("mse", 3)(f, y), torch.tensor([1.625]))
    torch.testing.assert_close(
        loss_function("cross_entropy", 3)(f, y), torch.tensor([float(np.log(np.exp([0.5, -1.0, 2.0]).sum()) - 2.0)])
    )


def test_online_training_needs_two_classes():
    task = Task(torch.zeros(2, D), torch.zeros(2), (NLGP(D, 1.0, 3.0),) * 3)
    with pytest.raises(ValueError, match="a task of more classes needs mode = 'batch'"):
        SampleBlocks([task], [0], CONFIGS["online sgd"])


@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
@pytest.mark.parametrize("name", PARAMETERIZATION_NAMES)
def test_the_routes_take_the_same_three_class_step_in_every_parameterization(name, loss):
    from cavitykit.network.ensemble import initial_parameters

    rng = np.random.default_rng(7)
    chosen = parameterization_by_name(name)
    state = initial_parameters(D, K, bias=True, trains_readout=chosen.trains_readout, n_classes=3)
    x, y = rng.standard_normal((1, 1, D)), np.full((1, 1), 2.0)
    mask = Mask(rng.random((1, K, D)) > 0.3, np.ones((1, 3, K), bool))
    after = []
    for route in ("kernel", "torch"):
        ensemble = Ensemble(
            state["weight"][None].numpy(),
            state["readout"][None].numpy(),
            mask,
            bias=state["bias"][None].numpy(),
            parameterization=name,
        )
        if route == "kernel":
            sgd_on_samples(ensemble, x, y, TrainingConfig(mode="online", batch_size=1, learning_rate=0.5, loss=loss))
        else:
            x_one = torch.as_tensor(x[0], dtype=torch.float32)
            task = Task(x_one, torch.full((1,), 2.0), (None,) * 3, x_one, torch.full((1,), 2.0))
            config = TrainingConfig(mode="batch", batch_size=1, learning_rate=0.5, loss=loss)
            train_ensemble(ensemble, [task], [0], config, n_steps=1, route="torch")
        after.append(ensemble.state())
    for name_, value in after[0].items():
        torch.testing.assert_close(value, after[1][name_], rtol=1e-5, atol=1e-6)
    assert not torch.equal(after[0]["weight"], state["weight"][None] * torch.from_numpy(mask.weight))  # it stepped
    assert torch.equal(after[0]["readout"], state["readout"][None]) != chosen.trains_readout  # fixed stays fixed
