"""The policy's input normalisation refitted at every fit (``GlobalPolicyConfig(normalization="refit")``): the
first-layer rescale keeps the network's function, the statistics are those of the fit's weighted rows, and in
the GPS loop with relabelled states they are the relabelled states' own mean and standard deviation."""

import numpy as np
import pytest
import torch

from planlab.core import QuadraticCost
from planlab.dynamics import DoubleIntegrator
from planlab.policies.gps.global_policy import GaussianMLPPolicy, GlobalPolicyConfig
from planlab.policies.gps.loop import GPS, GPSConfig


def _fitted(normalization="refit", hidden=(8, 8)):
    rng = np.random.default_rng(0)
    X = 0.1 * rng.standard_normal((200, 3))  # narrow first data
    Y = np.sin(X[:, :1]) + X[:, 1:2]
    pi = GaussianMLPPolicy(3, 1, GlobalPolicyConfig(hidden=hidden, epochs=5, angle_indices=(1,),
                                                    normalization=normalization))
    pi.fit(X, Y, np.ones((200, 1, 1)))
    return pi, rng


def test_renormalize_keeps_the_function_and_uses_the_new_statistics():
    pi, rng = _fitted()
    X = 3.0 * rng.standard_normal((50, 3))
    before = pi.mean(X)
    m, s = rng.standard_normal(4), rng.uniform(0.5, 5.0, 4)
    pi.renormalize(m, s)
    np.testing.assert_allclose(pi.mean(X), before, rtol=1e-11, atol=1e-12)
    np.testing.assert_array_equal(pi.feat_mean, m)
    np.testing.assert_array_equal(pi.feat_std, s)
    with torch.no_grad():  # the torch network now reads the new normalisation
        ref = pi.net(torch.as_tensor((pi.features(X) - m) / s)).numpy()
    np.testing.assert_allclose(ref, before, rtol=1e-11, atol=1e-12)


