"""The packed per-step derivative row of trajectory optimisation, defined once.

Row ``O[t]`` (length ``size``) of the derivatives along a trajectory holds, row-major,

``A`` (nx, nx) and ``B`` (nx, nu)
    the dynamics Jacobians ``f_x``, ``f_u``;
``lx`` (nx,), ``lu`` (nu,), ``lxx`` (nx, nx), ``luu`` (nu, nu), ``lux`` (nu, nx)
    the running cost's gradient and Hessian blocks.

The terminal row ``OT`` holds ``l_x`` (nx,) then ``l_xx`` (nx, nx). For full DDP, ``HD[t]`` holds
for each output component ``i`` of the dynamics ``f_xx^i`` (nx, nx), ``f_uu^i`` (nu, nu) and
``f_ux^i`` (nu, nx) (:func:`hessian_row_size`).

:func:`packed_offsets` is plain integer arithmetic that numba compiles where a kernel calls it.
"""

from __future__ import annotations

from typing import NamedTuple

from numba.extending import register_jitable

__all__ = ["PackedLayout", "packed_offsets", "packed_layout", "hessian_row_size"]


class PackedLayout(NamedTuple):
    """Offsets of the blocks of one packed derivative row (see the module docstring)."""

    A: int  # (nx, nx)
    B: int  # (nx, nu)
    lx: int  # (nx,)
    lu: int  # (nu,)
    lxx: int  # (nx, nx)
    luu: int  # (nu, nu)
    lux: int  # (nu, nx)
    size: int  # row length


@register_jitable
def packed_offsets(nx, nu):
    """The :class:`PackedLayout` of ``nx`` states and ``nu`` controls."""
    o_b = nx * nx
    o_lx = o_b + nx * nu
    o_lu = o_lx + nx
    o_lxx = o_lu + nu
    o_luu = o_lxx + nx * nx
    o_lux = o_luu + nu * nu
    return PackedLayout(0, o_b, o_lx, o_lu, o_lxx, o_luu, o_lux, o_lux + nu * nx)


def packed_layout(nx: int, nu: int) -> dict:
    """``name -> (offset, shape)`` of every block of the packed row, and ``"size"`` its length."""
    off = packed_offsets(nx, nu)
    shapes = {"A": (nx, nx), "B": (nx, nu), "lx": (nx,), "lu": (nu,), "lxx": (nx, nx), "luu": (nu, nu),
              "lux": (nu, nx)}
    out = {name: (getattr(off, name), shp) for name, shp in shapes.items()}
    out["size"] = off.size
    return out


def hessian_row_size(nx: int, nu: int) -> int:
    """Length of one row ``HD[t]`` of dynamics second derivatives."""
    return nx * (nx * nx + nu * nu + nu * nx)
