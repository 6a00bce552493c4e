"""MuJoCo models as planlab dynamics: batched rollouts through ``mujoco.rollout`` across threads.

The state of a :class:`MujocoDynamics` is MuJoCo's physics state ``x = (qpos, qvel, act)``
(``nq + nv + na``). One planlab step applies the control for ``frame_skip`` MuJoCo steps. Sensor
values (the model's own sensors and the tracked positions) are those MuJoCo computes *at* a state:
a rollout of ``H`` actions runs ``H * frame_skip + 1`` MuJoCo steps in one ``mujoco.rollout`` call and
reads the sensors of the first sub-step of each action (and of one extra sub-step after the last), so
states, sensors and costs of all candidates come from one pass over C code, in threads that release
the GIL (one ``MjData`` per thread).

Position- and velocity-stage sensors (``framepos``, ``jointpos``, ``velocimeter`` ...) are functions
of the state alone. Acceleration-stage sensors (``accelerometer``, ``touch``, actuator forces) also
depend on the control applied at that state; at the last state of a rollout they see the last action.

A simulation that MuJoCo finds unstable (it resets the data and warns) is detected from the
simulation time and reported as NaN states from that step on (a NaN cost; planners rank it last).
"""

from __future__ import annotations

import os

import numpy as np

from ...core.contracts import Cost, Dynamics, Rollout
from ...core.seeding import SeedLike
from ...core.validation import as_float_array, check_positive_int
from .cost import MujocoCost
from .loading import load_model, mj_rollout, position_sensor_name, require_mujoco
from .trajectory import MujocoTrajectory

__all__ = ["MujocoDynamics", "default_threads"]


