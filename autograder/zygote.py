"""The worker factory: imports torch once, then forks a fresh worker per request.

Starting a worker by fork+exec costs seconds of CPU (importing torch, the first
meta-device op, the first optimizer), paid again for every submission. The
zygote is itself started by fork+exec of a clean interpreter, holds nothing but
torch and the worker runtime (no reference, no hidden checks, no expected
values), and pays those costs once. Each worker is then a fork of it that sets
up its own isolation before any student code runs:

    zygote (grader's uid) --fork--> keeper: new session, cgroup, unshare
                                    (mount, net, pid)
                                      --fork--> worker: pid 1 of its namespace,
                                                fresh /proc, hidden folders,
                                                rlimits, unprivileged uid,
                                                no_new_privs -> worker.main()

The keeper only waits and passes on the worker's exit status; killing the
keeper's process group kills both, and the worker's death ends its namespace.

Runs as:  python -I -c BOOT RUNTIME_DIR CONTROL_FD
The control socket (SOCK_SEQPACKET) carries JSON requests with two file
descriptors (the worker's request and reply pipes) and brings back
{"pid": n} for each request and {"exit": n, "code": c} when a worker ends, in
the order they happened. When the grader closes it, the zygote exits.
"""
from __future__ import annotations

import ctypes
import json
import os
import random
import resource
import select
import signal
import socket
import sys
import traceback

import torch

import guard
import worker

SETUP_FAILED = 121          # exit status of a worker whose isolation could not be set up

CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWNET = 0x00020000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38

_libc = ctypes.CDLL(None, use_errno=True)


def _sys(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(source, target, fstype, flags: int, data) -> None:
    enc = (lambda s: None if s is None else str(s).encode())
    _sys(_libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)),
         f"mount {target}")


def apply_mount_plan(plan: list[list]) -> None:
    """Carry out isolation.mount_plan(): the same steps the shell launcher runs."""
    for step in plan:
        kind, args, required = step[0], step[1:-1], step[-1]
        try:
            if kind == "private":
                _mount(None, "/", None, MS_REC | MS_PRIVATE, None)
            elif kind == "proc":
                _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None)
            elif kind == "tmpfs":
                _mount("tmpfs", args[0], "tmpfs", 0, args[1])
            elif kind == "mkdir":
                os.makedirs(args[0], exist_ok=True)
            elif kind == "bind":
                _mount(args[0], args[1], None, MS_BIND, None)
            elif kind == "remount_ro_bind":
                _mount(None, args[0], None, MS_REMOUNT | MS_BIND | MS_RDONLY, None)
            elif kind == "remount_ro":
                _mount(None, args[0], None, MS_REMOUNT | MS_RDONLY, None)
            else:
                raise ValueError(f"unknown mount step {kind!r}")
        except OSError:
            if required:
                raise


def _open_fds() -> list[int]:
    return [int(name) for name in os.listdir("/proc/self/fd")]


def _close_fds_except(keep: set[int], fds: list[int] | None = None) -> None:
    for fd in _open_fds() if fds is None else fds:
        if fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass


def _become_worker(spec: dict, request_fd: int, reply_fd: int, started_fd: int) -> None:
    """In the fork: isolate, then serve. Never returns."""
    try:
        os.setsid()
        for procs in spec["cgroup_procs"]:             # before anything can fork
            with open(procs, "w") as fh:
                fh.write("0")
        os.write(started_fd, b"1")                     # the grader may now kill our group
        os.close(started_fd)
        if spec["namespaces"]:
            _sys(_libc.unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID), "unshare")
            open_now = _open_fds()                     # the worker's fresh /proc will hide ours
            child = os.fork()                          # pid 1 of the new namespace
            if child:
                _keep(child, open_now)
            _sys(_libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl(PDEATHSIG)")
            apply_mount_plan(spec["mounts"])
        for name, value in spec["rlimits"].items():
            resource.setrlimit(getattr(resource, name), (value, value))
        os.chdir(spec["scratch"])
        if spec["uid"] is not None:
            os.setgroups([])
            os.setgid(spec["uid"])
            os.setuid(spec["uid"])
            if spec["namespaces"]:     # a change of uid clears it: die with the keeper even
                _sys(_libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl(PDEATHSIG)")
        _sys(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(NO_NEW_PRIVS)")
        os.environ.clear()
        os.environ.update(spec["env"])
        import tempfile
        tempfile.tempdir = None
        sys.path[0] = os.path.join(spec["scratch"], "runtime")
        random.seed()                                  # not the zygote's sequence
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        _close_fds_except({0, 1, 2, request_fd, reply_fd})
    except BaseException:                              # noqa: BLE001 - reported, then exit
        traceback.print_exc()                          # to the grader's stderr (still fd 2)
        os._exit(SETUP_FAILED)
    try:
        worker.main([str(request_fd), str(reply_fd)])
    finally:
        os._exit(0)


def _keep(child: int, fds: list[int]) -> None:
    """The keeper: wait for the worker, then end the same way it did."""
    _close_fds_except({0, 1, 2}, fds)
    while True:
        try:
            _, status = os.waitpid(child, 0)
            break
        except ChildProcessError:
            os._exit(SETUP_FAILED)
        except InterruptedError:
            continue
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig not in (signal.SIGKILL, signal.SIGSTOP):     # those two cannot be handled
            signal.signal(sig, signal.SIG_DFL)                # (and are never caught anyway)
        os.kill(os.getpid(), sig)
    os._exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else SETUP_FAILED)


def serve(control: socket.socket) -> None:
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    while True:
        ready, _, _ = select.select([control, wake_r], [], [])
        if wake_r in ready:
            os.read(wake_r, 4096)
        _reap(control)
        if control not in ready:
            continue
        try:
            message, fds, _, _ = socket.recv_fds(control, 1 << 20, 2)
        except OSError:
            return
        if not message:
            return                                      # the grader is gone
        spec = json.loads(message)
        started_r, started_w = os.pipe()
        try:
            pid = os.fork()
        except OSError as exc:
            for fd in (*fds, started_r, started_w):
                os.close(fd)
            control.send(json.dumps({"error": str(exc)}).encode())
            continue
        if pid == 0:
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            for fd in (wake_r, wake_w, started_r, control.detach()):
                os.close(fd)
            _become_worker(spec, fds[0], fds[1], started_w)
        for fd in (*fds, started_w):
            os.close(fd)
        # Answer once the child leads its own process group (or has died): from then on,
        # killing that group reaches it and everything it starts.
        os.read(started_r, 1)
        os.close(started_r)
        control.send(json.dumps({"pid": pid}).encode())


def _reap(control: socket.socket) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        control.send(json.dumps({"exit": pid, "code": os.waitstatus_to_exitcode(status)}).encode())


def main(argv: list[str]) -> None:
    control = socket.socket(fileno=int(argv[0]))
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    worker._warm_up(False)                  # once, for every worker forked from here
    if len(argv) > 1:                       # in memory before the workers' mount plans hide
        guard.preload([[m, ""] for m in json.loads(argv[1])])     # their files
    if len(argv) > 2:                       # what every topic's guard blocks, found once
        guard.prepare(json.loads(argv[2]))
    serve(control)


if __name__ == "__main__":
    main(sys.argv[1:])
