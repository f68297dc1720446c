"""Got versus expected: the first difference, described for a student.

Comparison climbs a ladder and stops at the first failed rung: present ->
right type -> dtype -> device -> shape -> NaN/inf where none are expected ->
values within tolerance. Tolerances come from one table, by dtype.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from .i18n import _

# (rtol, atol) per dtype, for values compared with the reference run on the same device.
# Set from the worst honest error seen over the correct variants (tests/test_tolerances.py),
# with a margin; TF32 is turned off on both sides, so CUDA shares the table.
TOLERANCES: dict[torch.dtype, tuple[float, float]] = {
    torch.float64: (1e-7, 1e-9),
    torch.float32: (1e-5, 1e-5),
    torch.float16: (1e-3, 1e-3),
    torch.bfloat16: (1.6e-2, 1e-2),
}
PYTHON_FLOAT = (1e-7, 1e-9)


def tolerance(dtype: torch.dtype, scale: float = 1.0) -> tuple[float, float]:
    rtol, atol = TOLERANCES.get(dtype, (0.0, 0.0))
    return rtol * scale, atol * scale


@dataclass(frozen=True)
class Mismatch:
    name: str                  # which output: "running_var", "grads['x']"
    kind: str                  # missing | type | dtype | device | shape | nonfinite | values | extra
    message: str               # what a student reads
    max_abs: float | None = None


def compare(name: str, got: Any, expected: Any, scale: float = 1.0) -> Mismatch | None:
    """The first difference between `got` and `expected`, or None when they agree."""
    if isinstance(expected, torch.Tensor):
        return _compare_tensor(name, got, expected, scale)
    if isinstance(expected, dict):
        if not isinstance(got, dict):
            return _type(name, got, "a dict")
        for key, value in expected.items():
            if key not in got:
                return Mismatch(_join(name, key), "missing",
                                _("{name} is missing (expected {expected}).").format(
                                    name=_join(name, key), expected=_describe(value)))
            found = compare(_join(name, key), got[key], value, scale)
            if found:
                return found
        extra = [k for k in got if k not in expected]
        if extra:
            return Mismatch(name, "extra", _("{name} has unexpected entries: {keys}.").format(
                name=name, keys=", ".join(repr(k) for k in extra[:5])))
        return None
    if isinstance(expected, (list, tuple)):
        if not isinstance(got, (list, tuple)):
            return _type(name, got, _("a {kind} of {n} values").format(
                kind=type(expected).__name__, n=len(expected)))
        if len(got) != len(expected):
            return Mismatch(name, "shape", _("{name} has {got} entries; expected {expected}.").format(
                name=name, got=len(got), expected=len(expected)))
        for i, (g, e) in enumerate(zip(got, expected)):
            found = compare(f"{name}[{i}]", g, e, scale)
            if found:
                return found
        return None
    if isinstance(expected, bool) or expected is None or isinstance(expected, str):
        if got != expected or type(got) is not type(expected):
            return Mismatch(name, "values", _is_expected().format(
                name=name, got=_describe(got), expected=_describe(expected)))
        return None
    if isinstance(expected, (int, float)):
        if isinstance(got, bool) or not isinstance(got, (int, float)):
            return _type(name, got, _("a number ({expected})").format(expected=repr(expected)))
        rtol, atol = PYTHON_FLOAT[0] * scale, PYTHON_FLOAT[1] * scale
        if isinstance(expected, int) and isinstance(got, int):
            ok = got == expected
        elif math.isnan(expected):
            ok = math.isnan(got)
        else:
            ok = math.isclose(got, expected, rel_tol=rtol, abs_tol=atol)
        if not ok:
            return Mismatch(name, "values", _(
                "{name} is {got}; expected {expected} (tolerance {atol:.0e} + {rtol:.0e} * "
                "|expected|).").format(name=name, got=repr(got), expected=repr(expected),
                                      atol=atol, rtol=rtol))
        return None
    # Handles (modules, optimizers...): only their presence is compared.
    if type(got).__name__ == "Ref" and type(expected).__name__ == "Ref":
        return None
    return None if got == expected else Mismatch(
        name, "values", _is_expected().format(name=name, got=_describe(got), expected=_describe(expected)))


def _compare_tensor(name: str, got: Any, expected: torch.Tensor, scale: float) -> Mismatch | None:
    if not isinstance(got, torch.Tensor):
        return _type(name, got, _("a tensor of shape {shape}").format(shape=tuple(expected.shape)))
    if got.dtype != expected.dtype:
        return Mismatch(name, "dtype", _(
            "{name} has dtype {got}; expected {expected} (the dtype the inputs came in: compute "
            "in it, and create new tensors with dtype=x.dtype or *_like).").format(
                name=name, got=_dt(got.dtype), expected=_dt(expected.dtype)))
    if got.device.type != expected.device.type:
        return Mismatch(name, "device", _(
            "{name} is on device {got}; expected {expected} (create new tensors with "
            "device=x.device, or with torch.zeros_like and friends).").format(
                name=name, got=got.device.type, expected=expected.device.type))
    if got.shape != expected.shape:
        return Mismatch(name, "shape", _("{name} has shape {got}; expected {expected}.").format(
            name=name, got=tuple(got.shape), expected=tuple(expected.shape)))
    if expected.device.type == "meta" or expected.numel() == 0:
        return None
    got_c, exp_c = got.detach().cpu(), expected.detach().cpu()
    if not (exp_c.is_floating_point() or exp_c.is_complex()):
        diff = got_c != exp_c
        if diff.any():
            index = _index(diff.nonzero()[0])
            return Mismatch(name, "values", _(
                "{name} differs at {count} of {total} elements; first at index {index}: got "
                "{got}, expected {expected}.").format(
                    name=name, count=diff.sum().item(), total=diff.numel(), index=index,
                    got=repr(got_c[index].item()), expected=repr(exp_c[index].item())))
        return None
    if exp_c.is_complex():          # compare real and imaginary parts as separate values
        return _compare_tensor(name, torch.view_as_real(got_c.resolve_conj()),
                               torch.view_as_real(exp_c.resolve_conj()), scale)
    g, e = got_c.to(torch.float64), exp_c.to(torch.float64)
    wrong_inf = torch.isinf(e) & (g != e) & ~torch.isnan(e)
    if wrong_inf.any():
        index = _index(wrong_inf.nonzero()[0])
        return Mismatch(name, "values", _("{name} should be {expected} at index {index}; "
                                          "got {got}.").format(
            name=name, expected=e[index].item(), index=index, got=repr(g[index].item())))
    bad_nonfinite = ~torch.isfinite(g) & torch.isfinite(e)
    if bad_nonfinite.any():
        index = _index(bad_nonfinite.nonzero()[0])
        count = int(bad_nonfinite.sum())
        return Mismatch(name, "nonfinite", _(
            "{name} contains NaN or inf at {count} of {total} elements, first at index {index} "
            "(got {got}, expected {expected:.6g}): look for a division by zero or a sqrt of a "
            "negative number.").format(name=name, count=count, total=g.numel(), index=index,
                                       got=repr(g[index].item()), expected=e[index].item()))
    rtol, atol = tolerance(expected.dtype, scale)
    both_nan = torch.isnan(g) & torch.isnan(e)
    same_inf = torch.isinf(g) & (g == e)
    err = (g - e).abs()
    allowed = atol + rtol * e.abs()
    bad = ~(both_nan | same_inf) & ~(err <= allowed)
    if not bad.any():
        return None
    excess = torch.where(bad, (err - allowed).nan_to_num(float("inf")), torch.zeros_like(err))
    flat = int(excess.reshape(-1).argmax())
    index = _index(torch.tensor(_unravel(flat, tuple(g.shape))))
    abs_err = err[index].item()
    rel = abs_err / abs(e[index].item()) if e[index].item() != 0 else float("inf")
    count = int(bad.sum())
    return Mismatch(
        name, "values",
        _("{name} differs from the expected value.").format(name=name) + "\n" + _(
            "Mismatched elements: {count} / {total} ({percent:.1f}%); greatest difference at "
            "index {index}: got {got:.8g}, expected {expected:.8g} (absolute {absolute:.3g}, "
            "relative {relative:.3g}; tolerance {atol:.0e} + {rtol:.0e} * |expected|).").format(
                count=count, total=g.numel(), percent=100.0 * count / g.numel(), index=index,
                got=g[index].item(), expected=e[index].item(), absolute=abs_err, relative=rel,
                atol=atol, rtol=rtol),
        max_abs=float(err.nan_to_num(float("inf")).max()))


# ----------------------------------------------------------------------------- helpers

def _join(name: str, key) -> str:
    return f"{name}[{key!r}]" if name else str(key)


def _dt(dtype) -> str:
    return str(dtype).replace("torch.", "")


def _index(t: torch.Tensor) -> tuple:
    return tuple(int(i) for i in t.reshape(-1))


def _unravel(flat: int, shape: tuple) -> list[int]:
    out = []
    for size in reversed(shape):
        out.append(flat % size)
        flat //= size
    return list(reversed(out))


def _is_expected() -> str:
    return _("{name} is {got}; expected {expected}.")


def _describe(value) -> str:
    if isinstance(value, torch.Tensor):
        return _("a tensor of shape {shape} and dtype {dtype}").format(
            shape=tuple(value.shape), dtype=_dt(value.dtype))
    if type(value).__name__ == "Ref":
        return _("a {kind} object").format(kind=value._root)
    if value is None:
        return "None"
    text = repr(value)
    return text if len(text) <= 80 else _("a {kind}").format(kind=type(value).__name__)


def _type(name: str, got, wanted: str) -> Mismatch:
    kind = "missing" if got is None else "type"
    if got is None:
        return Mismatch(name, kind, _("{name} is {got}; expected {expected} (did the function "
                                      "forget to return it?).").format(
            name=name, got=_describe(got), expected=wanted))
    return Mismatch(name, kind, _is_expected().format(name=name, got=_describe(got), expected=wanted))
