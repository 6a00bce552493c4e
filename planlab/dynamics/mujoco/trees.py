"""Independent kinematic trees of a MuJoCo model, for finite differences that perturb several at once.

A MuJoCo model's bodies hang in kinematic trees (``model.ntree``; the world is no tree). When nothing
couples two trees, a step of one does not read the state or controls of the other: Reacher's arm and
its target (two slide joints), say. A finite-difference Jacobian can then perturb one state or control
entry of *each* tree in the same rollout and read each one's effect off its own tree's rows: the
columns are grouped so that no two in a group belong to the same tree, and the rollouts per point
drop from ``nx + nu`` to the largest number of columns of any one tree (Curtis, Powell & Reid 1974,
"On the estimation of sparse Jacobian matrices", J. Inst. Maths Applics 13).

:func:`tree_partition` decides from the compiled model, conservatively, and falls back to "one tree"
(no grouping) whenever it cannot prove that the trees are independent. Trees are coupled by:

* contacts: two geoms of different trees whose ``contype``/``conaffinity`` bits match (unless contacts
  are disabled), or an explicit contact ``<pair>`` between them;
* equality constraints, tendons, flexes and engine plugins (any of them: not analysed, refused);
* an actuator whose transmission reaches two trees (a slider-crank or a site with a reference site
  on another tree);
* MuJoCo's global callbacks (``mjcb_control``, ``mjcb_passive``, ...): Python code that may read any
  state; refused when one is installed at the time of the call.

Everything else MuJoCo computes per tree or per degree of freedom (the tree-sparse mass matrix, joint
limits, damping, gravity, fluid forces). One caveat: with constraints active (a joint at its limit)
MuJoCo's iterative constraint solver stops on a tolerance for the whole model, so a perturbation of
one tree can move another tree's result by about that tolerance — noise of the size an ungrouped
finite difference already carries (the solver's iterations change with any perturbation).
"""

from __future__ import annotations

import numpy as np

__all__ = ["tree_partition", "tree_partition_allowed", "column_groups"]

_CALLBACKS = ("control", "passive", "act_bias", "act_dyn", "act_gain", "contactfilter", "sensor", "time")


def _coupling(mj, m) -> str | None:
    """Why the trees of ``m`` may be coupled, or None when they are provably independent."""
    if not all(hasattr(m, a) for a in ("ntree", "body_treeid", "dof_treeid", "actuator_actnum")):
        return "this MuJoCo version does not list kinematic trees"
    if int(m.ntree) < 2:
        return "fewer than two kinematic trees"
    for what in ("neq", "ntendon", "nflex", "nplugin"):
        if int(getattr(m, what, 0)) > 0:
            return f"the model has {what[1:]} elements ({what} = {int(getattr(m, what))})"
    tree = np.asarray(m.body_treeid).reshape(-1)
    gtree = tree[np.asarray(m.geom_bodyid).reshape(-1)]
    for i in range(int(m.npair)):
        a, b = gtree[int(m.pair_geom1[i])], gtree[int(m.pair_geom2[i])]
        if a >= 0 and b >= 0 and a != b:
            return f"contact pair {i} joins trees {a} and {b}"
    if not (int(m.opt.disableflags) & int(mj.mjtDisableBit.mjDSBL_CONTACT)):
        ct = np.asarray(m.geom_contype, dtype=np.int64).reshape(-1)
        ca = np.asarray(m.geom_conaffinity, dtype=np.int64).reshape(-1)
        can = ((ct[:, None] & ca[None, :]) != 0) | ((ca[:, None] & ct[None, :]) != 0)
        cross = (gtree[:, None] >= 0) & (gtree[None, :] >= 0) & (gtree[:, None] != gtree[None, :])
        if np.any(can & cross):
            i, j = np.argwhere(can & cross)[0]
            return f"geoms {i} and {j} of different trees may collide"
    return None


def tree_partition_allowed(mj) -> bool:
    """Whether no MuJoCo callback is installed now (a callback may read any state: no grouping)."""
    for cb in _CALLBACKS:
        getter = getattr(mj, f"get_mjcb_{cb}", None)
        if getter is not None and getter() is not None:
            return False
    return True


def _actuator_tree(mj, m, a: int, body_tree) -> int:
    """The tree actuator ``a`` acts on (-1: none or several)."""
    trn = mj.mjtTrn
    kind = int(m.actuator_trntype[a])
    i0, i1 = (int(v) for v in np.asarray(m.actuator_trnid[a]).reshape(-1)[:2])
    if kind in (int(trn.mjTRN_JOINT), int(trn.mjTRN_JOINTINPARENT)):
        trees = {body_tree[int(m.jnt_bodyid[i0])]}
    elif kind == int(trn.mjTRN_BODY):
        trees = {body_tree[i0]}
    elif kind in (int(trn.mjTRN_SITE), int(trn.mjTRN_SLIDERCRANK)):
        trees = {body_tree[int(m.site_bodyid[i])] for i in (i0, i1) if i >= 0}
        trees.discard(-1)  # a reference site on the world moves no tree
    else:  # tendons (refused above) and anything newer: not analysed
        return -1
    return trees.pop() if len(trees) == 1 else -1


def tree_partition(mj, m) -> tuple[np.ndarray, np.ndarray, str | None]:
    """Tree of every state entry ``(qpos, qvel, act)`` and of every control.

    Returns ``(state_tree (nq + nv + na,), control_tree (nu,), reason)``: all zeros (one tree) with the
    reason when the trees may be coupled (see the module) or an entry belongs to no single tree; else
    the trees and None. Requires ``nq == nv`` (hinge and slide joints).
    """
    nq, nv, na, nu = int(m.nq), int(m.nv), int(m.na), int(m.nu)
    one = (np.zeros(nq + nv + na, dtype=np.int64), np.zeros(nu, dtype=np.int64))
    why = _coupling(mj, m)
    if why is not None:
        return one + (why,)
    body_tree = np.asarray(m.body_treeid).reshape(-1)
    dof_tree = np.asarray(m.dof_treeid).reshape(-1)
    if nq != nv:
        return one + ("quaternion joints (nq != nv)",)
    ctrl = np.array([_actuator_tree(mj, m, a, body_tree) for a in range(nu)], dtype=np.int64)
    if np.any(ctrl < 0):
        return one + (f"actuator {int(np.argmax(ctrl < 0))} acts on no single tree",)
    act = np.full(na, -1, dtype=np.int64)
    for a in range(nu):
        adr, num = int(m.actuator_actadr[a]), int(m.actuator_actnum[a])
        if adr >= 0:
            act[adr:adr + num] = ctrl[a]
    if np.any(act < 0):
        return one + ("an activation belongs to no actuator",)
    state = np.concatenate([dof_tree, dof_tree, act]).astype(np.int64)
    return state, ctrl, None


def column_groups(trees: np.ndarray) -> list[np.ndarray]:
    """Columns (indices into ``trees``) in groups with at most one column of each tree.

    Group ``g`` holds the ``g``-th column of every tree that has one, so there are as many groups as the
    largest tree has columns.
    """
    trees = np.asarray(trees)
    rank = np.empty(trees.size, dtype=np.int64)
    for t in np.unique(trees):
        idx = np.flatnonzero(trees == t)
        rank[idx] = np.arange(idx.size)
    return [np.flatnonzero(rank == g) for g in range(int(rank.max()) + 1 if rank.size else 0)]
