"""The sampling planners' noise: ziggurat normals from raw words, checked against scipy's normal."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.special
import scipy.stats

from planlab.dynamics import Pendulum
from planlab.planners.sampling import SequenceEvaluator, WordNoise, draw_noise, draw_words
from planlab.planners.sampling import ziggurat as _ziggurat


def test_ziggurat_layers_have_equal_area_and_close_at_the_peak():
    x, k, w, f = _ziggurat.ziggurat_tables()
    v = _ziggurat.ZIG_V
    # base strip: rectangle [0, r] x [0, f(r)] plus the tail beyond r
    tail = np.sqrt(np.pi / 2) * scipy.special.erfc(_ziggurat.ZIG_R / np.sqrt(2))
    assert _ziggurat.ZIG_R * f[1] + tail == pytest.approx(v, rel=1e-9)
    areas = x[1:256] * (f[2:257] - f[1:256])
    np.testing.assert_allclose(areas, v, rtol=1e-8)
    assert np.all(np.diff(x[1:]) < 0) and x[256] == 0


def test_ziggurat_normals_match_scipy_normal_distribution():
    rng = np.random.default_rng(123)
    words, key = draw_words(rng, 400_000)
    z = _ziggurat.normals(words, key)
    assert scipy.stats.kstest(z, "norm").pvalue > 1e-3
    assert abs(z.mean()) < 5 * np.sqrt(1 / z.size)
    assert abs(z.var() - 1) < 5 * np.sqrt(2 / z.size)
    # the rare tail and wedge paths: tail mass beyond r and beyond 2.5 as scipy says (binomial 5 sigma)
    for a in (2.5, _ziggurat.ZIG_R):
        p = 2 * scipy.stats.norm.sf(a)
        assert abs(np.mean(np.abs(z) > a) - p) < 5 * np.sqrt(p * (1 - p) / z.size)


def test_ziggurat_normal_depends_only_on_its_position():
    rng = np.random.default_rng(7)
    words, key = draw_words(rng, 5000)
    allz = _ziggurat.normals(words, key)
    perm = rng.permutation(5000)
    np.testing.assert_array_equal(_ziggurat.normals(words, key, perm), allz[perm])


def test_interpreted_ziggurat_equals_the_compiled_one():
    rng = np.random.default_rng(3)
    words, key = draw_words(rng, 3000)
    pos = np.arange(3000, dtype=np.int64)
    out = np.empty(3000)
    with np.errstate(over="ignore"):
        _ziggurat.fill_normals.py_func(words, np.uint64(key), pos, out)
    np.testing.assert_allclose(out, _ziggurat.normals(words, key), rtol=1e-15, atol=0)


def test_fused_kernel_forms_the_same_normals_as_word_noise_rows():
    sys_ = Pendulum()
    ev = SequenceEvaluator(sys_, sys_.default_cost())
    noises = draw_noise(np.random.default_rng(0), [13, 22], 9, 1)
    assert all(isinstance(n, WordNoise) for n in noises)
    mean, std = np.full((9, 1), 0.3), np.full((9, 1), 1.5)
    x0 = np.array([1.0, 0.5])
    for n in noises:
        c_words, U_words = ev.sampled_costs(x0, mean, std, n, return_actions=True)
        c_arr, U_arr = ev.sampled_costs(x0, mean, std, n.array(), return_actions=True)
        np.testing.assert_array_equal(U_words, U_arr)
        np.testing.assert_array_equal(c_words, c_arr)
        np.testing.assert_array_equal(n.take([4, 1]), n.array()[[4, 1]])


def test_colored_draw_noise_has_unit_variance():
    (y,) = draw_noise(np.random.default_rng(1), [20000], 16, 2, beta=2.0)
    assert y.shape == (20000, 16, 2)
    np.testing.assert_allclose(y.var(axis=0), 1.0, atol=0.05)
    assert np.mean(y[:, 1:] * y[:, :-1]) > 0.3


def test_fused_explicit_sequence_costs_equal_the_fused_rollout():
    from planlab.envs.models import model_for

    for env_id, x0 in (("Pendulum-v1", np.array([2.0, 1.0])), ("CartPole-v1", np.array([0.0, 0.1, 0.05, 0.0]))):
        d, c = model_for(env_id)
        ev = SequenceEvaluator(d, c)
        rng = np.random.default_rng(0)
        U = d.clip_action(rng.uniform(d.action_low, d.action_high, (9, 25, 1)))
        np.testing.assert_array_equal(ev.costs(x0, U), d.rollout_cost(x0, U, c))


@pytest.mark.parametrize("planner", ["cem", "icem", "mppi"])
def test_numba_disabled_gives_the_same_plan(monkeypatch, planner):
    from planlab.planners import make_planner

    sys_ = Pendulum()
    opts = dict(horizon=6, population=30, seed=4)
    if planner != "mppi":
        opts.update(elites=4, iterations=3)
    x0 = np.array([2.5, -0.3])
    fast = make_planner(planner, sys_, sys_.default_cost(), **opts)
    assert fast._eval.fused
    a = fast.plan(x0)
    monkeypatch.setenv("PLANLAB_DISABLE_NUMBA", "1")
    slow = make_planner(planner, sys_, sys_.default_cost(), **opts)
    assert not slow._eval.fused
    b = slow.plan(x0)
    np.testing.assert_allclose(b.actions, a.actions, rtol=1e-12, atol=1e-12)
    assert b.cost == pytest.approx(a.cost, rel=1e-12)


def test_word_noise_actions_equal_the_kernel_actions():
    sys_ = Pendulum()
    ev = SequenceEvaluator(sys_, sys_.default_cost())
    (n,) = draw_noise(np.random.default_rng(5), [17], 11, 1)
    mean, std = np.full((11, 1), 1.2), np.full((11, 1), 2.0)  # many clipped
    _, U = ev.sampled_costs(np.array([0.5, 0.0]), mean, std, n, return_actions=True)
    idx = np.array([16, 0, 3])
    np.testing.assert_array_equal(ev.sampled_actions(mean, std, n, idx), U[idx])
    np.testing.assert_array_equal(ev.sampled_actions(mean, std, n.array(), idx), U[idx])


def test_specialised_kernel_module_differs_from_the_template_only_in_its_sources_line():
    from planlab.dynamics.compiled import SOURCES_MARK
    from planlab.planners.sampling import kernel

    sys_ = Pendulum()
    cost = sys_.default_cost()
    src = sys_.compiled_sources(cost)
    ev = SequenceEvaluator(sys_, cost)
    assert ev.fused
    template = Path(kernel.__file__).read_text().splitlines()
    copy = Path(ev._kernel.__file__).read_text().splitlines()
    (i,) = [j for j, line in enumerate(template) if line.rstrip().endswith(SOURCES_MARK)]
    assert copy[0].startswith("# Specialised from planlab.planners.sampling.kernel")
    imports = [f"from {f.__module__} import {f.__name__} as {alias}" for alias, f in
               (("_dyn_py", src.dynamics), ("_term_py", src.termination), ("_run_py", src.running),
                ("_fin_py", src.terminal))]
    assert copy[1:] == template[:i] + imports + template[i + 1:]


_CACHE_SCRIPT = """
import json, numpy as np
from planlab.dynamics import Pendulum
from planlab.planners.sampling import SequenceEvaluator, draw_noise
d = Pendulum()
ev = SequenceEvaluator(d, d.default_cost())
(n,) = draw_noise(np.random.default_rng(0), [10], 6, 1)
out = ev.sampled_costs(np.array([1.0, 0.0]), np.zeros((6, 1)), np.ones((6, 1)), n)
st = ev._kernel.costs_words.stats
print(json.dumps({"hits": sum(st.cache_hits.values()), "misses": sum(st.cache_misses.values()), "out": out.tolist()}))
"""


def test_a_second_process_loads_the_sampled_kernels_from_the_cache(tmp_path):
    env = dict(os.environ, PLANLAB_CACHE_DIR=str(tmp_path))
    runs = [json.loads(subprocess.run([sys.executable, "-c", _CACHE_SCRIPT], capture_output=True, text=True, env=env,
                                      check=True).stdout.strip().splitlines()[-1]) for _ in range(2)]
    assert runs[0]["misses"] == 1 and runs[0]["hits"] == 0
    assert runs[1]["hits"] == 1 and runs[1]["misses"] == 0
    assert runs[0]["out"] == runs[1]["out"]
