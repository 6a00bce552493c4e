"""Loading MJCF models for :class:`~planlab.dynamics.mujoco.MujocoDynamics`, and the optional import of MuJoCo.

MuJoCo is an optional extra (``pip install planlab[mujoco]``). Without it ``import planlab`` works and
every MuJoCo entry point raises an :class:`ImportError` that says how to install it.

Tracked positions are added to the model as MuJoCo ``framepos`` sensors (through ``mujoco.MjSpec``),
so a batched rollout reports them together with the states, in the same pass.
"""

from __future__ import annotations

import os
from typing import Sequence

try:  # optional extra
    import mujoco
    from mujoco import rollout as mj_rollout
except ImportError:  # pragma: no cover - exercised only without the extra
    mujoco = None
    mj_rollout = None

__all__ = ["INSTALL_HINT", "require_mujoco", "load_model", "POSITION_KINDS", "position_sensor_name", "mujoco",
           "mj_rollout"]

INSTALL_HINT = "MuJoCo models need the optional extra: pip install planlab[mujoco]"

#: ``"kind:name"`` prefixes of tracked positions -> MuJoCo object type name (``body`` is the body frame,
#: ``xpos`` in MuJoCo's data, as gymnasium's ``get_body_com`` reads it).
POSITION_KINDS = {"site": "mjOBJ_SITE", "body": "mjOBJ_XBODY", "geom": "mjOBJ_GEOM"}


def require_mujoco():
    """The ``mujoco`` module, or an ImportError naming the extra to install."""
    if mujoco is None:
        raise ImportError(INSTALL_HINT)
    return mujoco


def position_sensor_name(spec: str) -> str:
    """The name of the ``framepos`` sensor planlab adds for the tracked position ``"kind:name"``."""
    return "planlab_pos:" + spec


def _parse_position(spec) -> tuple[str, str]:
    if not isinstance(spec, str) or ":" not in spec:
        raise ValueError(f"positions: expected entries 'site:NAME', 'body:NAME' or 'geom:NAME', got {spec!r}")
    kind, name = spec.split(":", 1)
    if kind not in POSITION_KINDS or not name:
        raise ValueError(f"positions: expected entries 'site:NAME', 'body:NAME' or 'geom:NAME', got {spec!r}")
    return kind, name


def load_model(model_or_xml_path, positions: Sequence[str] = ()):
    """Compile an ``MjModel`` from a path, an MJCF string, an ``MjSpec`` or an ``MjModel``.

    Parameters
    ----------
    model_or_xml_path : str, os.PathLike, mujoco.MjSpec or mujoco.MjModel
        A path to an MJCF (XML) file, MJCF text (a string starting with ``<``), a spec, or a compiled
        model (then ``positions`` must be empty: a compiled model cannot gain sensors).
    positions : sequence of str
        ``"site:NAME"``, ``"body:NAME"`` or ``"geom:NAME"``: world positions to track, added as
        ``framepos`` sensors named :func:`position_sensor_name`.

    Returns
    -------
    mujoco.MjModel

    Raises
    ------
    ImportError
        Without the ``mujoco`` extra.
    FileNotFoundError
        For a path that does not exist.
    ValueError
        For MJCF that does not parse or compile, or an unknown position.
    """
    mj = require_mujoco()
    positions = tuple(positions)
    parsed = [_parse_position(p) for p in positions]
    if len(set(positions)) != len(positions):
        raise ValueError(f"positions: expected distinct entries, got {positions}")
    if isinstance(model_or_xml_path, mj.MjModel):
        if positions:
            raise ValueError("positions: a compiled MjModel cannot gain position sensors; pass the XML path or an "
                             f"MjSpec instead (got positions={positions})")
        return model_or_xml_path
    if isinstance(model_or_xml_path, mj.MjSpec):
        spec = model_or_xml_path.copy() if hasattr(model_or_xml_path, "copy") else model_or_xml_path
        where = "the given MjSpec"
    elif isinstance(model_or_xml_path, (str, os.PathLike)):
        text = os.fspath(model_or_xml_path)
        if text.lstrip().startswith("<"):
            where = "the given MJCF string"
            loader = mj.MjSpec.from_string
        else:
            if not os.path.isfile(text):
                raise FileNotFoundError(f"model_or_xml_path: no MJCF file at {text!r}")
            where = repr(text)
            loader = mj.MjSpec.from_file
        try:
            spec = loader(text)
        except ValueError as exc:
            raise ValueError(f"model_or_xml_path: MuJoCo could not parse {where}: {exc}") from None
    else:
        raise TypeError("model_or_xml_path: expected a path to an MJCF file, MJCF text, a mujoco.MjSpec or a "
                        f"mujoco.MjModel, got {type(model_or_xml_path).__name__}")
    for spec_str, (kind, name) in zip(positions, parsed):
        spec.add_sensor(name=position_sensor_name(spec_str), type=mj.mjtSensor.mjSENS_FRAMEPOS,
                        objtype=getattr(mj.mjtObj, POSITION_KINDS[kind]), objname=name)
    try:
        return spec.compile()
    except ValueError as exc:
        raise ValueError(f"model_or_xml_path: MuJoCo could not compile {where}"
                         f"{' with positions ' + str(positions) if positions else ''}: {exc}") from None
