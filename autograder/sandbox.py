"""Starts, limits, talks to and kills worker processes.

A worker runs in its own session and process group, in a scratch folder holding
nothing but a copy of the worker runtime (`worker.py`, `wire.py`, `testfns.py`)
and, later, the student's files. It gets a clean environment, a memory limit, a
CPU-time limit and a bounded output file; every request has a wall-clock limit,
after which the whole process group is killed. How the process is started
(forked from the zygote, or fork+exec) is `launch.py`'s job.

Workers are started ahead of need (`WorkerPool`), while the previous submission
is still being graded.
"""
from __future__ import annotations

import os
import queue
import resource
import select
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from . import isolation, launch, wire

RUNTIME_FILES = launch.RUNTIME_FILES


class WorkerDied(RuntimeError):
    """The worker exited or was killed while a request was in flight.

    `code`: its exit status as the grader saw it (negative: killed by that signal),
    or None when it is not known."""

    def __init__(self, message: str, code: int | None = None):
        super().__init__(message)
        self.code = code


class WorkerTimeout(WorkerDied):
    """A request ran past its time limit; the worker was killed."""


@dataclass(frozen=True)
class Limits:
    """What one worker may use. docs/SECURITY.md gives each value with what an honest
    worker was measured to use and why the margin; tests/test_limits.py keeps the two equal."""
    memory_bytes: int = 2 << 30        # address space (RLIMIT_AS; with CUDA, RSS is watched
                                       # instead) and the worker cgroup's memory limit
    cpu_seconds: int = 300             # CPU time of each of the worker's processes
    output_bytes: int = 8 << 20        # the student's stdout/stderr log; any file it writes
    open_files: int = 256              # file descriptors of each process
    threads: int = 1                   # torch intra-op threads in the worker
    use_cuda: bool = False
    max_processes: int = 32            # processes and threads: the worker's cgroup and its uid
    hide: tuple[str, ...] = ()         # more trusted folders to hide (the grader's output)
    cgroup_parent: str = ""            # the batch's cgroup (isolation.batch_cgroup), if any


def _rlimits(limits: Limits, drop_uid: bool) -> dict[str, int]:
    """The rlimits every worker runs under, by resource name."""
    out = {"RLIMIT_CPU": limits.cpu_seconds, "RLIMIT_FSIZE": limits.output_bytes, "RLIMIT_CORE": 0,
           "RLIMIT_NOFILE": limits.open_files}
    if drop_uid:                       # counts the worker uid's processes and threads
        out["RLIMIT_NPROC"] = limits.max_processes
    if not limits.use_cuda:            # CUDA maps huge virtual ranges; RSS is watched instead
        out["RLIMIT_AS"] = limits.memory_bytes
    return out


def _base_env(limits: Limits) -> dict[str, str]:
    """The environment every worker shares (a worker adds its own HOME and TMPDIR)."""
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8",
           "OMP_NUM_THREADS": str(limits.threads), "MKL_NUM_THREADS": str(limits.threads),
           "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0"}
    for key in ("CUDA_VISIBLE_DEVICES", "LD_LIBRARY_PATH"):
        if key in os.environ:
            env[key] = os.environ[key]
    return env


PIPE_BYTES = 1 << 20      # Linux's default pipe-max-size; a 4 MB tensor in 4 writes, not 64


def _widen_pipe(fd: int) -> None:
    """A larger pipe buffer: a large tensor crosses in a few writes instead of a context
    switch every 64 KiB (Linux only; elsewhere, or above the system's limit, left as is)."""
    try:
        import fcntl
        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), PIPE_BYTES)
    except (OSError, ImportError, ValueError):
        pass


_uid_lock = threading.Lock()
_next_uid = [os.getpid() % 1000]          # graders running side by side start apart


def _worker_uid() -> int:
    """A uid no other live worker has (1000 in rotation): workers cannot touch each other."""
    with _uid_lock:
        _next_uid[0] = (_next_uid[0] + 1) % 1000
        return isolation.FIRST_UID + _next_uid[0]


