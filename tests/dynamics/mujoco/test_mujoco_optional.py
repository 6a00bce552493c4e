"""Without MuJoCo installed, planlab imports and the MuJoCo entry points name the extra to install."""

import subprocess
import sys

SCRIPT = """
import sys
sys.modules["mujoco"] = None  # as if the extra were not installed
import planlab, planlab.episodes, planlab.planners, planlab.dynamics.mujoco
from planlab.envs.models import model_for
for make in (lambda: model_for("Reacher-v5"), lambda: planlab.dynamics.mujoco.MujocoDynamics("model.xml")):
    try:
        make()
    except ImportError as exc:
        assert "pip install planlab[mujoco]" in str(exc), exc
    else:
        raise AssertionError("expected an ImportError")
print("ok")
"""


def test_planlab_imports_without_mujoco_and_its_entry_points_name_the_extra():
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "ok"
