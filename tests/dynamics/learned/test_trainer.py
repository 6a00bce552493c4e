import numpy as np
import pytest
import torch

from planlab.dynamics.learned import (FIT_EARLY_STOPPED, FIT_NAN_LOSS, LearnedDynamics, ModelConfig, TrainConfig,
                                      TransitionBuffer, fit)


def _noisy_line(n=40, seed=0):
    """Few noisy samples of s' = s + sin(3 s): easy to overfit with a big network."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n, 1))
    u = rng.uniform(-1, 1, (n, 1))
    buf = TransitionBuffer(1, 1)
    buf.add_batch(x, u, np.zeros(n), x + np.sin(3 * x) + 0.3 * rng.normal(size=(n, 1)))
    return buf


def _model(members=3, hidden=(256, 256), probabilistic=False, seed=0):
    return LearnedDynamics(1, 1, -1.0, 1.0, 0.1, config=ModelConfig(members=members, hidden=hidden,
                                                                     probabilistic=probabilistic), seed=seed)


def _val_mse(model, buf, idx):
    """Held-out MSE of each member in normalised target units, recomputed from the kept weights."""
    x = torch.tensor(buf.states[idx], dtype=torch.float32)
    u = torch.tensor(buf.actions[idx], dtype=torch.float32)
    y = model.targets(x, u, torch.tensor(buf.next_states[idx], dtype=torch.float32), None)
    with torch.no_grad():
        mean, _ = model.predict_torch(x, u, members="all")
    pred = (mean - x - model.net.out_mean) / model.net.out_std
    yn = (y - model.net.out_mean) / model.net.out_std
    return ((pred - yn) ** 2).mean(dim=(1, 2)).double().numpy()


def test_early_stopping_restores_the_best_weights():
    buf = _noisy_line()
    model = _model()
    res = fit(model, buf, TrainConfig(epochs=300, batch_size=8, lr=3e-3, weight_decay=0.0, val_fraction=0.3,
                                      patience=15, progress=False), seed=0)
    assert res.status == FIT_EARLY_STOPPED and res.epochs < 300
    history = np.array(res.val_loss)  # (epochs, E)
    # the held-out loss got worse after its best epoch (overfitting), so restoring matters
    assert np.all(history[-1] > history.min(0))
    np.testing.assert_array_equal(res.best_val, history.min(0))
    np.testing.assert_array_equal(res.best_epoch, history.argmin(0) + 1)
    # the kept weights are the best ones: recomputing the held-out loss gives the best value
    np.testing.assert_allclose(_val_mse(model, buf, res.val_idx), res.best_val, rtol=1e-5)


def test_elites_are_the_members_with_the_lowest_held_out_loss():
    buf = _noisy_line(200)
    model = LearnedDynamics(1, 1, -1.0, 1.0, 0.1, config=ModelConfig(members=5, elites=2, hidden=(32,)), seed=1)
    res = fit(model, buf, TrainConfig(epochs=20, progress=False), seed=1)
    assert res.elites.tolist() == sorted(np.argsort(res.best_val)[:2].tolist())
    assert model.elites.tolist() == res.elites.tolist()
    assert model.predict(np.zeros((3, 1)), np.zeros((3, 1))).member_means.shape == (2, 3, 1)


def test_nan_loss_stops_with_a_status_and_keeps_the_last_good_weights():
    buf = _noisy_line(200)
    cfg = TrainConfig(epochs=50, lr=1e9, val_fraction=0.0, progress=False)
    model = _model(hidden=(64, 64))
    with pytest.warns(RuntimeWarning, match="non-finite loss"):
        res = fit(model, buf, cfg, seed=3)
    assert res.status == FIT_NAN_LOSS and res.epochs < 50
    for p in model.net.parameters():
        assert torch.isfinite(p).all()
    # the kept weights are exactly those after the last finite epoch: rerun with that many epochs
    ref = _model(hidden=(64, 64))
    import dataclasses
    if res.epochs > 0:
        r2 = fit(ref, buf, dataclasses.replace(cfg, epochs=res.epochs), seed=3)
        assert r2.status != FIT_NAN_LOSS
    else:
        ref.set_normalization(*_norm_inputs(ref, buf))
    for (k, a), (_, b) in zip(model.net.state_dict().items(), ref.net.state_dict().items()):
        if k != "trained":
            assert torch.equal(a, b), k
    assert np.all(np.isfinite(model.predict(np.zeros((2, 1)), np.zeros((2, 1))).mean))


def _norm_inputs(model, buf):
    x = torch.tensor(buf.states, dtype=torch.float32)
    u = torch.tensor(buf.actions, dtype=torch.float32)
    return model.features(x, u), model.targets(x, u, torch.tensor(buf.next_states, dtype=torch.float32), None)


def test_loss_history_decreases_on_learnable_data():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (500, 2))
    u = rng.uniform(-1, 1, (500, 1))
    buf = TransitionBuffer(2, 1)
    buf.add_batch(x, u, np.zeros(500), x + 0.1 * np.c_[x[:, 1], u[:, 0]])
    model = LearnedDynamics(2, 1, -1.0, 1.0, 0.1, config=ModelConfig(members=2, hidden=(32, 32)), seed=0)
    res = fit(model, buf, TrainConfig(epochs=15, batch_size=32, progress=False), seed=0)
    assert len(res.train_loss) == res.epochs and len(res.val_loss) == res.epochs
    assert res.train_loss[-1] < res.train_loss[0] - 1.0  # Gaussian NLL falls well below its start
    assert set(res.history()) == {"train_loss", "val_loss"}


def test_fit_rejects_mismatched_empty_or_non_finite_data():
    model = _model()
    with pytest.raises(ValueError, match=r"data: expected at least one transition"):
        fit(model, TransitionBuffer(1, 1), TrainConfig(progress=False))
    wrong = TransitionBuffer(2, 1)
    wrong.add_batch(np.zeros((3, 2)), np.zeros((3, 1)), np.zeros(3), np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"data: expected transitions with state_dim=1, action_dim=1 .*got state_dim=2"):
        fit(model, wrong, TrainConfig(progress=False))
    buf = _noisy_line(10)
    buf._sn[4, 0] = np.nan  # corrupted storage (add_batch itself refuses NaN)
    with pytest.raises(ValueError, match=r"data: expected finite next_states, got a non-finite value in transition 4"):
        fit(model, buf, TrainConfig(progress=False))
    with pytest.raises(TypeError, match="data: expected a TransitionBuffer"):
        fit(model, np.zeros((3, 3)))
    with pytest.raises(ValueError, match="val_fraction"):
        TrainConfig(val_fraction=1.0)
