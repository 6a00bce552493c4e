"""``planlab train --algo gps|distill`` is wired in and rejects bad input with a clear message."""

import subprocess
import sys


def test_train_cli_rejects_an_env_gps_has_no_problem_for():
    proc = subprocess.run([sys.executable, "-m", "planlab", "train", "--algo", "gps", "--env", "Pendulum-v1"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert "--env: expected one of ('planlab/CartPoleSwingup-v0',)" in proc.stderr