class Worker:
    """One worker process and the pipes to it."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.layers = isolation.detect()
        uid = _worker_uid() if self.layers.uid else None
        self.scratch = isolation.prepare_scratch(uid)
        runtime = self.scratch / "runtime"
        launch.copy_runtime(runtime)
        if uid is not None:
            for path in [self.scratch, runtime, *runtime.iterdir()]:
                os.chown(path, uid, uid)
        self.cgroup = None
        if self.layers.cgroup:
            try:
                self.cgroup = isolation.CGroup(self.scratch.name, limits.memory_bytes,
                                               limits.max_processes, parent=limits.cgroup_parent)
            except OSError:
                self.cgroup = None
        req_r, self._req_w = os.pipe()
        self._rep_r, rep_w = os.pipe()
        for fd in (req_r, rep_w):
            _widen_pipe(fd)
        base_env = _base_env(limits)
        env = {**base_env, "HOME": str(self.scratch), "TMPDIR": str(self.scratch),
               "TORCHINDUCTOR_CACHE_DIR": str(self.scratch / "cache")}
        try:
            self.proc = launch.start(
                scratch=self.scratch, uid=uid, layers=self.layers, cgroup=self.cgroup,
                hide=[Path(h) for h in limits.hide], rlimits=_rlimits(limits, uid is not None),
                env=env, shared_env=base_env, fds=(req_r, rep_w))
        finally:
            os.close(req_r)
            os.close(rep_w)
        self.started = time.monotonic()
        self.dead = False

    @property
    def pid(self) -> int:
        return self.proc.pid

    def request(self, payload: bytes, timeout: float) -> bytes:
        """Send one request and wait for its reply, at most `timeout` seconds."""
        if self.dead:
            raise WorkerDied("the worker is no longer running")
        try:
            wire.send(self._req_w, payload)
        except (BrokenPipeError, OSError):
            self.kill(grace=1.0)
            raise self._died() from None
        deadline = time.monotonic() + timeout
        try:
            header = self._read(8, deadline)
            (n,) = __import__("struct").unpack("<Q", header)
            if n > wire.MAX_MESSAGE_BYTES:
                self.kill()
                raise WorkerDied(f"the worker sent a reply of {n} bytes, over the limit")
            return self._read(n, deadline)
        except WorkerTimeout:
            self.kill()
            raise

    def _read(self, n: int, deadline: float) -> bytes:
        chunks, left = [], n
        while left:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WorkerTimeout("time limit exceeded")
            ready, _, _ = select.select([self._rep_r], [], [], min(remaining, 0.5))
            if not ready:
                if self.proc.poll() is not None:
                    self.kill()
                    raise self._died()
                if self.limits.use_cuda and self.rss_bytes() > self.limits.memory_bytes:
                    self.kill()         # RLIMIT_AS breaks CUDA, so memory is watched instead
                    raise WorkerDied(f"the worker used more than {self.limits.memory_bytes >> 30} GiB "
                                     "of memory and was stopped")
                continue
            chunk = os.read(self._rep_r, min(left, 1 << 20))
            if not chunk:
                self.kill(grace=1.0)
                raise self._died()
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def rss_bytes(self) -> int:
        """Memory of the worker and everything it started: the cgroup's count, or the
        resident memory of every process in the worker's session (Linux /proc)."""
        if self.cgroup is not None:
            try:
                return int((self.cgroup.dirs[0] / "memory.usage_in_bytes").read_text())
            except (OSError, ValueError):
                pass
        total = 0
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as fh:
                        fields = fh.read().rsplit(")", 1)[1].split()
                except (OSError, IndexError):
                    continue
                if len(fields) > 21 and int(fields[3]) == self.proc.pid:    # session id
                    total += int(fields[21]) * resource.getpagesize()
        return total

    def _died(self) -> WorkerDied:
        try:
            code = self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return WorkerDied("the worker stopped answering")
        return WorkerDied(self._death_reason(code), code)

    @staticmethod
    def _death_reason(code: int) -> str:
        if code == launch.SETUP_FAILED:
            return "the worker's sandbox could not be set up (a grading problem, not the submission's)"
        if code < 0:
            sig = signal.Signals(-code).name
            hint = {"SIGKILL": " (killed: out of memory, or by the grader)",
                    "SIGXCPU": " (CPU time limit)", "SIGXFSZ": " (printed too much output)",
                    "SIGSEGV": " (crashed)"}.get(sig, "")
            return f"the worker was killed by {sig}{hint}"
        return f"the worker exited with status {code} (sys.exit or os._exit in the submission?)"

    def output_log(self, limit: int = 4000) -> str:
        path = self.scratch / "output.log"
        try:
            with open(path, "rb") as fh:
                return fh.read(limit).decode("utf-8", "replace")
        except OSError:
            return ""

    def kill(self, grace: float = 0.0) -> None:
        """Kill the worker's whole process group and release its resources.

        `grace`: a worker that closed its pipe is usually exiting; waiting for it a
        moment keeps its own exit status (sys.exit(3), a signal) for the feedback.
        """
        if not self.dead:
            self.dead = True
            if grace:
                try:
                    self.proc.wait(timeout=grace)
                except subprocess.TimeoutExpired:
                    pass
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            if self.cgroup is not None:     # and whatever left the group (os.setsid())
                self.cgroup.kill_all()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            for fd in (self._req_w, self._rep_r):
                try:
                    os.close(fd)
                except OSError:
                    pass

    def close(self) -> None:
        self.kill()
        if self.cgroup is not None:
            self.cgroup.close()
        shutil.rmtree(self.scratch, ignore_errors=True)


