import numpy as np
import pytest

from planlab.dynamics.learned import TransitionBuffer


def _filled(n=50, seed=0):
    rng = np.random.default_rng(seed)
    buf = TransitionBuffer(3, 2, capacity=1000)
    buf.add_batch(rng.normal(size=(n, 3)), rng.normal(size=(n, 2)), rng.normal(size=n), rng.normal(size=(n, 3)),
                  rng.random(n) < 0.1)
    return buf


def test_add_and_add_batch_agree():
    a, b = _filled(20), TransitionBuffer(3, 2)
    for i in range(20):
        b.add(a.states[i], a.actions[i], a.rewards[i], a.next_states[i], a.terminated[i])
    for name in ("states", "actions", "rewards", "next_states", "terminated"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def test_ring_buffer_keeps_the_newest_transitions():
    buf = TransitionBuffer(1, 1, capacity=5)
    for i in range(8):
        buf.add([i], [0.0], 0.0, [i + 1])
    assert len(buf) == 5
    assert sorted(buf.states[:, 0].tolist()) == [3, 4, 5, 6, 7]


def test_bootstrap_members_see_different_data():
    idx = np.arange(200)
    boot = TransitionBuffer.bootstrap_indices(idx, 5, seed=0)
    assert boot.shape == (5, 200)
    sets = [frozenset(b.tolist()) for b in boot]
    assert len(set(sets)) == 5  # every member has its own resample
    for b in boot:
        # sampling with replacement: about 1 - 1/e = 63% distinct indices
        assert 0.5 < len(set(b.tolist())) / 200 < 0.75
    np.testing.assert_array_equal(boot, TransitionBuffer.bootstrap_indices(idx, 5, seed=0))


def test_split_is_a_disjoint_cover():
    buf = _filled(101)
    tr, va = buf.split(0.2, seed=1)
    assert len(va) == 20 and len(tr) == 81
    assert not set(tr) & set(va)
    assert sorted(np.r_[tr, va].tolist()) == list(range(101))


def test_save_load_round_trips_exactly(tmp_path):
    buf = _filled()
    path = buf.save(tmp_path / "data.npz")
    back = TransitionBuffer.load(path)
    assert (back.state_dim, back.action_dim, back.capacity, len(back)) == (3, 2, 1000, 50)
    for name in ("states", "actions", "rewards", "next_states", "terminated"):
        np.testing.assert_array_equal(getattr(back, name), getattr(buf, name))


def test_crash_mid_write_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "data.npz"
    _filled(10).save(path)
    before = path.read_bytes()

    def crash(f, **kwargs):
        f.write(b"partial garbage")
        raise KeyboardInterrupt("killed mid-write")

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(KeyboardInterrupt):
        _filled(40).save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["data.npz"]  # no temporary left behind
    monkeypatch.undo()
    assert len(TransitionBuffer.load(path)) == 10


@pytest.mark.parametrize("field, value, match", [
    ("states", np.zeros((4, 2)), r"states: expected shape \(n, 3\)"),
    ("actions", np.zeros((4, 3)), r"actions: expected shape \(4, 2\)"),
    ("next_states", np.zeros((3, 3)), r"next_states: expected shape \(4, 3\)"),
    ("rewards", np.zeros(5), r"rewards: expected shape \(4,\)"),
])
def test_dimension_mismatch_raises_a_clear_error(field, value, match):
    args = {"states": np.zeros((4, 3)), "actions": np.zeros((4, 2)), "rewards": np.zeros(4),
            "next_states": np.zeros((4, 3))}
    args[field] = value
    with pytest.raises(ValueError, match=match):
        TransitionBuffer(3, 2).add_batch(**args)


def test_nan_in_a_batch_raises_a_clear_error():
    s = np.zeros((4, 3))
    s[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"states: expected finite values.*index \(2, 1\)"):
        TransitionBuffer(3, 2).add_batch(s, np.zeros((4, 2)), np.zeros(4), np.zeros((4, 3)))


def test_empty_buffer_split_raises():
    with pytest.raises(ValueError, match="expected at least one transition"):
        TransitionBuffer(1, 1).split(0.1)
