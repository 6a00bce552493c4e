r"""Goal-relative input features of a goal-conditioned policy (the 2-link reacher), with their Jacobian and
a compiled version for the torch-free forward pass.

A policy that sees the raw target ``(g_x, g_y)`` next to the joint angles has to learn forward kinematics
before it can tell how far the target is, and with a few dozen training goals it memorises them instead.
:class:`ReachFeatures` hands the network what a reaching controller acts on: with ``obs = (q1, q2, q̇1, q̇2,
g_x, g_y)``, the fingertip ``p(q) = (l1 cos q1 + l2 cos(q1 + q2), l1 sin q1 + l2 sin(q1 + q2))`` and
``R(a)`` the rotation by ``a``,

.. math::

    φ(obs) = (\sin q_1, \sin q_2, \cos q_1, \cos q_2,\; \dot q_1, \dot q_2,\; e,\; R(-q_1 - q_2)\, e,\;
              R(-q_1)\, g,\; J(q)\, \dot q), \qquad e = g - p(q),

14 numbers: the joint configuration, the joint velocities, the error to the target in the world frame and
in the frame of the second link, the target in the frame of the first link, and the fingertip velocity.
With ``fine = s`` two more, ``tanh(s · R(-q_1 - q_2) e)``: the error near the target at a gain the network
does not have to learn (the success radius is 0.05, the workspace 4 wide; with inputs normalised to unit
spread a few hundredths of error are otherwise a small signal).
:meth:`ReachFeatures.jacobian` is ``∂φ/∂obs`` in closed form (the C-step of GPS linearises the policy
through it; a test compares it with finite differences), and :func:`reach_features_kernel` computes φ for
one state in numba, so :class:`MappedMLP` runs ``MLP(φ(obs))`` compiled without torch.

Named maps (``GlobalPolicyConfig.feature_map``): ``"reach2link"`` — unit links, ``obs_dim = 6``, 14
features; ``"reach2link_fine"`` — the same plus the two fine-error features with ``s = 10``.
"""

from __future__ import annotations

import numpy as np

from ...core.validation import as_float_array, check_positive
from ...dynamics.compiled.jit import jit
from ..fast_mlp import FastMLP

__all__ = ["ReachFeatures", "MappedMLP", "reach_features_kernel", "feature_map", "FEATURE_MAPS"]


@jit
def reach_features_kernel(x, links, out):  # pragma: no cover - compiled
    """φ of one observation ``x`` (6,) into ``out`` (14 or 16,); ``links`` = (l1, l2, fine gain or 0). Same
    order as :class:`ReachFeatures`."""
    l1, l2 = links[0], links[1]
    s1, c1 = np.sin(x[0]), np.cos(x[0])
    s2, c2 = np.sin(x[1]), np.cos(x[1])
    s12, c12 = np.sin(x[0] + x[1]), np.cos(x[0] + x[1])
    px, py = l1 * c1 + l2 * c12, l1 * s1 + l2 * s12
    ex, ey = x[4] - px, x[5] - py
    out[0], out[1], out[2], out[3] = s1, s2, c1, c2
    out[4], out[5] = x[2], x[3]
    out[6], out[7] = ex, ey
    out[8], out[9] = c12 * ex + s12 * ey, -s12 * ex + c12 * ey
    out[10], out[11] = c1 * x[4] + s1 * x[5], -s1 * x[4] + c1 * x[5]
    out[12] = -py * x[2] - l2 * s12 * x[3]
    out[13] = px * x[2] + l2 * c12 * x[3]
    if out.shape[0] > 14:
        out[14], out[15] = np.tanh(links[2] * out[8]), np.tanh(links[2] * out[9])


