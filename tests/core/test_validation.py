import numpy as np
import pytest

from planlab.core.validation import (
    as_float_array,
    check_bounds,
    check_positive,
    check_positive_int,
    check_probability,
)


def test_shape_error_names_argument_expected_and_actual():
    with pytest.raises(ValueError, match=r"x0: expected shape \(4,\), got \(3,\)"):
        as_float_array("x0", np.zeros(3), shape=(4,))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values_are_rejected_with_their_index(bad):
    with pytest.raises(ValueError, match=r"u: expected finite values, got .* at index \(1,\)"):
        as_float_array("u", [0.0, bad, 1.0])


def test_non_numeric_input_is_a_type_error():
    with pytest.raises(TypeError, match="x: expected a numeric array, got str"):
        as_float_array("x", "abc")


def test_low_above_high_is_rejected():
    with pytest.raises(ValueError, match=r"action_low: expected action_low <= action_high, got 2.0 > 1.0 at index 0"):
        check_bounds("action_low", [2.0], "action_high", [1.0], 1)


def test_bounds_broadcast_scalars():
    lo, hi = check_bounds("lo", -1, "hi", 1, 3)
    assert lo.tolist() == [-1, -1, -1] and hi.tolist() == [1, 1, 1]


@pytest.mark.parametrize("value, exc", [(0, ValueError), (-3, ValueError), (2.5, TypeError), (True, TypeError)])
def test_positive_int_rejects(value, exc):
    with pytest.raises(exc, match="horizon: expected an integer >= 1"):
        check_positive_int("horizon", value)


def test_positive_and_probability():
    assert check_positive("lr", 0.1) == 0.1
    with pytest.raises(ValueError, match="lr: expected a positive number, got 0"):
        check_positive("lr", 0)
    with pytest.raises(ValueError, match=r"gamma: expected a number in \[0, 1\], got 1.5"):
        check_probability("gamma", 1.5)