def default_threads() -> int:
    """Cores this process may use (``os.sched_getaffinity`` where available)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _dof_names(mj, model, kind: str) -> list[str]:
    """Names of the qpos ("qpos") or qvel ("qvel") entries, from joint names."""
    names = []
    adr = model.jnt_qposadr if kind == "qpos" else model.jnt_dofadr
    total = model.nq if kind == "qpos" else model.nv
    for j in range(model.njnt):
        start = int(adr[j])
        end = int(adr[j + 1]) if j + 1 < model.njnt else total
        jn = mj.mj_id2name(model, mj.mjtObj.mjOBJ_JOINT, j) or f"joint{j}"
        names += [f"{kind}:{jn}"] if end - start == 1 else [f"{kind}:{jn}[{i}]" for i in range(end - start)]
    return names


class MujocoDynamics(Dynamics):
    """A MuJoCo model as a planlab :class:`~planlab.core.Dynamics`.

    Parameters
    ----------
    model_or_xml_path : str, os.PathLike, mujoco.MjSpec or mujoco.MjModel
        The MJCF file (or text, spec, compiled model); see :func:`~planlab.dynamics.mujoco.load_model`.
    frame_skip : int
        MuJoCo steps per planlab step (the control is held); ``dt = frame_skip * timestep``.
    positions : sequence of str
        World positions to track, ``"site:NAME"``, ``"body:NAME"`` or ``"geom:NAME"``; read them with
        :meth:`position` from :meth:`sensors` or inside a :class:`~planlab.dynamics.mujoco.MujocoCost`.
    nthread : int, optional
        Threads of the rollout pool (default: the cores this process may use); 1 runs on the
        calling thread.
    centered_jacobians : bool
        Default of :meth:`jacobians`: central differences (True) or forward differences (about half
        the simulation; what iLQR needs, faster).

    Attributes
    ----------
    model : mujoco.MjModel
    nq, nv, na, nsensordata : int
    frame_skip : int

    Notes
    -----
    Actions are MuJoCo's ``ctrl`` (``nu`` actuators); the action box is each actuator's
    ``ctrlrange`` where it is ``ctrllimited`` and unbounded elsewhere. Hinge joint angles are listed
    in ``angle_indices``.

    Examples
    --------
    >>> import numpy as np
    >>> xml = '''<mujoco><worldbody><body><joint name="hinge" type="hinge" axis="0 1 0"/>
    ...   <geom type="capsule" fromto="0 0 0 0 0 -0.5" size="0.05" mass="1"/></body></worldbody>
    ...   <actuator><motor joint="hinge" ctrlrange="-1 1"/></actuator></mujoco>'''
    >>> d = MujocoDynamics(xml, frame_skip=2, nthread=1)
    >>> d.state_dim, d.action_dim, d.step(np.zeros(2), np.array([0.5])).shape
    (2, 1, (2,))
    """

    def __init__(self, model_or_xml_path, frame_skip: int = 1, *, positions=(), nthread: int | None = None,
                 centered_jacobians: bool = True):
        mj = require_mujoco()
        if not isinstance(centered_jacobians, (bool, np.bool_)):
            raise TypeError(f"centered_jacobians: expected a bool, got {centered_jacobians!r}")
        self.centered_jacobians = bool(centered_jacobians)
        self._mj = mj
        self.model = load_model(model_or_xml_path, positions)
        m = self.model
        src = model_or_xml_path
        if isinstance(src, (str, os.PathLike)):  # same source, frame skip and positions: same sensor layout
            text = str(src) if str(src).lstrip().startswith("<") else os.path.abspath(os.fspath(src))
            self._model_key = (text, int(frame_skip), tuple(positions))
        else:
            self._model_key = None
        self.frame_skip = check_positive_int("frame_skip", frame_skip)
        if m.nu < 1:
            raise ValueError("model_or_xml_path: expected a model with at least one actuator (nu >= 1), got nu = 0")
        self.nq, self.nv, self.na, self.nsensordata = int(m.nq), int(m.nv), int(m.na), int(m.nsensordata)
        limited = np.asarray(m.actuator_ctrllimited, dtype=bool).reshape(-1)
        rng = np.asarray(m.actuator_ctrlrange, dtype=np.float64).reshape(m.nu, 2)
        lo = np.where(limited, rng[:, 0], -np.inf)
        hi = np.where(limited, rng[:, 1], np.inf)
        names = _dof_names(mj, m, "qpos") + _dof_names(mj, m, "qvel") + [f"act{i}" for i in range(self.na)]
        hinge = mj.mjtJoint.mjJNT_HINGE
        angles = [int(m.jnt_qposadr[j]) for j in range(m.njnt) if m.jnt_type[j] == hinge]
        act_names = [mj.mj_id2name(m, mj.mjtObj.mjOBJ_ACTUATOR, i) or f"ctrl{i}" for i in range(m.nu)]
        super().__init__(self.nq + self.nv + self.na, int(m.nu), lo, hi, float(m.opt.timestep) * self.frame_skip,
                         state_names=names, action_names=act_names, angle_indices=angles)
        self.positions = tuple(positions)
        self._position_slices: dict = {}
        # MuJoCo's full physics state: (time, qpos, qvel, act, history..., plugin...)
        self._spec = int(mj.mjtState.mjSTATE_FULLPHYSICS)
        self._nfull = int(mj.mj_stateSize(m, self._spec))
        data = mj.MjData(m)
        self._template = np.empty(self._nfull)
        mj.mj_getState(m, data, self._template, self._spec)
        self._x_slice = slice(1, 1 + self.state_dim)  # time first, then qpos, qvel, act
        self.nthread = check_positive_int("nthread", nthread if nthread is not None else default_threads())
        self._datas = [mj.MjData(m) for _ in range(self.nthread)]
        self._pool = mj_rollout.Rollout(nthread=self.nthread if self.nthread > 1 else 0)
        # small batches run on the calling thread: waking the pool costs more than it saves
        self._pool1 = mj_rollout.Rollout(nthread=0) if self.nthread > 1 else self._pool
        self._scratch = data

    # ------------------------------------------------------------------ layout
    def qpos(self, x):
        """``qpos`` part of states ``x`` (..., nx) -> (..., nq) (a view)."""
        return np.asarray(x)[..., : self.nq]

    def qvel(self, x):
        """``qvel`` part of states ``x`` (..., nx) -> (..., nv) (a view)."""
        return np.asarray(x)[..., self.nq:self.nq + self.nv]

    def state(self, qpos, qvel, act=None) -> np.ndarray:
        """The planlab state (nx,) of MuJoCo's ``qpos`` (nq,), ``qvel`` (nv,) and ``act`` (na,)."""
        qp = as_float_array("qpos", qpos, shape=(self.nq,))
        qv = as_float_array("qvel", qvel, shape=(self.nv,))
        ac = np.zeros(self.na) if act is None else as_float_array("act", act, shape=(self.na,))
        return np.concatenate([qp, qv, ac])

    def sensor_slice(self, name: str) -> slice:
        """Where the sensor ``name`` sits in the sensor values (nsensordata,)."""
        mj = self._mj
        i = mj.mj_name2id(self.model, mj.mjtObj.mjOBJ_SENSOR, name)
        if i < 0:
            known = [mj.mj_id2name(self.model, mj.mjtObj.mjOBJ_SENSOR, k) for k in range(self.model.nsensor)]
            raise ValueError(f"name: expected a sensor of the model ({', '.join(map(str, known))}), got {name!r}")
        adr = int(self.model.sensor_adr[i])
        return slice(adr, adr + int(self.model.sensor_dim[i]))

    def position_slice(self, spec: str) -> slice:
        """Where the tracked position ``"kind:NAME"`` sits in the sensor values (3 entries)."""
        cached = self._position_slices.get(spec)
        if cached is not None:
            return cached
        if spec not in self.positions:
            raise ValueError(f"spec: expected a tracked position {self.positions} (pass positions=...), got {spec!r}")
        sl = self._position_slices[spec] = self.sensor_slice(position_sensor_name(spec))
        return sl

    def position(self, s, spec: str) -> np.ndarray:
        """World position of ``"kind:NAME"`` from sensor values ``s`` (..., nsensordata) -> (..., 3)."""
        return np.asarray(s)[..., self.position_slice(spec)]

    # ------------------------------------------------------------------ simulation
    def _full_states(self, x: np.ndarray) -> np.ndarray:
        full = np.empty((x.shape[0], self._nfull))
        full[:] = self._template
        full[:, self._x_slice] = x
        return full

    def simulate(self, x0, actions, *, sensors: bool = False):
        """Roll ``actions`` out from ``x0`` in one ``mujoco.rollout`` call (no termination, no cost).

        Parameters
        ----------
        x0 : ndarray, shape (N, nx)
        actions : ndarray, shape (N, H, nu)
            Used as given (MuJoCo clamps controls to limited ``ctrlrange`` itself).
        sensors : bool
            Also return the sensor values at every state.

        Returns
        -------
        states : ndarray, shape (N, H + 1, nx)
            NaN from the step at which MuJoCo found the simulation unstable.
        sensordata : ndarray, shape (N, H + 1, nsensordata), only when ``sensors``
        """
        N, H, _ = actions.shape
        k = self.frame_skip
        ctrl = np.repeat(actions, k, axis=1) if k > 1 else actions
        if sensors:  # one extra sub-step: the sensors of the last state
            ctrl = np.concatenate([ctrl, actions[:, -1:]], axis=1)
        ctrl = np.ascontiguousarray(ctrl, dtype=np.float64)
        nstep = ctrl.shape[1]
        out_state = np.empty((N, nstep, self._nfull))
        out_sens = np.empty((N, nstep, self.nsensordata))
        pool, datas = self._pool_for(N)
        pool.rollout([self.model] * N, datas, self._full_states(x0), ctrl, nstep=nstep, state=out_state,
                           sensordata=out_sens, skip_checks=True)
        states = np.empty((N, H + 1, self.state_dim))
        states[:, 0] = x0
        states[:, 1:] = out_state[:, k - 1:H * k:k, self._x_slice]
        # MuJoCo resets unstable simulations (time back to 0): the time of sub-step j must be (j + 1) * timestep
        times = out_state[:, k - 1:H * k:k, 0]
        expect = (np.arange(1, H + 1) * k) * float(self.model.opt.timestep)
        bad = np.abs(times - expect) > 1e-9 * expect  # also True for NaN times
        bad |= np.isnan(times)
        if bad.any() or not np.isfinite(states).all():
            bad |= ~np.isfinite(states[:, 1:]).all(axis=-1)
            first = np.where(bad.any(axis=1), bad.argmax(axis=1), H)
            mask = np.arange(H)[None, :] >= first[:, None]
            states[:, 1:][mask] = np.nan
        if not sensors:
            return states
        sens = out_sens[:, ::k][:, :H + 1]
        return states, sens

    #: batches smaller than this run on the calling thread
    small_batch = 8

    def _pool_for(self, n: int):
        """The rollout pool and its MjData list for a batch of ``n``."""
        return (self._pool1, self._datas[:1]) if n < self.small_batch else (self._pool, self._datas)

    def _flat(self, x, u):
        x = self.check_state(x, "x")
        u = as_float_array("u", u)
        if u.ndim == 0 or u.shape[-1] != self.action_dim:
            raise ValueError(f"u: expected shape (..., {self.action_dim}), got {u.shape}")
        if x.shape[:-1] == u.shape[:-1]:
            batch = x.shape[:-1]
            return x.reshape(-1, self.state_dim), u.reshape(-1, self.action_dim), batch
        batch = np.broadcast_shapes(x.shape[:-1], u.shape[:-1])
        xf = np.broadcast_to(x, batch + (self.state_dim,)).reshape(-1, self.state_dim)
        uf = np.broadcast_to(u, batch + (self.action_dim,)).reshape(-1, self.action_dim)
        return xf, uf, batch

    def step(self, x, u, rng=None) -> np.ndarray:
        """Next state(s) after ``frame_skip`` MuJoCo steps. ``x``: (..., nx), ``u``: (..., nu) -> (..., nx)."""
        xf, uf, batch = self._flat(x, u)
        return self.simulate(xf, uf[:, None, :])[:, 1].reshape(batch + (self.state_dim,))

    def sensors(self, x, u=None) -> np.ndarray:
        """Sensor values at states ``x`` (..., nx) -> (..., nsensordata).

        ``u`` (..., nu) is the control acceleration-stage sensors see (default: the box centre, 0 if unbounded).
        """
        if u is None:
            u = np.clip(np.zeros(self.action_dim), self.action_low, self.action_high)
        xf, uf, batch = self._flat(x, u)
        ctrl = np.ascontiguousarray(uf[:, None, :])
        out_state = np.empty((xf.shape[0], 1, self._nfull))
        out = np.empty((xf.shape[0], 1, self.nsensordata))
        pool, datas = self._pool_for(xf.shape[0])
        pool.rollout([self.model] * xf.shape[0], datas, self._full_states(xf), ctrl, nstep=1, state=out_state,
                           sensordata=out, skip_checks=True)
        return out[:, 0].reshape(batch + (self.nsensordata,))

    # ------------------------------------------------------------------ termination and costs
    #: Whether :meth:`terminated_with` reads sensor values (then :meth:`terminated` computes them).
    termination_reads_sensors = False

    def terminated_with(self, x: np.ndarray, s: np.ndarray | None) -> np.ndarray:
        """Terminal states from states ``x`` (..., nx) and their sensor values ``s`` -> bool (...)."""
        return np.zeros(np.shape(x)[:-1], dtype=bool)

    def terminated(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        s = self.sensors(x) if self.termination_reads_sensors else None
        return self.terminated_with(x, s)

    def rollout(self, x0, actions, cost: Cost | None = None, *, rng: SeedLike = None) -> Rollout:
        """Roll N action sequences out in one batched MuJoCo pass (see :meth:`Dynamics.rollout`).

        A :class:`~planlab.dynamics.mujoco.MujocoCost` of this model is evaluated on the states and
        sensor values of that same pass; any other cost on the states.

        Returns
        -------
        Rollout
            ``states`` (N, H + 1, nx), ``costs`` (N,) or None, ``terminated`` (N,).
        """
        U = self.check_actions(actions)
        N, H, _ = U.shape
        x = self._start_states(x0, N)
        U = np.clip(U, self.action_low, self.action_high)
        own = isinstance(cost, MujocoCost) and self.shares_model(cost.dynamics)
        need_s = self.termination_reads_sensors or (own and cost.reads_sensors)
        if need_s:
            states, sens = self.simulate(x, U, sensors=True)
        else:
            states, sens = self.simulate(x, U), None
        term = self.terminated_with(states, sens)  # (N, H + 1)
        term = term | np.isnan(states).any(axis=-1)
        first = np.where(term.any(axis=1), term.argmax(axis=1), H + 1)  # first terminal index
        steps = np.arange(H + 1)[None, :]
        hold = steps > first[:, None]
        if hold.any():  # a terminal state is held for the rest of the horizon
            idx = np.minimum(steps, first[:, None])
            states = np.take_along_axis(states, idx[..., None], axis=1)
            if sens is not None:
                sens = np.take_along_axis(sens, idx[..., None], axis=1)
        total = None
        if cost is not None:
            xs, xn = states[:, :-1], states[:, 1:]
            if own:
                run = cost.running_with(xs, U, xn, None if sens is None else sens[:, 1:])
                fin = cost.terminal_with(states[:, -1], None if sens is None else sens[:, -1])
            else:
                run = np.asarray(cost.running(xs.reshape(N * H, -1), U.reshape(N * H, -1),
                                              xn.reshape(N * H, -1))).reshape(N, H)
                fin = cost.terminal(states[:, -1])
            counted = steps[:, :H] < first[:, None]  # cost of steps taken from a non-terminal state
            total = np.where(counted, run, 0.0).sum(axis=1) + fin
            nan_rows = np.isnan(states).any(axis=(1, 2))
            total = np.where(nan_rows, np.nan, total)
        return Rollout(states, total, first <= H)

    def shares_model(self, other) -> bool:
        """Whether ``other`` is this model or one built from the same file or MJCF text, frame skip and
        tracked positions (so its states and sensor values mean the same: a cost built on it may be
        evaluated on this model's rollouts)."""
        if other is self:
            return True
        key = getattr(other, "_model_key", None)
        return isinstance(other, MujocoDynamics) and key is not None and key == self._model_key

    # ------------------------------------------------------------------ derivatives
    #: Finite differences through rollouts (RK4 models) perturb one entry of each independent kinematic
    #: tree in the same rollout (:mod:`~planlab.dynamics.mujoco.trees`); False perturbs one entry at a time.
    grouped_jacobians = True

    def jacobians(self, x, u, *, eps: float = 1e-6, centered: bool | None = None):
        """``A = d x_next / d x`` and ``B = d x_next / d u`` by MuJoCo's ``mjd_transitionFD``.

        The Jacobians of the ``frame_skip`` sub-steps are chained: ``A = A_k ... A_1`` and
        ``B = sum_j A_k ... A_{j+1} B_j``.

        Parameters
        ----------
        x : ndarray, shape (T, nx) or (nx,)
        u : ndarray, shape (T, nu) or (nu,)
        centered : bool, optional
            Central (True) or forward differences; default ``centered_jacobians`` of the model.

        Returns
        -------
        A : ndarray, shape (T, nx, nx)  (or (nx, nx))
        B : ndarray, shape (T, nx, nu)  (or (nx, nu))

        Raises
        ------
        NotImplementedError
            For models with quaternion joints (``nq != nv``): MuJoCo differentiates in the tangent
            space, planlab's state holds ``qpos``.
        """
        from .derivatives import transition_jacobians

        return transition_jacobians(self, x, u, eps=eps,
                                    centered=self.centered_jacobians if centered is None else bool(centered))

    def trajectory_stepper(self, cost: Cost) -> MujocoTrajectory:
        """Single-trajectory rollouts and line search for iLQR (``derivatives="fd"``), stepped in C;
        see :class:`~planlab.dynamics.mujoco.trajectory.MujocoTrajectory`. Not thread-safe (one ``MjData``)."""
        return MujocoTrajectory(self, cost)

    def close(self) -> None:
        """Stop the rollout thread pool (also done when the model is garbage-collected)."""
        for name in ("_pool", "_pool1"):
            pool = getattr(self, name, None)
            if pool is not None and hasattr(pool, "close"):
                pool.close()
            setattr(self, name, None)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(nq={self.nq}, nv={self.nv}, na={self.na}, nu={self.action_dim}, "
                f"frame_skip={self.frame_skip}, dt={self.dt:g}, nthread={self.nthread})")
