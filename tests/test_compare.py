"""compare.py: got versus expected, the first difference, described for a student.

The ladder stops at the first failed rung: present -> type -> dtype -> device ->
shape -> NaN/inf where none are expected -> values within the table's tolerance.
"""
import math

import pytest
import torch

from autograder import compare as cmp
from autograder.compare import PYTHON_FLOAT, TOLERANCES, compare, tolerance

INF, NAN = float("inf"), float("nan")


def t(*values, dtype=torch.float32):
    return torch.tensor(values, dtype=dtype)


# ----------------------------------------------------------------------------- the ladder

def test_equal_tensors_pass():
    assert compare("out", t(1.0, 2.0), t(1.0, 2.0)) is None


def test_missing_return_is_reported_as_missing_with_a_hint():
    m = compare("out", None, torch.zeros(2, 3))
    assert m.kind == "missing"
    assert m.name == "out"
    assert "out is None" in m.message
    assert "(2, 3)" in m.message
    assert "forget to return" in m.message


def test_wrong_type_is_reported_with_what_was_expected():
    m = compare("out", [1.0, 2.0], torch.zeros(2))
    assert m.kind == "type"
    assert "expected a tensor of shape (2,)" in m.message


def test_wrong_dtype_names_both_dtypes():
    m = compare("out", torch.zeros(3, dtype=torch.float64), torch.zeros(3))
    assert m.kind == "dtype"
    assert "dtype float64; expected float32" in m.message


def test_wrong_device_names_both_devices():
    m = compare("out", torch.zeros(3, device="meta"), torch.zeros(3))
    assert m.kind == "device"
    assert "on device meta; expected cpu" in m.message
    assert "device=x.device" in m.message


def test_dtype_is_checked_before_device():
    m = compare("out", torch.zeros(3, dtype=torch.float64, device="meta"), torch.zeros(3))
    assert m.kind == "dtype"


def test_wrong_shape_names_both_shapes():
    m = compare("out", torch.zeros(3, 2), torch.zeros(2, 3))
    assert m.kind == "shape"
    assert "shape (3, 2); expected (2, 3)" in m.message


def test_shapes_on_the_meta_device_are_compared_but_not_values():
    assert compare("out", torch.empty(2, 3, device="meta"), torch.empty(2, 3, device="meta")) is None
    m = compare("out", torch.empty(3, device="meta"), torch.empty(2, device="meta"))
    assert m.kind == "shape"


def test_nan_where_a_finite_value_is_expected_is_its_own_rung():
    m = compare("out", t(1.0, NAN, 3.0), t(1.0, 2.0, 3.0))
    assert m.kind == "nonfinite"
    assert "NaN or inf at 1 of 3 elements" in m.message
    assert "index (1,)" in m.message
    assert "division by zero" in m.message


def test_inf_where_a_finite_value_is_expected_is_nonfinite():
    m = compare("out", t(INF, 2.0), t(1.0, 2.0))
    assert m.kind == "nonfinite"


def test_value_mismatch_reports_count_worst_index_abs_rel_and_tolerance():
    expected = torch.ones(3, 4)
    got = expected.clone()
    got[0, 0] += 0.1
    got[1, 2] += 0.5
    m = compare("running_var", got, expected)
    assert m.kind == "values"
    assert m.name == "running_var"
    assert "running_var differs from the expected value" in m.message
    assert "Mismatched elements: 2 / 12" in m.message
    assert "index (1, 2)" in m.message                  # the worst one, not the first one
    assert "got 1.5, expected 1" in m.message
    assert "absolute 0.5" in m.message
    assert "relative 0.5" in m.message
    assert "tolerance 1e-05 + 1e-05 * |expected|" in m.message
    assert m.max_abs == pytest.approx(0.5)


def test_relative_error_against_zero_is_infinite_not_a_crash():
    m = compare("out", t(0.0, 1.0), t(0.0, 0.0))
    assert m.kind == "values"
    assert "relative inf" in m.message


def test_integer_tensors_are_compared_exactly():
    expected = torch.tensor([1, 2, 3])
    assert compare("labels", expected.clone(), expected) is None
    m = compare("labels", torch.tensor([1, 2, 4]), expected, scale=1e9)
    assert m.kind == "values"
    assert "differs at 1 of 3 elements" in m.message
    assert "index (2,)" in m.message and "got 4, expected 3" in m.message


def test_bool_tensors_are_compared_exactly():
    m = compare("mask", torch.tensor([True, False]), torch.tensor([True, True]))
    assert m.kind == "values"


def test_zero_dim_tensors_are_compared():
    assert compare("loss", torch.tensor(1.0), torch.tensor(1.0)) is None
    m = compare("loss", torch.tensor(2.0), torch.tensor(1.0))
    assert m.kind == "values" and "index ()" in m.message


def test_empty_tensors_of_the_same_shape_agree():
    assert compare("out", torch.zeros(0, 3), torch.zeros(0, 3)) is None


# ----------------------------------------------------------------------------- containers

def test_dict_missing_key_is_named_with_its_path():
    expected = {"weight": torch.ones(2), "bias": torch.zeros(2)}
    m = compare("state_dict", {"weight": torch.ones(2)}, expected)
    assert m.kind == "missing"
    assert m.name == "state_dict['bias']"
    assert "state_dict['bias'] is missing" in m.message


def test_dict_extra_key_is_reported():
    expected = {"weight": torch.ones(2)}
    m = compare("state_dict", {"weight": torch.ones(2), "running_mean": torch.zeros(2)}, expected)
    assert m.kind == "extra"
    assert "'running_mean'" in m.message


