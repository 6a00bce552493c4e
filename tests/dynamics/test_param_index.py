"""System sources read parameters by name: ``P = param_index(Params)`` gives each field's position."""

import dataclasses
from typing import NamedTuple

import pytest

from planlab.core.source import param_index
from planlab.dynamics import SYSTEMS


@pytest.mark.parametrize("name", sorted(SYSTEMS))
def test_each_systems_index_matches_the_order_of_its_params_fields(name):
    import importlib

    cls = SYSTEMS[name]
    module = importlib.import_module(cls.__module__)
    fields = [f.name for f in dataclasses.fields(cls.Params)]
    assert module.P._fields == tuple(fields)
    assert list(module.P) == list(range(len(fields)))
    system = cls()
    for f in fields:  # the vector the sources receive holds each field at its index
        assert system.param_vector[getattr(module.P, f)] == pytest.approx(float(getattr(system.params, f)))


def test_param_index_accepts_namedtuples_and_rejects_other_things():
    class Costs(NamedTuple):
        w_pos: float
        w_u: float

    assert param_index(Costs) == (0, 1) and param_index(Costs).w_u == 1
    with pytest.raises(TypeError, match="params_class: expected a dataclass or a NamedTuple class"):
        param_index(dict)
