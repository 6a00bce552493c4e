"""The latent benchmark's training-update timing rows (``--update-timing``)."""

import math

from planlab.benchmarks.latent import UPDATE_VARIANTS, update_step_rows


def test_update_step_rows_time_each_variant_on_the_same_data():
    rows = update_step_rows(quick=True, repeats=1, size=64)
    assert [r["config"] for r in rows] == [v[0] for v in UPDATE_VARIANTS[:2]]
    assert [r["encoder_size"] for r in rows] == [64, 32]
    for r in rows:
        assert r["kind"] == "update_step" and r["image_size"] == 64
        assert r["update_cpu_ms_median"] > 0 and math.isclose(r["updates_per_cpu_s"], 1e3 / r["update_cpu_ms_median"])
        assert math.isclose(r["sequence_steps_per_cpu_s"], r["updates_per_cpu_s"] * r["batch"] * r["length"])
