"""The trainer registry is an explicit name -> "module:Class" table, resolved on use."""

import subprocess
import sys

import pytest

from planlab.policies import ALGORITHMS, Trainer, algorithm_class


@pytest.mark.parametrize("name", sorted(ALGORITHMS))
def test_every_registered_name_resolves_to_the_trainer_of_that_name(name):
    cls = algorithm_class(name)
    assert issubclass(cls, Trainer) and cls.name == name


def test_unknown_name_raises_naming_the_choices():
    with pytest.raises(ValueError, match=r"algo: expected one of .*ppo.*, got 'dqn'"):
        algorithm_class("dqn")


def test_a_fresh_process_finds_a_trainer_without_importing_its_module_first():
    code = ("import sys; from planlab.policies import ALGORITHMS, algorithm_class; "
            "assert 'torch' not in sys.modules; print(algorithm_class('ppo').__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "PPO"
