import pytest
from latent_helpers import pendulum_episodes


@pytest.fixture(scope="module")
def pendulum_buffer():
    return pendulum_episodes()
