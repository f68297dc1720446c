"""Failure messages that the grader and the student kit's checker both give, word for word.

Shipped in the kit (release.SHARED) beside report.py, so that the two sides cannot drift.
"""
from __future__ import annotations

from .i18n import _


def forbidden_message(parts: list[str], tamper: tuple[str, ...]) -> str:
    """The message for forbidden names found in or used by the student's code; `tamper` are
    the prefixes that reach into PyTorch's dispatcher or the process's memory."""
    if not parts:
        return ""
    if any(p.split(" ")[0] in tamper or p.split(" ")[0].startswith(tamper) for p in parts):
        return _("Your code uses {names}: it reaches into PyTorch's dispatcher or the process's "
                 "memory, which is not allowed in any topic. This check earns no credit while it "
                 "does.").format(names=", ".join(parts))
    return _("Your code uses {names}, which this assignment does not allow: the point is to write "
             "it yourself. This check earns no credit while it is used.").format(names=", ".join(parts))


def in_place_message(call: str, key, changed: bool) -> str:
    """An argument changed in place that must not be, or left alone that must be updated."""
    what = _("argument {key}").format(key=key) if isinstance(key, int) \
        else _("argument '{key}'").format(key=key)
    if changed:
        return _("{call}(...) modified its {what} in place; it must leave its inputs unchanged "
                 "(work on a new tensor, or clone first).").format(call=call, what=what)
    return _("{call}(...) should update its {what} in place (the same tensor object, e.g. with "
             ".copy_() or .mul_()), but left it unchanged.").format(call=call, what=what)
