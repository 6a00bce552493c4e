import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("planlab", deadline=None, max_examples=40,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "planlab"))


@pytest.fixture
def rng():
    return np.random.default_rng(12345)

# Sampling planners compile their kernels in the foreground in tests (no background processes racing
# the suite); tests of background compilation turn it on explicitly.
os.environ.setdefault("PLANLAB_BACKGROUND_COMPILE", "0")
