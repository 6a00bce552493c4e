"""The benchmark script writes one JSON row per run as it goes and resumes from its file."""

import json

from planlab.benchmarks import modelfree


def test_benchmark_writes_rows_as_they_complete_and_resumes(tmp_path, capsys, monkeypatch):
    path = tmp_path / "rows.jsonl"
    calls = []
    real = modelfree.run_one

    def counted(algo, seed, *, budget=None):
        calls.append((algo, seed))
        return real(algo, seed, budget=budget)

    monkeypatch.setattr(modelfree, "run_one", counted)
    assert modelfree.main(["--json", str(path), "--seeds", "2", "--algos", "a2c", "--budget", "200"]) == 0
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(r["algo"], r["seed"]) for r in rows] == [("a2c", 0), ("a2c", 1)]
    assert set(rows[0]) >= {"algo", "env", "seed", "solved", "steps_to_solve", "seconds_to_solve", "final_return"}
    assert rows[0]["env"] == "CartPole-v1" and rows[0]["solved"] is False and rows[0]["steps_to_solve"] is None
    assert "median steps" in capsys.readouterr().out
    # a rerun with one more seed only runs the missing one
    assert modelfree.main(["--json", str(path), "--seeds", "3", "--algos", "a2c", "--budget", "200"]) == 0
    assert calls == [("a2c", 0), ("a2c", 1), ("a2c", 2)]
    assert len(path.read_text().splitlines()) == 3


def test_benchmark_rejects_unknown_algorithms(capsys):
    assert modelfree.main(["--algos", "dqn"]) == 2
    assert "--algos: expected names from" in capsys.readouterr().err
