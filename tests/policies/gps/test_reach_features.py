"""Goal-relative reacher features: the closed-form Jacobian against finite differences, the compiled map
against numpy, the policy's linearisation (the C-step's) against the chain rule, save/load, bad input."""

import numpy as np
import pytest
import torch

from planlab.dynamics import TwoLinkArm
from planlab.policies.gps.features import MappedMLP, ReachFeatures, feature_map
from planlab.policies.gps.global_policy import GaussianMLPPolicy, GlobalPolicyConfig


def _obs(n, seed=0):
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.uniform(-4, 4, (n, 2)), rng.normal(0, 2, (n, 2)), rng.uniform(-1.8, 1.8, (n, 2))], axis=1)


def test_features_are_the_error_to_the_target_in_world_and_link_frames():
    arm = TwoLinkArm()
    X = _obs(50)
    F = ReachFeatures()(X)
    tip = arm.fingertip(X[:, :4])
    e = X[:, 4:] - tip
    np.testing.assert_allclose(F[:, 6:8], e, atol=1e-12)
    # in the second link's frame: the link direction's component and the normal one
    a = X[:, 0] + X[:, 1]
    np.testing.assert_allclose(F[:, 8], e[:, 0] * np.cos(a) + e[:, 1] * np.sin(a), atol=1e-12)
    np.testing.assert_allclose(np.hypot(F[:, 8], F[:, 9]), np.linalg.norm(e, axis=1), atol=1e-12)
    np.testing.assert_allclose(np.hypot(F[:, 10], F[:, 11]), np.linalg.norm(X[:, 4:], axis=1), atol=1e-12)
    # fingertip velocity: a finite difference of the fingertip along q̇
    h = 1e-6
    v = (arm.fingertip(np.c_[X[:, :2] + h * X[:, 2:4], X[:, 2:4]])
         - arm.fingertip(np.c_[X[:, :2] - h * X[:, 2:4], X[:, 2:4]])) / (2 * h)
    np.testing.assert_allclose(F[:, 12:14], v, atol=1e-6)


def test_jacobian_equals_central_differences():
    X, h = _obs(40, 1), 1e-6
    # targets a few hundredths from the fingertip (of links 1 and 0.7): where tanh(10 f) is not flat
    q = X[:20, :2]
    X[:20, 4:] = np.c_[np.cos(q[:, 0]) + 0.7 * np.cos(q.sum(1)), np.sin(q[:, 0]) + 0.7 * np.sin(q.sum(1))] + 0.04 * np.sin(q)
    for fm, dim in ((ReachFeatures(l1=1.0, l2=0.7), 14), (ReachFeatures(l1=1.0, l2=0.7, fine=10.0), 16)):
        J = fm.jacobian(X)
        E = h * np.eye(6)
        fd = np.stack([(fm(X + E[j]) - fm(X - E[j])) / (2 * h) for j in range(6)], axis=-1)
        np.testing.assert_allclose(J, fd, atol=1e-7)
        assert J.shape == (40, dim, 6)


def test_compiled_map_and_forward_equal_numpy():
    X = _obs(20, 2)
    fine = feature_map("reach2link_fine", 6)
    buf = np.empty(16)
    for x in X:
        np.testing.assert_allclose(fine.compiled(x, buf), fine(x), atol=1e-13)
    fm = ReachFeatures()
    buf = np.empty(14)
    for x in X:
        np.testing.assert_allclose(fm.compiled(x, buf), fm(x), atol=1e-13)
    rng = np.random.default_rng(3)
    Ws, bs = [rng.normal(size=(16, 14)), rng.normal(size=(2, 16))], [rng.normal(size=16), rng.normal(size=2)]
    net = MappedMLP(fm, Ws, bs, "tanh", low=-2.0, high=2.0)
    ref = np.clip(np.tanh(fm(X) @ Ws[0].T + bs[0]) @ Ws[1].T + bs[1], -2, 2)
    np.testing.assert_allclose(net.forward(X), ref, atol=1e-12)
    np.testing.assert_allclose(np.stack([net(x) for x in X]), ref, atol=1e-12)
    with pytest.raises(ValueError, match="x: expected shape"):
        net(np.zeros(4))