class ReachFeatures:
    """``φ``: (..., 6) observations ``(q1, q2, q̇1, q̇2, g_x, g_y)`` -> (..., 14) features (module docstring).

    Parameters
    ----------
    l1, l2 : float
        Link lengths of the arm (those of :class:`~planlab.dynamics.systems.two_link_arm.TwoLinkArm`).
    fine : float, optional
        Gain ``s`` of the two features ``tanh(s · R(-q1 - q2) e)`` (None: not added).
    """

    obs_dim = 6

    def __init__(self, l1: float = 1.0, l2: float = 1.0, fine: float | None = None):
        self.fine = None if fine is None else check_positive("fine", fine)
        self.links = np.array([check_positive("l1", l1), check_positive("l2", l2), fine or 0.0], dtype=np.float64)
        self.dim = 14 if fine is None else 16

    def _check(self, obs) -> np.ndarray:
        x = as_float_array("obs", obs)
        if x.ndim == 0 or x.shape[-1] != self.obs_dim:
            raise ValueError(f"obs: expected shape (..., {self.obs_dim}), got {x.shape}")
        return x

    def _parts(self, obs):
        """The checked observation and the quantities φ and its Jacobian share."""
        x = self._check(obs)
        l2 = self.links[1]
        q1, q2, d1, d2, gx, gy = (x[..., i] for i in range(6))
        s1, c1, s2, c2 = np.sin(q1), np.cos(q1), np.sin(q2), np.cos(q2)
        s12, c12 = np.sin(q1 + q2), np.cos(q1 + q2)
        px, py = self.links[0] * c1 + l2 * c12, self.links[0] * s1 + l2 * s12
        return x, l2, (d1, d2, gx, gy), (s1, c1, s2, c2, s12, c12), (px, py, gx - px, gy - py)

    def __call__(self, obs) -> np.ndarray:
        _, l2, (d1, d2, gx, gy), (s1, c1, s2, c2, s12, c12), (px, py, ex, ey) = self._parts(obs)
        f1, f2 = c12 * ex + s12 * ey, -s12 * ex + c12 * ey
        cols = [s1, s2, c1, c2, d1, d2, ex, ey, f1, f2, c1 * gx + s1 * gy, -s1 * gx + c1 * gy,
                -py * d1 - l2 * s12 * d2, px * d1 + l2 * c12 * d2]
        if self.fine is not None:
            cols += [np.tanh(self.fine * f1), np.tanh(self.fine * f2)]
        return np.stack(cols, axis=-1)

    def jacobian(self, obs) -> np.ndarray:
        """``∂φ/∂obs``: (..., 6) -> (..., dim, 6), in closed form."""
        x, l2, (d1, d2, gx, gy), (s1, c1, s2, c2, s12, c12), (px, py, ex, ey) = self._parts(obs)
        J = np.zeros(x.shape[:-1] + (self.dim, self.obs_dim))
        J[..., 0, 0], J[..., 1, 1], J[..., 2, 0], J[..., 3, 1] = c1, c2, -s1, -s2
        J[..., 4, 2], J[..., 5, 3] = 1.0, 1.0
        # e = g - p(q): ∂e/∂q1 = (py, -px), ∂e/∂q2 = (l2 s12, -l2 c12), ∂e/∂g = I
        de = np.zeros(x.shape[:-1] + (2, 6))
        de[..., 0, 0], de[..., 1, 0] = py, -px
        de[..., 0, 1], de[..., 1, 1] = l2 * s12, -l2 * c12
        de[..., 0, 4], de[..., 1, 5] = 1.0, 1.0
        J[..., 6:8, :] = de
        # f = R(-a) e with a = q1 + q2: ∂f = R(-a) ∂e + (f_2, -f_1) ∂a
        f1, f2 = c12 * ex + s12 * ey, -s12 * ex + c12 * ey
        J[..., 8, :] = c12[..., None] * de[..., 0, :] + s12[..., None] * de[..., 1, :]
        J[..., 9, :] = -s12[..., None] * de[..., 0, :] + c12[..., None] * de[..., 1, :]
        J[..., 8, 0] += f2
        J[..., 8, 1] += f2
        J[..., 9, 0] -= f1
        J[..., 9, 1] -= f1
        # h = R(-q1) g
        h1, h2 = c1 * gx + s1 * gy, -s1 * gx + c1 * gy
        J[..., 10, 0], J[..., 10, 4], J[..., 10, 5] = h2, c1, s1
        J[..., 11, 0], J[..., 11, 4], J[..., 11, 5] = -h1, -s1, c1
        # v = J(q) q̇ = (-py q̇1 - l2 s12 q̇2, px q̇1 + l2 c12 q̇2)
        J[..., 12, 0], J[..., 12, 1] = -px * d1 - l2 * c12 * d2, -l2 * c12 * (d1 + d2)
        J[..., 12, 2], J[..., 12, 3] = -py, -l2 * s12
        J[..., 13, 0], J[..., 13, 1] = -py * d1 - l2 * s12 * d2, -l2 * s12 * (d1 + d2)
        J[..., 13, 2], J[..., 13, 3] = px, l2 * c12
        if self.fine is not None:  # d tanh(s f) = s (1 - tanh²(s f)) df
            for i, f in ((14, f1), (15, f2)):
                J[..., i, :] = (self.fine * (1.0 - np.tanh(self.fine * f) ** 2))[..., None] * J[..., i - 6, :]
        return J

    def compiled(self, x: np.ndarray, out: np.ndarray) -> np.ndarray:
        """φ of one float64 observation (6,) into ``out`` (dim,) by :func:`reach_features_kernel` (no validation)."""
        reach_features_kernel(x, self.links, out)
        return out


#: Named feature maps: name -> factory(obs_dim) (``GlobalPolicyConfig.feature_map``).
FEATURE_MAPS = {"reach2link": ReachFeatures, "reach2link_fine": lambda: ReachFeatures(fine=10.0)}


def feature_map(name: str, obs_dim: int):
    """The feature map registered as ``name`` for policy inputs of length ``obs_dim`` (checked)."""
    if name not in FEATURE_MAPS:
        raise ValueError(f"feature_map: expected one of {sorted(FEATURE_MAPS)}, got {name!r}")
    fm = FEATURE_MAPS[name]()
    if fm.obs_dim != obs_dim:
        raise ValueError(f"obs_dim: feature map {name!r} expects {fm.obs_dim} inputs, got {obs_dim}")
    return fm


class MappedMLP:
    """``MLP(φ(x))`` without torch: the feature map's compiled kernel, then :class:`FastMLP` on the features.

    Same interface as :class:`FastMLP` (``__call__`` one state compiled, :meth:`forward` a numpy batch,
    :meth:`warmup`); ``weights``, ``biases`` act on the features.
    """

    def __init__(self, fmap, weights, biases, activation: str, low=None, high=None):
        self.fmap = fmap
        self.mlp = FastMLP(weights, biases, activation, fmap.dim, (), low=low, high=high)
        self.obs_dim, self.action_dim = fmap.obs_dim, self.mlp.action_dim
        self._xshape = (self.obs_dim,)
        self._buf = np.zeros(fmap.dim)

    def forward(self, X) -> np.ndarray:
        """numpy forward of observations (..., obs_dim) -> clipped outputs (..., nu)."""
        return self.mlp.forward(self.fmap(X))

    def __call__(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Compiled forward of one float64 observation (obs_dim,) -> (nu,); not thread-safe (shared buffers)."""
        if x.shape != self._xshape:
            raise ValueError(f"x: expected shape {self._xshape}, got {x.shape}")
        self.fmap.compiled(x, self._buf)
        return self.mlp(self._buf, out)

    def warmup(self) -> None:
        """Compile (or load the cached kernels) now rather than at the first action."""
        self(np.zeros(self.obs_dim))
