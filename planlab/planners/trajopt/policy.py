"""Time-varying linear feedback policy ``u_t = K_t (x_t - x̂_t) + k_t + û_t`` (gains act as u = K x).

LQR and iLQR (Li & Todorov 2004) return one: ``x̂``, ``û`` are the nominal trajectory, ``K_t`` the feedback gains and
``k_t`` the feedforward correction (zero once iLQR has converged onto its nominal).
"""

from __future__ import annotations

import numpy as np

from ...core.planning import Policy
from ...core.validation import as_float_array, check_bounds, check_in

__all__ = ["TimeVaryingLinearPolicy"]


class TimeVaryingLinearPolicy(Policy):
    r"""The iLQR / LQR controller ``u_t = K_t (x_t - \hat x_t) + k_t + \hat u_t``.

    The policy keeps a clock: each :meth:`act` call uses the gains of the current step and advances
    it; :meth:`reset` rewinds to step 0. :meth:`act_at` evaluates a given step without the clock.

    Parameters
    ----------
    K : array_like, shape (T, nu, nx)
        Feedback gains.
    k : array_like, shape (T, nu), optional
        Feedforward terms (default zeros).
    x_ref : array_like, shape (T, nx) or (T + 1, nx), optional
        Nominal states ``x̂_t`` (default zeros; a final state is ignored).
    u_ref : array_like, shape (T, nu), optional
        Nominal controls ``û_t`` (default zeros).
    action_low, action_high : float or array_like (nu,), optional
        When given, actions are clipped to this box.
    after_end : {"hold", "error"}
        Past step ``T - 1``: keep using the last step's terms (``"hold"``) or raise.

    Examples
    --------
    >>> import numpy as np
    >>> pi = TimeVaryingLinearPolicy(K=-np.ones((3, 1, 2)), u_ref=np.full((3, 1), 0.5))
    >>> pi.act(np.array([1.0, 1.0]))
    array([-1.5])
    """

    def __init__(self, K, k=None, x_ref=None, u_ref=None, *, action_low=None, action_high=None,
                 after_end: str = "hold"):
        K = as_float_array("K", K, ndim=3)
        T, nu, nx = K.shape
        if T < 1 or nu < 1 or nx < 1:
            raise ValueError(f"K: expected shape (T, nu, nx) with positive sizes, got {K.shape}")
        k = np.zeros((T, nu)) if k is None else as_float_array("k", k, shape=(T, nu))
        u_ref = np.zeros((T, nu)) if u_ref is None else as_float_array("u_ref", u_ref, shape=(T, nu))
        if x_ref is None:
            x_ref = np.zeros((T, nx))
        else:
            x_ref = as_float_array("x_ref", x_ref, ndim=2)
            if x_ref.shape not in ((T, nx), (T + 1, nx)):
                raise ValueError(f"x_ref: expected shape ({T}, {nx}) or ({T + 1}, {nx}), got {x_ref.shape}")
            x_ref = x_ref[:T]
        check_in("after_end", after_end, {"hold", "error"})
        self.low = self.high = None
        if action_low is not None or action_high is not None:
            lo = -np.inf if action_low is None else action_low
            hi = np.inf if action_high is None else action_high
            self.low, self.high = check_bounds("action_low", lo, "action_high", hi, nu)
        self.K, self.k, self.x_ref, self.u_ref = (np.array(a, dtype=np.float64) for a in (K, k, x_ref, u_ref))
        for a in (self.K, self.k, self.x_ref, self.u_ref):
            a.setflags(write=False)
        self.horizon, self.action_dim, self.state_dim = T, nu, nx
        self.after_end = after_end
        self.t = 0

    def reset(self) -> None:
        """Rewind the clock to step 0."""
        self.t = 0

    def act_at(self, t: int, obs) -> np.ndarray:
        """Action(s) of step ``t`` for state(s) ``obs`` (..., nx) -> (..., nu), without moving the clock."""
        x = as_float_array("obs", obs)
        if x.ndim == 0 or x.shape[-1] != self.state_dim:
            raise ValueError(f"obs: expected shape (..., {self.state_dim}), got {x.shape}")
        t = int(t)
        if t < 0:
            raise ValueError(f"t: expected a step >= 0, got {t}")
        if t >= self.horizon:
            if self.after_end == "error":
                raise IndexError(f"t: the policy has {self.horizon} steps, got step {t}")
            t = self.horizon - 1
        u = (x - self.x_ref[t]) @ self.K[t].T + self.k[t] + self.u_ref[t]
        if self.low is not None:
            u = np.clip(u, self.low, self.high)
        return u

    def act(self, obs) -> np.ndarray:
        """Action(s) of the current step; advances the clock by one."""
        u = self.act_at(self.t, obs)
        self.t += 1
        return u

    def rollout(self, dynamics, x0) -> tuple[np.ndarray, np.ndarray]:
        """Run the policy through ``dynamics`` from ``x0`` (nx,) for its T steps.

        Returns
        -------
        states : ndarray (T + 1, nx)
        actions : ndarray (T, nu)
        """
        x = dynamics.check_state(x0, "x0")
        if x.shape != (self.state_dim,):
            raise ValueError(f"x0: expected shape ({self.state_dim},), got {x.shape}")
        X = np.empty((self.horizon + 1, self.state_dim))
        U = np.empty((self.horizon, self.action_dim))
        X[0] = x
        for t in range(self.horizon):
            U[t] = self.act_at(t, X[t])
            X[t + 1] = np.asarray(dynamics.step(X[t][None], U[t][None]), dtype=np.float64)[0]
        return X, U

    def __repr__(self) -> str:
        return f"TimeVaryingLinearPolicy(T={self.horizon}, nx={self.state_dim}, nu={self.action_dim})"
