"""A tiny numpy rasteriser for ``rgb_array`` frames (no display, no pygame).

Shapes are drawn in world coordinates into an ``(size, size, 3)`` uint8 image: thick line segments
and filled discs, anti-aliased by a one-pixel ramp of the signed distance.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Canvas"]


class Canvas:
    """An RGB image covering the world box ``[xmin, xmax] x [ymin, ymax]``.

    Parameters
    ----------
    size : int
        Image width and height in pixels.
    bounds : (xmin, xmax, ymin, ymax)
    background : (r, g, b)
    """

    def __init__(self, size: int, bounds, background=(255, 255, 255)):
        self.size = int(size)
        xmin, xmax, ymin, ymax = (float(b) for b in bounds)
        self.scale = self.size / max(xmax - xmin, ymax - ymin)
        self.xmin, self.ymax = xmin, ymax
        self.img = np.empty((self.size, self.size, 3), dtype=np.float64)
        self.img[:] = np.asarray(background, dtype=np.float64)
        c = np.arange(self.size) + 0.5
        self.px, self.py = np.meshgrid(c, c)  # pixel centres, (row = y, col = x)

    def _to_px(self, x, y):
        return (x - self.xmin) * self.scale, (self.ymax - y) * self.scale

    def _paint(self, dist, color):
        alpha = np.clip(0.5 - dist, 0.0, 1.0)[..., None]
        self.img = self.img * (1 - alpha) + np.asarray(color, dtype=np.float64) * alpha

    def line(self, p0, p1, width: float, color) -> "Canvas":
        """Segment from ``p0`` to ``p1`` (world units) of ``width`` world units."""
        ax, ay = self._to_px(*p0)
        bx, by = self._to_px(*p1)
        dx, dy = bx - ax, by - ay
        ll = dx * dx + dy * dy
        t = np.clip(((self.px - ax) * dx + (self.py - ay) * dy) / ll, 0.0, 1.0) if ll > 0 else 0.0
        d = np.hypot(self.px - (ax + t * dx), self.py - (ay + t * dy)) - 0.5 * width * self.scale
        self._paint(d, color)
        return self

    def circle(self, center, radius: float, color) -> "Canvas":
        """Filled disc of ``radius`` world units."""
        cx, cy = self._to_px(*center)
        d = np.hypot(self.px - cx, self.py - cy) - radius * self.scale
        self._paint(d, color)
        return self

    def rect(self, center, half_w: float, half_h: float, color) -> "Canvas":
        """Axis-aligned filled rectangle."""
        cx, cy = self._to_px(*center)
        qx = np.abs(self.px - cx) - half_w * self.scale
        qy = np.abs(self.py - cy) - half_h * self.scale
        d = np.hypot(np.maximum(qx, 0), np.maximum(qy, 0)) + np.minimum(np.maximum(qx, qy), 0)
        self._paint(d, color)
        return self

    def image(self) -> np.ndarray:
        """The frame as ``(size, size, 3)`` uint8."""
        return np.clip(np.rint(self.img), 0, 255).astype(np.uint8)
