"""The untrusted side: imports the student's modules and runs what it is asked to.

A worker knows nothing about checks, references or expected values. It receives
requests over a pipe (see `wire`), each one small: "import this module", "call
this function with these tensors", "read this attribute", and answers with plain
data. Objects that are not plain data (modules, optimizers) stay here and are
named by a handle id.

The same `Executor` runs the reference in the grader's own process, so both
implementations are driven by exactly the same code path.

`main()` serves one submission. It is called in a fork of the zygote (`zygote.py`)
or, with fork+exec, as `python -I -c BOOT RUNTIME_DIR REQUEST_FD REPLY_FD` (see
`launch.py`); either way with only this file, `wire.py` and `testfns.py` in the
worker's runtime folder.
"""
from __future__ import annotations

import importlib
import io
import os
import random
import sys
import traceback
from pathlib import Path
from typing import Any

import torch

try:                                    # inside the grader's package
    from . import guard, testfns, wire
except ImportError:                     # in the worker's runtime folder
    import guard
    import testfns
    import wire

TRACEBACK_LIMIT = 4000
UNCHANGED = "unchanged"                 # in args_after: the argument is as it was sent


class Executor:
    """Runs requests against the modules of one implementation."""

    def __init__(self, module_dir: str | Path, module_prefix: str = "", backward=None):
        self.module_dir = Path(module_dir)
        self.module_prefix = module_prefix      # "" in a worker; unique on the trusted side
        self.backward = backward or _backward   # call_with_grad's (local_run.py has its own)
        self.modules: dict[str, Any] = {}
        self.handles: dict[int, Any] = {}
        self.handle_ids: dict[int, int] = {}    # id(obj) -> handle, so an object keeps one handle

    # ------------------------------------------------------------------ requests
    def handle(self, request: dict) -> dict:
        op = request.get("op")
        method = getattr(self, f"op_{op}", None) if isinstance(op, str) else None
        if method is None:
            return {"error": {"type": "ProtocolError", "types": [], "message": f"unknown op {op!r}"}}
        if "seed" in request and op != "seed":      # impl.manual_seed's, before the request runs
            try:
                self.op_seed(request)
            except BaseException as exc:            # noqa: BLE001 - as a failed op_seed was:
                if isinstance(exc, KeyboardInterrupt) and self.module_prefix:
                    raise
                pass                                # the request itself meets the problem
        try:
            return method(request)
        except BaseException as exc:       # student code may raise anything, even SystemExit
            if isinstance(exc, KeyboardInterrupt) and self.module_prefix:
                raise                      # the grader's own Ctrl-C
            return {"error": describe_error(exc)}

    def op_hello(self, request):
        return {"value": {"torch": torch.__version__, "cuda": torch.cuda.is_available(),
                          "pid": os.getpid()}}

    def op_configure(self, request):
        torch.set_num_threads(int(request.get("threads", 1)))
        # Same numerics on both sides: no TF32 anywhere.
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        _warm_up(bool(request.get("cuda")))
        blocked = guard.install(request.get("guard") or {})   # before any student code exists
        return {"value": blocked}

    def op_write(self, request):
        """Write the student's source files (name -> text) into the module folder."""
        self.module_dir.mkdir(parents=True, exist_ok=True)
        for name, text in request["files"].items():
            if "/" in name or "\\" in name or name.startswith("."):
                raise ValueError(f"bad file name {name!r}")
            (self.module_dir / name).write_text(text, encoding="utf-8")
        return {"value": None}

    def op_import(self, request):
        """Import one module. `as` renames it; `stand_ins` (name -> source) replace the
        modules it imports by those names, for this import only."""
        name = request["module"]
        as_name = request.get("as") or name
        stand_ins = request.get("stand_ins") or {}
        if str(self.module_dir) not in sys.path:
            if self.module_prefix:
                sys.path.append(str(self.module_dir))
            else:
                sys.path.insert(0, str(self.module_dir))
        saved = {key: sys.modules.get(key) for key in stand_ins}
        try:
            for key, source in stand_ins.items():
                sys.modules[key] = _module_from_source(key, source)
            if self.module_prefix or as_name != name:
                module = _import_private(self.module_prefix + as_name, self.module_dir / f"{name}.py")
            else:
                module = importlib.import_module(name)
        finally:
            for key, old in saved.items():
                if old is None:
                    sys.modules.pop(key, None)
                else:
                    sys.modules[key] = old
        self.modules[as_name] = module
        return {"value": None}

    def op_seed(self, request):
        """Seed every global generator a submission may draw from."""
        seed = int(request["seed"])
        torch.manual_seed(seed)
        random.seed(seed)
        if "numpy" in sys.modules:
            sys.modules["numpy"].random.seed(seed % 2**32)
        return {"value": None}

    def op_get(self, request):
        return {"value": self.resolve(request["target"])}

    def op_set(self, request):
        path = list(request["target"]["path"])
        kind, key = path.pop()
        parent = self.resolve({**request["target"], "path": path})
        value = request["value"]
        if kind == "attr":
            setattr(parent, key, value)
        else:
            parent[key] = value
        return {"value": None}

    def op_modules(self, request):
        """[qualified name, class name, class's module] for every submodule of a module."""
        module = self.resolve(request["target"])
        return {"value": [[name, type(m).__name__, type(m).__module__]
                          for name, m in module.named_modules()]}

    def op_param(self, request):
        """A tensor that lives here (a leaf that requires grad), named by a handle; with
        "values", one for each (a list of handles)."""
        if "values" in request:
            return {"value": [self.register(torch.nn.Parameter(v.detach().clone(), requires_grad=True))
                              for v in request["values"]]}
        param = torch.nn.Parameter(request["value"].detach().clone(), requires_grad=True)
        return {"value": self.register(param)}

    def op_call(self, request):
        """Call a function. The reply carries the result and every tensor argument as it is
        after the call: the caller compares them with what it sent (in-place changes are
        judged where the inputs came from, not here)."""
        target = self.resolve(request["target"])
        args = list(request.get("args", []))
        kwargs = dict(request.get("kwargs", {}))
        upstream = request.get("backward")
        sent = {key: t.detach().clone() for key, t in _tensor_args(args, kwargs)}
        with torch.enable_grad() if upstream is not None else _nullcontext():
            result = target(*args, **kwargs)
            if upstream is not None:
                self.backward(result, upstream)
        # An argument that is as it came is not sent back (a 4 MB input cost more to send than
        # to compare here); one that changed comes back whole, for the caller to judge.
        reply = {"value": result,
                 "args_after": [[key, UNCHANGED if same_tensor(sent[key], t) else t.detach()]
                                for key, t in _tensor_args(args, kwargs)]}
        if upstream is not None:
            reply["grads"] = [[key, t.grad] for key, t in _tensor_args(args, kwargs) if t.requires_grad]
        return reply

    # ------------------------------------------------------------------ values
    def resolve(self, ref: dict) -> Any:
        if "library" in ref:                    # PyTorch itself, to build test models with,
            obj = {"torch": torch, "testfns": testfns}.get(ref["library"])   # or test functions
            if obj is None:
                raise ValueError(f"unknown library {ref['library']!r}")
        elif "module" in ref:
            obj = self.modules.get(ref["module"])
            if obj is None:
                raise ModuleNotFoundError(f"module {ref['module']!r} was not imported")
        else:
            obj = self.handles[int(ref["handle"])]
        for kind, key in ref.get("path", []):
            obj = getattr(obj, key) if kind == "attr" else obj[_key(key)]
        return obj

    def register(self, obj) -> dict:
        """Keep a non-data object here and name it by a handle (one handle per object)."""
        handle = self.handle_ids.get(id(obj))
        if handle is None:
            handle = len(self.handles) + 1
            self.handles[handle] = obj
            self.handle_ids[id(obj)] = handle
        return {"__handle__": handle, "type": type(obj).__name__}

    def handle_bytes(self, data: bytes) -> bytes:
        """One request in, one reply out, both as wire bytes."""
        try:
            request = wire.loads(data, handle=lambda h: self.handles[int(h["__handle__"])],
                                 ref=self.resolve)
        except (wire.WireError, KeyError, ValueError) as exc:
            request = {"op": None, "_error": str(exc)}
        reply = self.handle(request)
        try:
            return wire.dumps(reply, fallback=self.register)
        except Exception as exc:           # an unsendable value: report it, stay alive
            return wire.dumps({"error": {
                "type": "UnsendableResult", "types": [],
                "message": f"the result could not be sent back: {exc}"}})