def test_policy_linearisation_is_the_chain_rule_through_the_feature_map():
    pi = GaussianMLPPolicy(6, 2, GlobalPolicyConfig(hidden=(16, 16), feature_map="reach2link", epochs=3, seed=1))
    X = _obs(200, 4)
    pi.fit(X, np.tanh(X[:, :2] - X[:, 4:]), np.repeat(np.eye(2)[None], 200, axis=0))
    Xs = X[:7]
    K, c = pi.linearize(Xs)
    # network Jacobian by torch autograd at the normalised features, times the map's closed-form Jacobian
    F = torch.as_tensor((pi.features(Xs) - pi.feat_mean) / pi.feat_std, dtype=torch.float64)
    Jnet = torch.stack([torch.autograd.functional.jacobian(pi.net, f) for f in F]).numpy() / pi.feat_std
    chain = np.einsum("tuf,tfx->tux", Jnet, ReachFeatures().jacobian(Xs))
    np.testing.assert_allclose(K, chain, atol=1e-6)
    np.testing.assert_allclose(c, pi.mean(Xs) - np.einsum("tux,tx->tu", chain, Xs), atol=1e-5)
    np.testing.assert_allclose(pi.act_fast(Xs[0]), pi.act(Xs[0]), atol=1e-12)


def test_save_load_round_trip_keeps_the_feature_map(tmp_path):
    pi = GaussianMLPPolicy(6, 2, GlobalPolicyConfig(hidden=(8,), feature_map="reach2link", epochs=2),
                           action_low=-2.0, action_high=2.0)
    X = _obs(64, 5)
    pi.fit(X, X[:, 4:], np.repeat(np.eye(2)[None], 64, axis=0))
    back = GaussianMLPPolicy.load(pi.save(tmp_path / "p.pt"))
    assert back.config.feature_map == "reach2link" and back.feature_dim == 14
    np.testing.assert_array_equal(back.act(X), pi.act(X))
    np.testing.assert_array_equal(back.act_fast(X[0]), pi.act_fast(X[0]))


def test_bad_feature_map_settings_raise():
    with pytest.raises(ValueError, match="feature_map: expected one of"):
        GaussianMLPPolicy(6, 2, GlobalPolicyConfig(feature_map="nope"))
    with pytest.raises(ValueError, match="obs_dim: feature map 'reach2link' expects 6 inputs, got 4"):
        GaussianMLPPolicy(4, 2, GlobalPolicyConfig(feature_map="reach2link"))
    with pytest.raises(ValueError, match="angle_indices: expected \\(\\) with feature_map"):
        GlobalPolicyConfig(feature_map="reach2link", angle_indices=(0, 1))
    with pytest.raises(ValueError, match="obs: expected shape"):
        feature_map("reach2link", 6)(np.zeros((3, 5)))
    with pytest.raises(ValueError, match="l2"):
        ReachFeatures(1.0, 0.0)


def test_box_loss_lets_a_linear_policy_reproduce_saturated_labels():
    x = np.linspace(-2, 2, 81)[:, None]
    y = np.clip(3.0 * x, -2.0, 2.0)  # a saturating controller: slope 3 inside, the bound outside
    P = np.ones((81, 1, 1))
    errs = {}
    for box in (False, True):
        pi = GaussianMLPPolicy(1, 1, GlobalPolicyConfig(hidden=(), optimizer="lbfgs", epochs=200, box_loss=box),
                               action_low=-2.0, action_high=2.0)
        pi.fit(x, y, P)
        errs[box] = float(np.sqrt(np.mean((pi.act(x) - y) ** 2)))
    assert errs[True] < 1e-6  # the clipped line of slope 3 is exact once outputs past the bound cost nothing
    assert errs[False] > 0.2  # least squares on the saturated labels flattens the line
    t = torch.tensor([[2.5], [1.0], [-3.0], [0.5], [-1.0]])
    target = torch.tensor([[2.0], [2.0], [-2.0], [1.0], [-2.0]])
    pi = GaussianMLPPolicy(1, 1, GlobalPolicyConfig(hidden=(), box_loss=True), action_low=-2.0, action_high=2.0)
    np.testing.assert_allclose(pi._boxed(t.double(), target.double()).numpy().ravel(), [2.0, 1.0, -2.0, 0.5, -1.0])
    with pytest.raises(ValueError, match="box_loss: expected action_low and action_high"):
        GaussianMLPPolicy(1, 1, GlobalPolicyConfig(box_loss=True))
