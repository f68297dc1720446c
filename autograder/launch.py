"""Starting worker processes: forked from a zygote (fast), or by fork+exec (fallback).

The zygote (`zygote.py`) is a clean interpreter started by fork+exec that has
imported torch and warmed it up once; every worker is a fork of it that isolates
itself before running anything else. That turns a worker's start-up from
seconds of CPU (import torch, first meta op, first optimizer) into a fork.

The fork+exec launcher (`python -I` under `unshare` and `setpriv`) is kept for
hosts where the zygote cannot run (not Linux) and for AG_ZYGOTE=0.

Both return a handle with `pid`, `poll()`, `wait(timeout)` and `returncode`,
like subprocess.Popen; the pid is the leader of the worker's process group.
"""
from __future__ import annotations

import atexit
import json
import os
import queue
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from . import isolation

RUNTIME_FILES = ("worker.py", "wire.py", "testfns.py", "guard.py")
BOOT = ("import sys; sys.path.insert(0, sys.argv[1]); import worker; "
        "worker.main(sys.argv[2:])")
ZYGOTE_BOOT = "import sys; sys.path.insert(0, sys.argv[1]); import zygote; zygote.main(sys.argv[2:])"
SETUP_FAILED = 121                  # zygote.SETUP_FAILED: the sandbox could not be set up


def use_zygote() -> bool:
    return sys.platform == "linux" and os.environ.get("AG_ZYGOTE", "1") != "0"


def start(*, scratch: Path, uid: int | None, layers: isolation.Layers, cgroup, hide: list[Path],
          rlimits: dict[str, int], env: dict[str, str], shared_env: dict[str, str],
          fds: tuple[int, int]):
    """Start one worker serving the pipes `fds` (its request and reply ends).

    `env` is the worker's whole environment; `shared_env` the part every worker
    shares (what the zygote is started with). The worker runtime is already in
    scratch/runtime. Returns a Popen-like handle.
    """
    if use_zygote():
        mounts = isolation.mount_plan(scratch, hide, guarded_sources()) if layers.namespaces else []
        spec = {"scratch": str(scratch), "uid": uid, "env": env, "namespaces": layers.namespaces,
                "mounts": mounts,
                "cgroup_procs": [str(d / "cgroup.procs") for d in cgroup.dirs] if cgroup else [],
                "rlimits": rlimits}
        try:
            return zygote_for(shared_env).spawn(spec, *fds)
        except OSError as exc:          # this one the slow way; the next gets a new zygote
            print(f"warning: {exc}; starting a worker by fork+exec", file=sys.stderr)
    command = isolation.wrap([sys.executable, "-I", "-c", BOOT, str(scratch / "runtime"), *map(str, fds)],
                             layers, uid, scratch, hide)
    return subprocess.Popen(
        command, cwd=scratch, env=env, pass_fds=fds, stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        preexec_fn=_limit_child(rlimits, cgroup), close_fds=True)


def guarded_modules() -> list[str]:
    """Every module whose Python code a topic's guard may block (guard.py)."""
    from .topics import ALL_GUARDS
    return sorted({module for module, _ in ALL_GUARDS.python})


def _all_guards() -> dict:
    """Every topic's guard in one spec, for the zygote to prepare (guard.prepare)."""
    from .topics import ALL_GUARDS
    return ALL_GUARDS.as_data()


_sources: list[str] = []


def guarded_sources() -> list[str]:
    """Their source and bytecode files, which a zygote's worker must not read: it has the
    modules in memory already (the zygote imported them), so a file could only serve to
    rebuild a blocked built-in. (The fork+exec launcher imports torch itself and needs them.)"""
    if not _sources:
        from . import guard
        targets = [[m, ""] for m in guarded_modules()]
        guard.preload(targets)
        _sources.extend(guard.source_files(targets))
    return list(_sources)


