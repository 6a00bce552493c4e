"""Sampling planners: random shooting, CEM, iCEM and MPPI, and the machinery they share.

* :mod:`~planlab.planners.sampling.shooting` — :class:`RandomShooting` (Nagabandi et al., 2018);
* :mod:`~planlab.planners.sampling.cem` — :class:`CEM` (Rubinstein & Kroese, 2004) and
  :class:`ICEM` (Pinneri et al., 2020; CEM with other defaults);
* :mod:`~planlab.planners.sampling.mppi` — :class:`MPPI` (Williams et al., 2017);
* :mod:`~planlab.planners.sampling.evaluator` — :class:`SequenceEvaluator`, one evaluation path
  for candidate sequences, compiled through :mod:`~planlab.planners.sampling.kernel` when the
  model declares compiled sources;
* :mod:`~planlab.planners.sampling.noise` and :mod:`~planlab.planners.sampling.ziggurat` — the
  standard noise, drawn as raw random words and turned into normals inside the kernel.
"""

from __future__ import annotations

from .cem import CEM, ICEM
from .evaluator import SequenceEvaluator, action_scale, box_centre, nan_to_inf, sampling_kernels
from .mppi import MPPI, mppi_weights
from .noise import WordNoise, colored_noise, draw_noise, draw_words, noise_rows
from .shooting import RandomShooting, best_finite, sample_uniform_actions

__all__ = ["RandomShooting", "CEM", "ICEM", "MPPI", "SequenceEvaluator", "WordNoise", "draw_noise", "draw_words",
           "colored_noise", "noise_rows", "mppi_weights", "action_scale", "box_centre", "nan_to_inf",
           "sampling_kernels", "sample_uniform_actions", "best_finite"]