def test_renormalize_of_a_linear_policy_equals_the_hand_rescale():
    pi, rng = _fitted(hidden=())
    W = pi.net[0].weight.detach().numpy().copy()
    b = pi.net[0].bias.detach().numpy().copy()
    m0, s0 = pi.feat_mean.copy(), pi.feat_std.copy()
    m, s = np.array([1.0, -2.0, 0.5, 0.0]), np.array([2.0, 0.5, 1.0, 4.0])
    pi.renormalize(m, s)
    np.testing.assert_allclose(pi.net[0].weight.detach().numpy(), W * (s / s0), rtol=1e-14)
    np.testing.assert_allclose(pi.net[0].bias.detach().numpy(), b + W @ ((m - m0) / s0), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("normalization", ["first", "refit"])
def test_the_second_fit_normalises_by_its_weighted_rows_or_keeps_the_first(normalization):
    pi, rng = _fitted(normalization)
    first = pi.feat_mean.copy(), pi.feat_std.copy()
    X = 2.0 * rng.standard_normal((120, 3)) + 1.0
    w = np.r_[np.zeros(40), np.ones(80)]
    pi.fit(X, X[:, :1], np.ones((120, 1, 1)), weights=w)
    if normalization == "first":
        np.testing.assert_array_equal(pi.feat_mean, first[0])
        np.testing.assert_array_equal(pi.feat_std, first[1])
        return
    F = np.stack([X[40:, 0], X[40:, 2], np.sin(X[40:, 1]), np.cos(X[40:, 1])], axis=1)  # plain, then sin, cos
    np.testing.assert_allclose(pi.feat_mean, F.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(pi.feat_std, F.std(axis=0), rtol=1e-12)
    assert not np.allclose(pi.feat_std, first[1])  # the wider data did change it


def test_bad_normalization_and_statistics_raise():
    with pytest.raises(ValueError, match="normalization"):
        GlobalPolicyConfig(normalization="always")
    pi, _ = _fitted()
    with pytest.raises(ValueError, match="std"):
        pi.renormalize(np.zeros(4), np.r_[1.0, 1.0, 0.0, 1.0])
    with pytest.raises(ValueError, match="mean"):
        pi.renormalize(np.zeros(3), np.ones(4))


def test_save_and_load_keep_the_refitted_normalisation(tmp_path):
    pi, rng = _fitted()
    pi.fit(5.0 * rng.standard_normal((50, 3)), np.ones((50, 1)), np.ones((50, 1, 1)))
    back = GaussianMLPPolicy.load(pi.save(tmp_path / "pi.pt"))
    assert back.config.normalization == "refit"
    X = rng.standard_normal((10, 3))
    np.testing.assert_array_equal(back.mean(X), pi.mean(X))


def _relabel_gps(**kw):
    sys_ = DoubleIntegrator(n=1)
    cost = QuadraticCost(Q=[1.0, 0.1], R=[0.01], Qf=[10.0, 1.0])
    cfg = GPSConfig(iterations=3, horizon=10, samples=2, init="zero", init_var=0.5, kl_step=2.0, relabel_rollouts=2,
                    relabel_policy_warm=True, relabel_noise=0.3, relabel_mix=1.0, relabel_mix_decay=0.5,
                    relabel_local_weight=0.0, relabel_precision="unit", c_step_reference="local",
                    relabel_horizon=6, relabel_iterations=2,
                    policy=GlobalPolicyConfig(hidden=(8,), epochs=20, optimizer="lbfgs", normalization="refit"), seed=0)
    return sys_, cost, np.array([[1.0, 0.0], [-1.0, 0.0]]), cfg


def test_gps_refits_the_normalisation_on_the_relabelled_states_alone_when_local_rows_weigh_zero(tmp_path):
    sys_, cost, train, cfg = _relabel_gps()
    gps = GPS(sys_, cost, train, cfg)
    for _ in range(3):
        row = gps.step()
        O = gps._agg[0]  # relabel_local_weight=0: only the relabelled rows weigh
        np.testing.assert_allclose(gps.policy.feat_mean, O.mean(axis=0), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(gps.policy.feat_std, O.std(axis=0), rtol=1e-12)
        err = gps.policy.mean(O) - gps._agg[1]
        np.testing.assert_allclose(row["fit_rms_fitted"], np.sqrt(np.mean(err ** 2)), rtol=1e-12)
    # the same run in two parts (checkpoint and resume) ends with the same policy
    GPS(sys_, cost, train, cfg, out=tmp_path).run(2, progress=False)
    resumed = GPS(sys_, cost, train, cfg, out=tmp_path)
    resumed.run(progress=False)
    np.testing.assert_allclose(resumed.policy.feat_mean, gps.policy.feat_mean, rtol=0, atol=0)
    np.testing.assert_allclose(resumed.policy.mean(train), gps.policy.mean(train), rtol=1e-9, atol=1e-12)


def test_policy_reinit_fits_a_fresh_network_to_the_weighted_rows(monkeypatch):
    sys_, cost, train, cfg = _relabel_gps()
    cfg = GPSConfig(**{**cfg.__dict__, "policy_reinit": True, "iterations": 2})
    gps = GPS(sys_, cost, train, cfg)
    fits = []
    real = GaussianMLPPolicy.fit
    monkeypatch.setattr(GaussianMLPPolicy, "fit", lambda self, O, Y, P, weights, seed: fits.append(
        (O.copy(), Y.copy(), weights.copy(), self.fitted, [p.detach().clone() for p in self.net.parameters()]))
        or real(self, O, Y, P, weights=weights, seed=seed))
    gps.run(progress=False)
    assert [f[3] for f in fits] == [False, False, False]  # every fit starts unfitted: the first, then fresh networks
    assert len(fits[0][0]) == 40 and np.all(fits[0][2] == 1.0)  # the first fit: the local samples
    for (O, Y, w, _, start), it in zip(fits[1:], (0, 1)):  # later fits: the relabelled rows alone (local weight 0)
        n = 40 * (it + 1)
        np.testing.assert_array_equal(O, gps._agg[0][:n])
        np.testing.assert_array_equal(Y, gps._agg[1][:n])
        assert np.all(w == 1.0)
        fresh = GaussianMLPPolicy(2, 1, cfg.policy)
        fresh.reinitialize(cfg.policy.seed + 1000 * it)
        for a, b in zip(start, fresh.net.parameters()):
            np.testing.assert_array_equal(a.numpy(), b.detach().numpy())
    # the last fit equals a fresh policy fitted by hand to the same rows
    hand = GaussianMLPPolicy(2, 1, cfg.policy)
    hand.reinitialize(cfg.policy.seed + 1000)
    torch.manual_seed(cfg.seed * 7919 + 1)
    real(hand, fits[-1][0], fits[-1][1], np.ones((len(fits[-1][0]), 1, 1)), weights=fits[-1][2], seed=cfg.seed * 7919 + 1)
    np.testing.assert_allclose(gps.policy.mean(train), hand.mean(train), rtol=1e-12, atol=1e-12)
