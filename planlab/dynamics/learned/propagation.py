"""Particle propagation through a learned ensemble: trajectory sampling and expectation (PETS).

Uncertainty propagation through a rollout of P particles per action sequence, after Chua et al.\n2018 (PETS):

``"ts1"``
    At every step each particle is assigned a member by a fresh random permutation of all
    particles split into E equal groups (so each member sees B/E particles per step).
``"tsinf"``
    One random permutation at the start of a rollout fixes every particle's member for the whole
    horizon (particle ``perm[k * M + j]`` uses member ``k``, M = B/E).
``"expectation"``
    Every state goes through all members and moves to the mean of their predicted means (no
    sampling; a single particle per sequence suffices).

With a probabilistic model the TS modes also sample the member's Gaussian (aleatoric noise).
Every particle of every sequence goes through the network in one batched call per horizon step:
the only Python loop is over the horizon.
"""

from __future__ import annotations

import numpy as np
import torch

from ...core.seeding import SeedLike, make_rng

__all__ = ["member_assignment", "propagate"]


def member_assignment(n_members: int, n_particles: int, horizon: int, propagation: str,
                      rng: SeedLike = None) -> np.ndarray:
    """Members used by each particle at each step, (horizon, n_particles) int.

    Reproduces the assignment :func:`propagate` makes for ``n_particles = N * P`` particles when
    its permutation generator is seeded as here (positions in the elite list): TS∞ repeats one
    random permutation; TS1 draws a new one every step; expectation returns -1 (all members).

    Parameters
    ----------
    n_members : int
        K, the members used for prediction (the elites).
    n_particles : int
    horizon : int
    propagation : {"ts1", "tsinf", "expectation"}
    rng : seed or Generator
    """
    gen = torch.Generator().manual_seed(int(make_rng(rng).integers(0, 2**62, size=2)[0]))
    K = n_members
    M = -(-n_particles // K)
    out = torch.empty(horizon, n_particles, dtype=torch.long)
    if propagation == "expectation":
        return out.fill_(-1).numpy()
    perm = None
    for t in range(horizon):
        if perm is None or propagation == "ts1":
            perm = torch.randperm(K * M, generator=gen)
            slot_member = torch.arange(K * M) // M
            member = torch.empty(K * M, dtype=torch.long)
            member[perm] = slot_member
        out[t] = member[:n_particles]
    return out.numpy()


def propagate(model, x0: np.ndarray, U: np.ndarray, cost, gens: tuple, keep_states, mode: str):
    """Roll N action sequences out with P particles each through ``model``'s elite members.

    Parameters
    ----------
    model : LearnedDynamics
        Its ``features``, ``_forward_raw`` and ``_prop_params`` give the network's predictions.
    x0 : ndarray (N, nx)
    U : ndarray (N, H, nu)
    cost : Cost or None
    gens : (torch.Generator, torch.Generator)
        Member permutations; Gaussian noise.
    keep_states : False, True or "particles"
        No states, particle-mean states (N, H + 1, nx), or every particle's (N, P, H + 1, nx).
    mode : {"torch", "numpy", "reward", "none"}
        The cost's torch path, its numpy path, the learned reward (cost = -reward), or no cost.

    Returns
    -------
    states : ndarray or None
    costs : ndarray (N,) or None
        Mean over particles (NaN costs propagate).
    """
    N, H, nu = U.shape
    tgen, noise_gen = gens
    use_reward = mode == "reward"
    nx = model.state_dim
    ws, bs = model._prop_params()
    K = ws[0].shape[0]
    P = model.particles_for(N)
    prop = model.config.propagation
    sample = model.config.probabilistic and prop != "expectation"
    B = N * P
    M = -(-B // K) if prop != "expectation" else B  # particles per member slot
    S = K * M if prop != "expectation" else B  # slots (B rounded up to a multiple of K)
    # particle b = n * P + p belongs to sequence n; slot layout (K, M) for TS.
    x0_t = torch.as_tensor(x0, dtype=torch.float32)
    U_t = torch.as_tensor(U, dtype=torch.float32)
    seq_of_particle = torch.arange(B) // P
    if S > B:  # padding slots simulate copies of particle 0; their costs are dropped
        seq_of_particle = torch.cat([seq_of_particle, torch.zeros(S - B, dtype=torch.long)])
    perm = None
    if prop == "tsinf":
        perm = torch.randperm(S, generator=tgen)  # slot s holds particle perm[s]
        seq_slot = seq_of_particle[perm]
    else:
        seq_slot = seq_of_particle
    x = x0_t[seq_slot]  # (S, nx)
    U_slot = U_t[seq_slot]  # (S, H, nu) gathered once
    total = torch.zeros(S, dtype=torch.float32)
    traj = torch.empty(S, H + 1, nx, dtype=torch.float32) if keep_states else None
    if traj is not None:
        traj[:, 0] = x
    for t in range(H):
        u = U_slot[:, t]
        if prop == "ts1":
            perm = torch.randperm(S, generator=tgen)
            xin, uin = x[perm], u[perm]
        else:
            xin, uin = x, u
        if prop == "expectation":
            z = model.features(xin, uin)
            mean, var = model._forward_raw(z.unsqueeze(0).expand(K, *z.shape), ws, bs)
            mean = mean.mean(0)
        else:
            if t == 0 and P > 1:
                # all particles of a sequence start from the same (x0, u0): evaluate each member
                # once per sequence (N rows instead of N * P / K) and gather -- no recomputation
                seq_in = (seq_slot if perm is None or prop == "tsinf" else seq_slot[perm]).view(K, M, 1)
                z0 = model.features(x0_t, U_t[:, 0])
                mean0, var0 = model._forward_raw(z0.unsqueeze(0).expand(K, *z0.shape), ws, bs)
                idx = seq_in.expand(K, M, mean0.shape[-1])
                mean = mean0.gather(1, idx)
                var = var0.gather(1, idx) if var0 is not None else None
            else:
                z = model.features(xin, uin)
                mean, var = model._forward_raw(z.view(K, M, -1), ws, bs)
            mean = mean.reshape(S, -1)
            if sample:
                noise = torch.randn(mean.shape, generator=noise_gen)
                mean = torch.addcmul(mean, noise, var.reshape(S, -1).sqrt_())
        xn_in = xin + mean[:, :nx]
        if prop == "ts1":
            xn = torch.empty_like(xn_in)
            xn[perm] = xn_in
            rew = None
            if use_reward:
                rew = torch.empty(S)
                rew[perm] = mean[:, nx]
        else:
            xn = xn_in
            rew = mean[:, nx] if use_reward else None
        if use_reward:
            total -= rew
        elif mode == "torch":
            total += cost.running_torch(x, u, xn)
        elif mode == "numpy":
            c = cost.running(x.double().numpy(), u.double().numpy(), xn.double().numpy())
            total += torch.as_tensor(c, dtype=torch.float32)
        x = xn
        if traj is not None:
            traj[:, t + 1] = x
    if mode == "torch":
        total += cost.terminal_torch(x)
    elif mode == "numpy":
        total += torch.as_tensor(cost.terminal(x.double().numpy()), dtype=torch.float32)
    # back to particle order, drop padding, average over particles
    if prop == "tsinf":
        ordered = torch.empty_like(total)
        ordered[perm] = total
        total = ordered
        if traj is not None:
            tr = torch.empty_like(traj)
            tr[perm] = traj
            traj = tr
    costs = None if mode == "none" else total[:B].double().view(N, P).mean(1).numpy()
    states = None
    if traj is not None:
        states = traj[:B].double().view(N, P, H + 1, nx)
        states = (states if keep_states == "particles" else states.mean(1)).numpy()
    return states, costs