def _limit_child(rlimits: dict[str, int], cgroup):
    """Runs in the child between fork and exec: limits that the exec'd process inherits."""
    def apply():
        os.setsid()
        if cgroup is not None:
            cgroup.enter()
        for name, value in rlimits.items():
            resource.setrlimit(getattr(resource, name), (value, value))
    return apply


def copy_runtime(folder: Path, extra: tuple[str, ...] = ()) -> None:
    here = Path(__file__).parent
    folder.mkdir(exist_ok=True)
    for name in RUNTIME_FILES + extra:
        shutil.copy(here / name, folder / name)


class ZygoteChild:
    """A worker forked by the zygote: its exit status comes back over the control socket."""

    def __init__(self, zygote: "Zygote", pid: int):
        self.zygote = zygote
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self.zygote.exit_code(self.pid)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise subprocess.TimeoutExpired(f"worker {self.pid}", timeout)
            self.zygote.wait_for_change(min(left, 0.2) if left is not None else 0.2)
        return self.returncode


class Zygote:
    """One zygote process and the socket to it; spawn() is safe from many threads."""

    def __init__(self, env: dict[str, str]):
        self.folder = Path(tempfile.mkdtemp(prefix=isolation.owned_prefix("ag_zygote")))
        os.chmod(self.folder, 0o700)
        copy_runtime(self.folder, ("zygote.py",))
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-c", ZYGOTE_BOOT, str(self.folder), str(theirs.fileno()),
             json.dumps(guarded_modules()), json.dumps(_all_guards())],
            cwd=self.folder, env={**env, "HOME": str(self.folder), "TMPDIR": str(self.folder)},
            pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            start_new_session=True)          # Ctrl-C in the terminal is the grader's to handle
        theirs.close()
        self._sock = ours
        self._send_lock = threading.Lock()
        self._replies: queue.Queue[dict] = queue.Queue()
        self._exits: dict[int, int] = {}
        self._changed = threading.Condition()
        self.alive = True
        threading.Thread(target=self._read, name="zygote-reader", daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                data = self._sock.recv(1 << 16)
            except OSError:
                data = b""
            if not data:
                break
            message = json.loads(data)
            with self._changed:
                if "exit" in message:
                    self._exits[message["exit"]] = message["code"]
                    self._changed.notify_all()
                    continue
                if "pid" in message:             # a reused pid: forget the old process's exit
                    self._exits.pop(message["pid"], None)
            self._replies.put(message)
        with self._changed:
            self.alive = False
            self._changed.notify_all()
        self._replies.put({"error": "the zygote exited"})

    def spawn(self, spec: dict, request_fd: int, reply_fd: int) -> ZygoteChild:
        with self._send_lock:
            if not self.alive:
                raise OSError("the zygote exited")
            socket.send_fds(self._sock, [json.dumps(spec).encode()], [request_fd, reply_fd])
            reply = self._replies.get()
        if "pid" not in reply:
            raise OSError(f"the zygote could not start a worker: {reply.get('error')}")
        return ZygoteChild(self, reply["pid"])

    def exit_code(self, pid: int) -> int | None:
        with self._changed:
            if pid in self._exits:
                return self._exits[pid]
            if not self.alive and not os.path.exists(f"/proc/{pid}"):
                return -9                        # the zygote died; its child is gone too
        return None

    def wait_for_change(self, timeout: float) -> None:
        with self._changed:
            self._changed.wait(timeout)

    def close(self) -> None:
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


_zygotes: dict[tuple, Zygote] = {}
_zygotes_lock = threading.Lock()


def zygote_for(env: dict[str, str]) -> Zygote:
    """The zygote for this environment (threads, CUDA), started on first use, restarted if it died."""
    key = tuple(sorted(env.items()))
    with _zygotes_lock:
        zygote = _zygotes.get(key)
        if zygote is None or not zygote.alive:
            if zygote is not None:
                zygote.close()
            zygote = _zygotes[key] = Zygote(env)
        return zygote


@atexit.register
def close_zygotes() -> None:
    with _zygotes_lock:
        for zygote in _zygotes.values():
            zygote.close()
        _zygotes.clear()