# ---------------------------------------------------------------------- helpers

class _nullcontext:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _import_private(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _warm_up(cuda: bool) -> None:
    """Pay one-time costs before any check's clock runs: the first meta-device op
    imports ~800 modules (meta registrations, decompositions), the first autograd
    backward and the first CUDA call initialise their machinery."""
    x = torch.ones(4, 3, device="meta")
    (x - x.mean(0)) / torch.sqrt(x.var(0) + 1e-5)
    y = torch.ones(3, requires_grad=True)
    (y * 2).sum().backward()
    torch.optim.Optimizer([y], {})          # the first optimizer imports torch._dynamo (seconds)
    if cuda and torch.cuda.is_available():
        torch.ones(1, device="cuda").sum().item()


def _module_from_source(name: str, source: str):
    module = type(sys)(name)
    exec(compile(source, f"<stand-in {name}>", "exec"), module.__dict__)
    return module


def _tensor_args(args, kwargs):
    """(key, tensor) for the plain tensors among the arguments (Parameters live where they
    were made); the grader's side (impl.py) uses the same rule for what it sent."""
    for i, a in enumerate(args):
        if isinstance(a, torch.Tensor) and not isinstance(a, torch.nn.Parameter):
            yield i, a
    for k, a in kwargs.items():
        if isinstance(a, torch.Tensor) and not isinstance(a, torch.nn.Parameter):
            yield k, a


def _backward(result, upstream):
    outs = result if isinstance(result, (list, tuple)) else [result]
    grads = upstream if isinstance(upstream, (list, tuple)) else [upstream]
    pairs = [(o, g) for o, g in zip(outs, grads) if isinstance(o, torch.Tensor) and g is not None]
    if not pairs:
        return
    if not any(o.requires_grad for o, _ in pairs):
        raise RuntimeError("the output does not require grad: the computation was cut off "
                           "from the inputs (detach, .data, torch.no_grad or a new tensor?)")
    pairs = [(o, g) for o, g in pairs if o.requires_grad]
    torch.autograd.backward([o for o, _ in pairs], [g for _, g in pairs])


def same_tensor(sent: torch.Tensor, back) -> bool:
    """Whether `back` equals the tensor `sent` (NaN equal to NaN; the same shape, dtype and
    device type)."""
    if not isinstance(back, torch.Tensor):
        return False
    if sent.shape != back.shape or sent.dtype != back.dtype or sent.device.type != back.device.type:
        return False
    if sent.device.type == "meta":
        return True                                 # no values to compare
    back = back.to(sent.device)
    if torch.equal(sent, back):
        return True
    return bool((sent.is_floating_point() or sent.is_complex())
                and torch.equal(sent.isnan(), back.isnan())
                and torch.equal(sent.nan_to_num(), back.nan_to_num()))


def _key(key):
    return tuple(key) if isinstance(key, list) else key


def describe_error(exc: BaseException) -> dict:
    tb = traceback.format_exception(type(exc), exc, exc.__traceback__)
    text = "".join(line for line in tb if "autograder" not in line and "/wire.py" not in line
                   and "/worker.py" not in line and "/testfns.py" not in line)
    line = None
    if isinstance(exc, SyntaxError):
        line = exc.lineno
    else:
        frames = traceback.extract_tb(exc.__traceback__)
        student = [f for f in frames if "worker.py" not in f.filename and "/torch/" not in f.filename
                   and not f.filename.endswith("testfns.py")]
        if student:
            line = student[-1].lineno
            file = Path(student[-1].filename).name
            return {"type": type(exc).__name__, "types": [c.__name__ for c in type(exc).__mro__],
                    "message": _safe_str(exc), "traceback": text[-TRACEBACK_LIMIT:],
                    "file": file, "line": line}
    return {"type": type(exc).__name__, "types": [c.__name__ for c in type(exc).__mro__],
            "message": _safe_str(exc), "traceback": text[-TRACEBACK_LIMIT:], "line": line,
            "file": Path(exc.filename).name if isinstance(exc, SyntaxError) and exc.filename else None}


def _safe_str(exc) -> str:
    try:
        return str(exc)[:2000]
    except BaseException:
        return f"<{type(exc).__name__} with an unprintable message>"


# ---------------------------------------------------------------------- process entry point

def serve(request_fd: int, reply_fd: int, scratch: str) -> None:
    """Answer requests until the grader closes the pipe.

    A process the submission forked comes back here too, with the same pipes: only
    the process that read the request answers it; any other copy leaves quietly."""
    executor = Executor(Path(scratch) / "submission")
    server = os.getpid()
    while True:
        try:
            data = wire.recv(request_fd)
        except EOFError:
            return
        reply = executor.handle_bytes(data)
        sys.stdout.flush()
        if os.getpid() != server:
            os._exit(0)
        wire.send(reply_fd, reply)


def main(argv: list[str]) -> None:
    request_fd, reply_fd = int(argv[0]), int(argv[1])
    scratch = os.getcwd()
    # Student output goes to a bounded log file, never into the protocol.
    log = os.open(os.path.join(scratch, "output.log"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    sys.stdout = io.TextIOWrapper(os.fdopen(1, "wb", buffering=0), write_through=True)
    sys.stderr = sys.stdout
    sys.stdin = open(os.devnull)
    serve(request_fd, reply_fd, scratch)
    os._exit(0)