# ----------------------------------------------------------------------------- pool sizing

BATCH_MEMORY_FRACTION = 0.5     # of the machine's memory, for all the workers of one batch
# A started worker waiting in the pool (measured: docs/SECURITY.md): 2 tasks and 3 MiB
# forked from the zygote; by fork+exec 3 tasks while it starts (unshare, sh, mount) and
# 146 MiB (it has imported torch itself).
IDLE_WORKER_TASKS = 3
IDLE_WORKER_BYTES = 256 << 20


@dataclass(frozen=True)
class Capacity:
    """What the workers of one batch may use together: derived from the machine and the
    per-worker limits, never from the number of jobs asked for."""
    machine_bytes: int      # the machine's memory
    memory_bytes: int       # the batch cgroup's memory limit
    max_pids: int           # the batch cgroup's pids limit
    workers: int            # workers busy at once, each free to reach its own limits


def physical_memory() -> int:
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def capacity(limits: Limits, machine_bytes: int | None = None) -> Capacity:
    """How many workers this machine holds at once, and the batch cgroup's bounds.

    Each busy worker may reach its own memory and process limits without the batch's
    limits stopping it first (they would stop its neighbours too), beside a spare started
    ahead of need (WorkerPool keeps one a job).
    """
    machine = machine_bytes or physical_memory()
    budget = int(machine * BATCH_MEMORY_FRACTION)
    workers = max(1, budget // (limits.memory_bytes + IDLE_WORKER_BYTES))
    return Capacity(machine, budget, workers * (limits.max_processes + IDLE_WORKER_TASKS), workers)


def prestart(limits: Limits) -> None:
    """Start the zygote that workers with these limits are forked from, without waiting for
    it: it imports torch (seconds) while the grader does its own start-up."""
    if launch.use_zygote():
        try:
            launch.zygote_for(_base_env(limits))
        except OSError:
            pass                        # the first worker tries again, and says why


class WorkerPool:
    """Hands out fresh workers, keeping `spare` of them started ahead of need.

    A worker serves one submission only (student code may have patched
    anything inside it), so workers are never returned to the pool.
    """

    def __init__(self, limits: Limits, spare: int = 1):
        self.limits = limits
        self.spare = spare
        self._ready: queue.Queue[Worker] = queue.Queue()
        self._lock = threading.Lock()
        self._closed = False
        self._handed_out: list[Worker] = []
        isolation.sweep_leftovers()
        for _ in range(spare):
            self._ready.put(Worker(limits))

    def take(self) -> Worker:
        with self._lock:
            try:
                worker = self._ready.get_nowait()
            except queue.Empty:
                worker = None
            if not self._closed:
                self._ready.put(Worker(self.limits))    # replace it at once: warm for the next
        if worker is not None and worker.proc.poll() is not None:
            worker.close()                              # died while waiting: free its folder
            worker = None
        if worker is None:
            worker = Worker(self.limits)
        with self._lock:
            self._handed_out = [w for w in self._handed_out if not w.dead] + [worker]
        return worker

    def kill_all(self) -> None:
        """Stop every worker handed out (Ctrl-C): their submissions are not written."""
        with self._lock:
            workers, self._handed_out = self._handed_out, []
        for worker in workers:
            worker.kill()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            while not self._ready.empty():
                self._ready.get_nowait().close()