def test_dict_values_are_compared_recursively_with_their_path():
    m = compare("state_dict", {"w": torch.ones(2) * 2}, {"w": torch.ones(2)})
    assert m.kind == "values" and m.name == "state_dict['w']"


def test_dict_expected_but_something_else_returned():
    m = compare("state_dict", [1], {"w": 1})
    assert m.kind == "type" and "a dict" in m.message


def test_list_of_wrong_length_is_reported():
    m = compare("outs", [torch.ones(1)] * 2, [torch.ones(1)] * 3)
    assert m.kind == "shape"
    assert "has 2 entries; expected 3" in m.message


def test_list_items_are_compared_with_their_index():
    m = compare("outs", [torch.ones(1), torch.zeros(1)], [torch.ones(1), torch.ones(1)])
    assert m.name == "outs[1]"


# ----------------------------------------------------------------------------- Python values

def test_python_floats_within_tolerance_pass():
    assert compare("x", 1.0 + 1e-12, 1.0) is None
    assert compare("x", 3, 3.0) is None


def test_python_floats_outside_tolerance_fail_with_the_tolerance():
    m = compare("x", 1.1, 1.0)
    assert m.kind == "values"
    assert "x is 1.1; expected 1.0" in m.message
    assert "tolerance" in m.message


def test_python_nan_equals_nan_and_inf_equals_inf():
    assert compare("x", NAN, NAN) is None
    assert compare("x", INF, INF) is None
    assert compare("x", -INF, INF) is not None
    assert compare("x", 1.0, NAN) is not None


def test_python_int_expected_int_is_exact():
    assert compare("n", 3, 3) is None
    assert compare("n", 4, 3).kind == "values"


def test_bool_is_not_a_number():
    assert compare("x", True, 1).kind == "type"
    assert compare("flag", 1, True).kind == "values"


def test_strings_and_none_are_compared_exactly():
    assert compare("error", "ValueError", "ValueError") is None
    m = compare("error", None, "ValueError")
    assert m.kind == "values" and "expected 'ValueError'" in m.message


# ----------------------------------------------------------------------------- non-finite values

def test_equal_nans_and_infs_in_tensors_pass():
    expected = t(1.0, INF, -INF, NAN)
    assert compare("out", expected.clone(), expected) is None


def test_nan_where_inf_is_expected_fails():
    assert compare("out", t(NAN), t(INF)) is not None


def test_finite_value_where_inf_is_expected_fails():
    assert compare("out", t(5.0), t(INF)) is not None


def test_infinity_of_the_wrong_sign_fails():
    assert compare("out", t(-INF), t(INF)) is not None


@pytest.mark.filterwarnings("ignore:Casting complex values")
def test_complex_tensors_differing_in_the_imaginary_part_fail():
    expected = torch.tensor([1 + 0j], dtype=torch.complex64)
    assert compare("z", torch.tensor([1 + 2j], dtype=torch.complex64), expected) is not None


# ----------------------------------------------------------------------------- the tolerance table

def test_tolerance_table_has_float32_and_float64():
    assert TOLERANCES[torch.float32] == (1e-5, 1e-5)
    assert TOLERANCES[torch.float64] == (1e-7, 1e-9)
    assert tolerance(torch.float32) == TOLERANCES[torch.float32]
    assert tolerance(torch.float64, 10) == pytest.approx((1e-6, 1e-8))
    assert tolerance(torch.int64) == (0.0, 0.0)


@pytest.mark.parametrize("dtype", sorted(TOLERANCES, key=str))
def test_values_just_inside_the_table_tolerance_pass_and_just_outside_fail(dtype):
    rtol, atol = TOLERANCES[dtype]
    expected = torch.tensor([1.0, 1.0], dtype=dtype)
    allowed = atol + rtol * 1.0
    inside = torch.tensor([1.0, 1.0 + 0.5 * allowed], dtype=dtype)
    outside = torch.tensor([1.0, 1.0 + 2.0 * allowed], dtype=dtype)
    # the dtype's rounding must keep the test meaningful
    assert 0 < (inside[1].double() - 1) <= allowed < (outside[1].double() - 1)
    assert compare("out", inside, expected) is None
    m = compare("out", outside, expected)
    assert m is not None and m.kind == "values"
    assert f"tolerance {atol:.0e} + {rtol:.0e} * |expected|" in m.message


def test_relative_part_of_the_tolerance_scales_with_the_expected_value():
    rtol, atol = TOLERANCES[torch.float64]
    expected = torch.tensor([1e6], dtype=torch.float64)
    allowed = atol + rtol * 1e6
    assert compare("out", expected + 0.9 * allowed, expected) is None
    assert compare("out", expected + 1.1 * allowed, expected) is not None


def test_check_scale_widens_the_tolerance():
    rtol, atol = TOLERANCES[torch.float32]
    expected = torch.ones(1)
    got = expected + 5 * (atol + rtol)
    assert compare("out", got, expected) is not None
    assert compare("out", got, expected, scale=10) is None


def test_python_float_tolerance_is_the_float64_one():
    rtol, atol = PYTHON_FLOAT
    assert compare("x", 1.0 + 0.5 * (atol + rtol), 1.0) is None
    assert compare("x", 1.0 + 2.0 * (atol + rtol), 1.0) is not None


def test_handles_are_compared_by_presence_only():
    class Ref:                                  # what impl.Ref looks like to compare()
        _root = "BatchNorm1d"
    assert compare("module", Ref(), Ref()) is None
    assert cmp._describe(Ref()) == "a BatchNorm1d object"
