"""Makes a topic's forbidden built-ins unreachable inside the worker.

This file is part of the worker's runtime (beside worker.py). The worker calls
`install(spec)` once, before any student file is written or imported. From then
on every road to a forbidden built-in ends in `_hit`, which writes one line to
the worker's log and ends the process with FORBIDDEN_EXIT: an exit status that
the grader reads from outside, which student code can neither catch nor undo.

Where the roads meet:

- **Kernels.** Every dispatcher operator whose name matches the spec (in any
  namespace: `aten::native_batch_norm`, `aten::layer_norm`, `quantized::batch_norm2d`,
  `aten::_fused_adam_`) gets `_hit` as its kernel for every dispatch key that has
  one (CPU, CUDA, Meta, MkldnnCPU, Autograd, CompositeImplicitAutograd, ...). So
  `F.batch_norm`, `nn.BatchNorm1d`, a subclass made with `type(...)`,
  `getattr(F, "batch" + "_norm")` and `torch.ops.aten.native_batch_norm` all end
  here. The registration is made through the dispatcher's own C++ library object,
  which is then held only by a leaked reference: no Python object can unregister
  it, and registering another kernel on top gives no road back to the original.
- **Python.** Built-ins that are Python code (torch.optim.Adam, torch.func.grad,
  the decompositions in torch._refs and torch._decomp that compute a layer norm
  from plain ops) have their functions' code replaced in place, so every
  reference to them, wherever it is kept, runs `_hit`. The original code object
  is dropped; the zygote's workers also cannot read those modules' source or
  bytecode files (isolation.mount_plan hides them), so reloading gives nothing back.

Nothing here needs to be trusted: a submission that rewrites `_hit` or this module
gains no road to the original kernels, only its own code.
"""
from __future__ import annotations

import importlib
import os
import re
import sys
import types
import warnings

import torch

FORBIDDEN_EXIT = 113                 # the worker's exit status after touching a forbidden built-in
LOG_PREFIX = "forbidden built-in: "  # the line written to the worker's log before exiting
_KEY = re.compile(r"^(\w+)(?:\[alias\])?: registered at", re.M)
_NOT_KEYS = {"debug", "name", "schema"}


def _hit(name: str) -> None:
    try:
        os.write(2, f"\n{LOG_PREFIX}{name}\n".encode())
    finally:
        os._exit(FORBIDDEN_EXIT)


def _kernel(name: str):
    def forbidden_kernel(*args, **kwargs):
        _hit(name)
    return forbidden_kernel


def kernel_names(patterns) -> list[str]:
    """Dispatcher operators ("ns::name.overload") whose name matches one of the patterns."""
    compiled = [re.compile(p) for p in patterns]
    return sorted(n for n in torch._C._dispatch_get_all_op_names()
                  if any(p.search(n) for p in compiled))


def _dispatch_keys(full: str) -> set[str]:
    """The dispatch keys an operator has a kernel for (Tracer left out: tracing only
    records, then goes on to the keys below)."""
    keys = {m.group(1) for m in _KEY.finditer(torch._C._dispatch_dump(full))} - _NOT_KEYS
    keys.discard("Tracer")
    return keys


# What the zygote found once for every topic's guard (prepare): a forked worker's install
# then only registers and poisons. Empty in a worker started by fork+exec: it searches.
_PREPARED: dict = {"patterns": frozenset(), "ops": {}, "python": {}}


def prepare(spec: dict) -> None:
    """In the zygote, before any worker is forked: the operators matching spec's kernel
    patterns with their dispatch keys, and the functions and classes of spec's Python
    targets, found as install would find them (20-60 ms a worker otherwise)."""
    patterns = list(spec.get("kernels") or [])
    _PREPARED["ops"] = {full: _dispatch_keys(full) for full in kernel_names(patterns)}
    _PREPARED["patterns"] = frozenset(patterns)
    for module_name, pattern in spec.get("python") or []:
        found = _python_targets(module_name, pattern)
        if found is not None:
            _PREPARED["python"][(module_name, pattern)] = found


def _operators(patterns) -> dict[str, set[str]]:
    """{operator: dispatch keys} for the operators matching the patterns."""
    if not patterns:
        return {}
    if set(patterns) <= _PREPARED["patterns"]:
        compiled = [re.compile(p) for p in patterns]
        return {n: keys for n, keys in _PREPARED["ops"].items() if any(p.search(n) for p in compiled)}
    return {full: _dispatch_keys(full) for full in kernel_names(patterns)}


def block_kernels(patterns) -> int:
    """Give every matching operator a forbidden kernel at every key it has one for."""
    count = 0
    libraries = {}
    for full, keys in sorted(_operators(patterns).items()):
        namespace, op = full.split("::", 1)
        library = libraries.get(namespace)
        if library is None:
            library = torch._C._dispatch_library("IMPL", namespace, "", "<guard>", 0)
            libraries[namespace] = library
        for key in sorted(keys):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    library.impl(op, key, _kernel(full), False)
                count += 1
            except RuntimeError:
                pass                     # a key that takes no Python kernel: nothing runs there
    for library in libraries.values():   # kept alive by a reference no Python object holds
        _leak(library)
    return count


