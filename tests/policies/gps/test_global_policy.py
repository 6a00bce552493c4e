"""The global policy: precision-weighted regression, numpy/compiled inference, files."""

import numpy as np
import pytest
import torch

from planlab.policies.gps.global_policy import GaussianMLPPolicy, GlobalPolicyConfig


def _data(rng, N=300, nx=3, nu=2):
    X = rng.standard_normal((N, nx))
    Y = X @ rng.standard_normal((nx, nu)) + 0.3 * rng.standard_normal((N, nu)) + 1.0
    L = rng.standard_normal((N, nu, nu))
    P = L @ np.swapaxes(L, 1, 2) + 0.1 * np.eye(nu)
    return X, Y, P


def test_precision_weighted_regression_onto_a_linear_policy_equals_closed_form_wls():
    rng = np.random.default_rng(0)
    X, Y, P = _data(rng, N=60)
    N, nx, nu = X.shape[0], X.shape[1], Y.shape[1]
    pi = GaussianMLPPolicy(nx, nu, GlobalPolicyConfig(hidden=(), epochs=200, optimizer="lbfgs"))
    pi.fit(X, Y, P)
    # closed form: u = W phi, phi = (x, 1); minimise sum_i (W phi_i - y_i)' P_i (W phi_i - y_i)
    Phi = np.concatenate([X, np.ones((N, 1))], axis=1)
    G = np.einsum("nab,ni,nj->aibj", P, Phi, Phi).reshape(nu * (nx + 1), nu * (nx + 1))
    h = np.einsum("nab,nb,ni->ai", P, Y, Phi).reshape(-1)
    W = np.linalg.solve(G, h).reshape(nu, nx + 1)
    np.testing.assert_allclose(pi.mean(X), Phi @ W.T, atol=1e-4)
    np.testing.assert_allclose(pi.cov, np.linalg.inv(P.mean(0)), rtol=1e-10)


def test_numpy_and_compiled_inference_equal_the_torch_network():
    rng = np.random.default_rng(1)
    X, Y, P = _data(rng, nx=4, nu=1)
    pi = GaussianMLPPolicy(4, 1, GlobalPolicyConfig(hidden=(16, 16), epochs=3, angle_indices=(2,)))
    pi.fit(X, Y, P)
    F = pi.features(X)
    with torch.no_grad():
        ref = pi.net(torch.as_tensor((F - pi.feat_mean) / pi.feat_std)).numpy()
    np.testing.assert_allclose(pi.mean(X), ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(pi.act_fast(X[0]), ref[0], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_compiled_forward_with_preallocated_buffers_equals_torch_on_every_state(activation):
    from planlab.policies.fast_mlp import FastMLP

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(6, 64), torch.nn.Tanh() if activation == "tanh" else torch.nn.ReLU(),
                              torch.nn.Linear(64, 64), torch.nn.Tanh() if activation == "tanh" else torch.nn.ReLU(),
                              torch.nn.Linear(64, 2)).double()
    lin = [m for m in net if isinstance(m, torch.nn.Linear)]
    f = FastMLP([m.weight.detach().numpy() for m in lin], [m.bias.detach().numpy() for m in lin], activation, 5, (1,))
    X = np.random.default_rng(2).standard_normal((20, 5))
    feats = np.concatenate([X[:, [0, 2, 3, 4]], np.sin(X[:, [1]]), np.cos(X[:, [1]])], axis=1)
    with torch.no_grad():
        ref = net(torch.as_tensor(feats)).numpy()
    out = np.empty(2)
    for x, r in zip(X, ref):  # the shared scratch buffer carries nothing from one call to the next
        np.testing.assert_allclose(f(x), r, rtol=1e-12, atol=1e-13)
        assert f(x, out) is out
        np.testing.assert_allclose(out, r, rtol=1e-12, atol=1e-13)
    with pytest.raises(ValueError, match=r"x: expected shape \(5,\)"):
        f(X[:2])


def test_scalar_sample_weights_equal_closed_form_wls_and_leave_the_covariance_to_the_precisions():
    rng = np.random.default_rng(5)
    X, Y, P = _data(rng, N=60, nu=1)
    w = rng.uniform(0.1, 10.0, size=60)
    pi = GaussianMLPPolicy(3, 1, GlobalPolicyConfig(hidden=(), epochs=200, optimizer="lbfgs"))
    pi.fit(X, Y, P, weights=w)
    Phi = np.concatenate([X, np.ones((60, 1))], axis=1)
    sw = w * P[:, 0, 0]
    coef = np.linalg.solve(Phi.T @ (sw[:, None] * Phi), Phi.T @ (sw * Y[:, 0]))
    np.testing.assert_allclose(pi.mean(X)[:, 0], Phi @ coef, atol=1e-4)
    np.testing.assert_allclose(pi.cov, np.linalg.inv(P.mean(0)), rtol=1e-10)
    with pytest.raises(ValueError, match="weights"):
        pi.fit(X, Y, P, weights=-w)


def test_linearize_matches_the_network_along_a_trajectory():
    rng = np.random.default_rng(2)
    X, Y, P = _data(rng)
    pi = GaussianMLPPolicy(3, 2, GlobalPolicyConfig(hidden=(8,), epochs=2))
    pi.fit(X, Y, P)
    K, c = pi.linearize(X[:5])
    np.testing.assert_allclose(np.einsum("tux,tx->tu", K, X[:5]) + c, pi.mean(X[:5]), atol=1e-9)
    dx = 1e-4 * rng.standard_normal(3)
    np.testing.assert_allclose(pi.mean(X[0] + dx), K[0] @ (X[0] + dx) + c[0], atol=1e-7)


def test_save_load_round_trip_with_weights_only(tmp_path):
    rng = np.random.default_rng(3)
    X, Y, P = _data(rng)
    pi = GaussianMLPPolicy(3, 2, GlobalPolicyConfig(hidden=(8, 8), epochs=2, angle_indices=(0,)), action_low=-1, action_high=1)
    pi.fit(X, Y, P)
    path = pi.save(tmp_path / "pi.pt")
    torch.load(path, weights_only=True)
    back = GaussianMLPPolicy.load(path)
    np.testing.assert_array_equal(back.act(X), pi.act(X))
    np.testing.assert_array_equal(back.cov, pi.cov)


def test_same_seed_same_fit():
    rng = np.random.default_rng(4)
    X, Y, P = _data(rng)
    a, b = (GaussianMLPPolicy(3, 2, GlobalPolicyConfig(hidden=(8,), epochs=3, seed=5)) for _ in range(2))
    a.fit(X, Y, P)
    b.fit(X, Y, P)
    np.testing.assert_array_equal(a.mean(X), b.mean(X))


def test_bad_inputs_raise_naming_the_argument():
    pi = GaussianMLPPolicy(3, 2, GlobalPolicyConfig(hidden=(4,), epochs=1))
    with pytest.raises(ValueError, match="target_mean"):
        pi.fit(np.zeros((5, 3)), np.zeros((5, 3)), np.ones((5, 2, 2)))
    with pytest.raises(ValueError, match="obs"):
        pi.act(np.zeros(4))
    with pytest.raises(ValueError, match="hidden"):
        GlobalPolicyConfig(hidden=(0,))