def _leak(obj) -> None:
    import ctypes
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(obj))


# ---------------------------------------------------------------------- Python-level built-ins

def _poisoned_code(fn: types.FunctionType, name: str) -> types.CodeType:
    """Code for `fn` that only calls _hit(name): same free variables, so it can be swapped in."""
    free = fn.__code__.co_freevars
    lines = ["def _outer():"]
    lines += [f"    {v} = None" for v in free]
    lines.append("    def _inner(*args, **kwargs):")
    if free:
        lines.append("        " + ", ".join(free))
    message = ("\n" + LOG_PREFIX + name + "\n").encode()
    lines.append(f"        __import__('os').write(2, {message!r})")
    lines.append(f"        __import__('os')._exit({FORBIDDEN_EXIT})")
    lines.append("    return _inner")
    namespace: dict = {}
    exec(compile("\n".join(lines), f"<forbidden {name}>", "exec"), namespace)
    code = namespace["_outer"]().__code__
    return code.replace(co_name=fn.__code__.co_name)


def _poison(fn, name: str, pattern: re.Pattern, seen: set) -> int:
    """Poison a function and what it wraps (functools.wraps, decorators' closures)."""
    fn = getattr(fn, "__func__", fn)               # staticmethod, classmethod
    if not isinstance(fn, types.FunctionType) or id(fn) in seen:
        return 0
    seen.add(id(fn))
    inner = [getattr(fn, "__wrapped__", None)]
    inner += [c.cell_contents for c in (fn.__closure__ or ()) if _cell_is_function(c)
              and c.cell_contents.__module__ == fn.__module__
              and pattern.search(c.cell_contents.__name__)]
    fn.__code__ = _poisoned_code(fn, name)
    return 1 + sum(_poison(f, name, pattern, seen) for f in inner if f is not None)


def _cell_is_function(cell) -> bool:
    try:
        return isinstance(cell.cell_contents, types.FunctionType)
    except ValueError:                              # an empty cell
        return False


def _python_targets(module_name: str, pattern: str) -> list[str] | None:
    """The names of the module's functions and classes that match the pattern and are
    defined in it (not imported from elsewhere: poisoned there if forbidden); None when the
    module cannot be imported here."""
    try:
        module = importlib.import_module(module_name)
    except Exception:                               # noqa: BLE001 - absent here: nothing to reach
        return None
    regex = re.compile(pattern)
    return [attr for attr, value in list(vars(module).items())
            if regex.search(attr) and _defined_in(value, getattr(module, "__file__", None))]


def block_python(targets) -> int:
    """Poison the functions and classes of each (module, name pattern) target."""
    count, seen = 0, set()
    for module_name, pattern in targets:
        names = _PREPARED["python"].get((module_name, pattern))
        if names is None:
            names = _python_targets(module_name, pattern)
        if names is None:
            continue
        module = sys.modules[module_name]
        regex = re.compile(pattern)
        for attr in names:
            value = vars(module).get(attr)
            dotted = f"{module_name}.{attr}"
            if isinstance(value, type):
                for member_name, member in list(vars(value).items()):
                    count += _poison(member, f"{dotted}.{member_name}", re.compile(""), seen)
            elif value is not None:
                count += _poison(value, dotted, regex, seen)
    return count


def _innermost(fn):
    fn = getattr(fn, "__func__", fn)
    for _ in range(10):
        inner = getattr(fn, "__wrapped__", None)
        if inner is None:
            break
        fn = inner
    return fn


def _defined_in(value, path: str | None) -> bool:
    """Whether a function or class comes from the file at `path` (decorators such as
    torch's `exposed_in` rename `__module__`; the code's file does not lie)."""
    if path is None:
        return False
    if isinstance(value, type):
        return any(_defined_in(member, path) for member in vars(value).values()
                   if not isinstance(member, type))
    code = getattr(_innermost(value), "__code__", None)
    return code is not None and os.path.samefile(code.co_filename, path) \
        if code is not None and os.path.exists(code.co_filename) else False


def source_files(targets) -> list[str]:
    """The source and bytecode files of the targets' modules (hidden from zygote workers)."""
    files = []
    for module_name, _ in targets:
        module = sys.modules.get(module_name)
        path = getattr(module, "__file__", None)
        if not path:
            continue
        files.append(path)
        cached = getattr(module, "__cached__", None)
        if cached:
            files.append(cached)
    return sorted({f for f in files if os.path.isfile(f)})


def preload(targets) -> None:
    """Import the targets' modules now (the zygote), while their files can still be read."""
    for module_name, _ in targets:
        try:
            importlib.import_module(module_name)
        except Exception:                           # noqa: BLE001 - absent: nothing to block
            pass


def install(spec: dict) -> dict:
    """Block one topic's forbidden built-ins: {"kernels": [regex], "python": [[module, regex]]}."""
    kernels = block_kernels(spec.get("kernels") or [])
    python = block_python(spec.get("python") or [])
    import linecache
    linecache.clearcache()                          # no cached source of what was just removed
    return {"kernels": kernels, "python": python}
