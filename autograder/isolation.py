"""Isolation layers for workers, detected once from what the host offers.

Always (any Linux host): a fresh interpreter by fork+exec, its own session and
process group, a clean environment, rlimits (address space, CPU time, file
size, no core dumps), a wall-clock limit per request, output to a bounded file.

When the grader runs as root and `unshare`, `setpriv` and `mount` work:
- an unprivileged uid of its own for every worker (no capabilities, no setuid);
- a PID namespace: when the worker dies, every process it started dies with it;
- a network namespace with no interfaces up: no network;
- a mount namespace in which the course repository (solutions, hidden checks,
  grades), /tmp (the reference's scratch), the grader's output folder and root's
  home are replaced by empty read-only filesystems, and /dev/shm is a small tmpfs;
and, when the cgroup v1 memory and pids controllers are writable, a cgroup per
worker whose memory limit also counts shared memory and tmpfs pages, and whose
process count is bounded, inside one cgroup per batch that bounds all of the
batch's workers together (`batch_cgroup`, sized by `sandbox.capacity`).

`detect()` says which layers are active; every results.json records it, and the
grader warns loudly when it grades below the recommended set.
"""
from __future__ import annotations

import functools
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

CGROUP_V1 = Path("/sys/fs/cgroup")
SANDBOX_BASE = Path(os.environ.get("AG_SANDBOX_DIR", "/var/lib/ag-sandbox"))
FIRST_UID = 61000           # workers get uids FIRST_UID .. FIRST_UID + 999 (need not exist)
RECOMMENDED = ("process", "rlimits", "uid", "pid-namespace", "net-namespace", "mount-namespace")


@dataclass(frozen=True)
class Layers:
    uid: bool = False            # drop to an unprivileged uid
    namespaces: bool = False     # pid, net and mount namespaces
    cgroup: bool = False         # cgroup v1 memory + pids limits

    def names(self) -> list[str]:
        active = ["process", "rlimits"]
        if self.uid:
            active.append("uid")
        if self.namespaces:
            active += ["pid-namespace", "net-namespace", "mount-namespace"]
        if self.cgroup:
            active.append("cgroup")
        return active

    def missing(self) -> list[str]:
        return [n for n in RECOMMENDED if n not in self.names()]


@functools.lru_cache(maxsize=1)
def detect() -> Layers:
    if os.environ.get("AG_ISOLATION") == "basic" or sys.platform != "linux":
        return Layers()
    tools = all(shutil.which(t) for t in ("unshare", "setpriv", "mount"))
    root = os.geteuid() == 0
    namespaces = False
    if tools and root:
        try:
            probe = subprocess.run(["unshare", "--mount", "--pid", "--net", "--fork", "--kill-child",
                                    "--mount-proc", "sh", "-c", "mount -t tmpfs none /mnt && true"],
                                   capture_output=True, timeout=20)
            namespaces = probe.returncode == 0
        except (OSError, subprocess.SubprocessError):
            namespaces = False
    cgroup = root and all(os.access(CGROUP_V1 / c, os.W_OK) for c in ("memory", "pids"))
    return Layers(uid=root and namespaces, namespaces=namespaces, cgroup=cgroup)


def hidden_paths(extra: list[Path]) -> list[Path]:
    """Trusted places the worker must not see: the repository, /tmp, root's home, outputs."""
    from .topics import ROOT
    # The world-writable host folders too: what one worker leaves there, a later one could read.
    paths = [ROOT, Path("/tmp"), Path("/var/tmp"), Path("/run/lock"), Path.home()] + [Path(p) for p in extra]
    out = []
    for p in sorted({p.resolve() for p in paths}, key=lambda p: len(p.parts)):
        if p.exists() and p != Path("/") and not any(_inside(p, q) for q in out):
            out.append(p)                 # a place inside one already hidden needs nothing more
    return out


def keep_paths() -> list[Path]:
    """What the worker needs inside hidden places: the interpreter and its packages."""
    keep = []
    for p in {Path(sys.prefix), Path(sys.base_prefix), Path(sys.executable).resolve().parent.parent}:
        if p.exists():
            keep.append(p.resolve())
    return keep


def mount_plan(scratch: Path, hide: list[Path], blank_files: list[str] = ()) -> list[list]:
    """The mount namespace's set-up, as data: [step, args..., required].

    `blank_files` are files the worker sees as empty (/dev/null bound over them): the
    sources of the built-ins a topic's guard blocks (launch.guarded_sources).

    Run by the zygote's workers (zygote.apply_mount_plan) and, as a shell script,
    by the fork+exec launcher (`wrap`), so both hide exactly the same places.
    """
    hidden = hidden_paths(hide)
    keep = [k for k in keep_paths() if any(_inside(k, h) for h in hidden)]
    plan: list[list] = [["private", True], ["proc", True],
                        ["tmpfs", "/dev/shm", "size=64m,mode=1777", True]]
    # Keep what is needed under a hidden place: bind it aside first, then back.
    for i, k in enumerate(keep):
        plan += [["mkdir", f"/dev/shm/.keep{i}", True], ["bind", str(k), f"/dev/shm/.keep{i}", True]]
    for h in sorted(hidden, key=lambda p: len(p.parts)):
        if not _inside(scratch, h):
            plan.append(["tmpfs", str(h), "size=1m,mode=755", True])
    for i, k in enumerate(keep):
        plan += [["mkdir", str(k), True], ["bind", f"/dev/shm/.keep{i}", str(k), True],
                 ["remount_ro_bind", str(k), False]]
    for h in hidden:
        if not _inside(scratch, h) and not any(_inside(k, h) for k in keep):
            plan.append(["remount_ro", str(h), False])
    plan += [["bind", "/dev/null", str(f), True] for f in blank_files]
    return plan


def _shell_step(step: list) -> str:
    kind, args, required = step[0], step[1:-1], step[-1]
    line = {
        "private": lambda: "mount --make-rprivate /",
        "proc": lambda: "",                      # `unshare --mount-proc` does it
        "tmpfs": lambda: f"mount -t tmpfs -o {args[1]} tmpfs {_q(args[0])}",
        "mkdir": lambda: f"mkdir -p {_q(args[0])}",
        "bind": lambda: f"mount --bind {_q(args[0])} {_q(args[1])}",
        "remount_ro_bind": lambda: f"mount -o remount,bind,ro {_q(args[0])}",
        "remount_ro": lambda: f"mount -o remount,ro {_q(args[0])}",
    }[kind]()
    return line if required or not line else line + " || true"


def wrap(command: list[str], layers: Layers, uid: int, scratch: Path, hide: list[Path]) -> list[str]:
    """The command that starts `command` inside the active layers (the fork+exec launcher)."""
    if not layers.namespaces:
        return command
    script = ["set -e"] + [line for line in map(_shell_step, mount_plan(scratch, hide)) if line]
    inner = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--no-new-privs",
             "--inh-caps=-all", "--bounding-set=-all", "--"] if layers.uid else []
    script.append("exec " + " ".join(_q(c) for c in inner + command))
    return ["unshare", "--mount", "--pid", "--net", "--fork", "--kill-child", "--mount-proc",
            "sh", "-c", "\n".join(script)]


def _inside(path: Path, parent: Path) -> bool:
    try:
        Path(path).resolve().relative_to(parent)
        return True
    except ValueError:
        return False


def _q(value) -> str:
    text = str(value)
    return "'" + text.replace("'", "'\"'\"'") + "'"


# ----------------------------------------------------------------------------- cgroups

class CGroup:
    """A cgroup v1 memory + pids group; removed, with any group left inside it, by `close()`.

    A worker's group lies inside its batch's group (`parent`, see `batch_cgroup`) when
    there is one: the kernel then holds every worker to its own limits and all of them
    together to the batch's.
    """

    def __init__(self, name: str, memory_bytes: int, max_pids: int = 128, parent: str = ""):
        self.name = name
        self.dirs = [CGROUP_V1 / controller / "ag" / parent / name for controller in ("memory", "pids")]
        for d in self.dirs:
            d.mkdir(parents=True, exist_ok=True)
        mem = self.dirs[0]
        (mem / "memory.limit_in_bytes").write_text(str(memory_bytes))
        swap = mem / "memory.memsw.limit_in_bytes"
        if swap.exists():
            try:
                swap.write_text(str(memory_bytes))
            except OSError:
                pass
        (self.dirs[1] / "pids.max").write_text(str(max_pids))

    def enter(self) -> None:
        """Called in the child before exec: it and everything it starts join the group."""
        for d in self.dirs:
            with open(d / "cgroup.procs", "w") as fh:
                fh.write("0")

    def kill_all(self) -> None:
        """SIGKILL every process in the group and in the groups inside it, wherever its
        session or process group is."""
        for d in _tree(self.dirs[0]):
            try:
                pids = (d / "cgroup.procs").read_text().split()
            except OSError:
                continue
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, PermissionError, ValueError):
                    pass

    def pids(self) -> tuple[int, int]:
        """(tasks now, most tasks at once so far): processes and threads, those of the
        groups inside it included. The peak is the current count on kernels without pids.peak."""
        def read(name: str) -> int:
            return int((self.dirs[1] / name).read_text())
        now = read("pids.current")
        try:
            return now, read("pids.peak")
        except OSError:
            return now, now

    def oom_killed(self) -> bool:
        try:
            return "oom_kill 1" in (self.dirs[0] / "memory.oom_control").read_text() or \
                int((self.dirs[0] / "memory.failcnt").read_text()) > 0
        except (OSError, ValueError):
            return False

    def close(self) -> None:
        """Remove the group once its last process is gone (a killed worker takes a moment)."""
        import time
        deadline = time.monotonic() + 2.0
        while any(d.exists() for d in self.dirs):
            for d in self.dirs:
                _remove_tree(d)
            if time.monotonic() > deadline:
                break                      # a later grader's sweep removes it
            if any(d.exists() for d in self.dirs):
                self.kill_all()
                time.sleep(0.01)


def batch_cgroup(memory_bytes: int, max_pids: int) -> CGroup:
    """The group every worker of one batch lives in (`Limits.cgroup_parent`): whatever the
    number of jobs, the batch's workers together stay within these bounds."""
    import secrets
    return CGroup(owned_prefix("b") + secrets.token_hex(4), memory_bytes, max_pids)


def _tree(group: Path) -> list[Path]:
    """A cgroup folder and every group folder inside it, innermost first."""
    try:
        inner = [d for d in group.iterdir() if d.is_dir()]
    except OSError:
        return []
    return [t for d in inner for t in _tree(d)] + [group]


def _remove_tree(group: Path) -> None:
    """rmdir every empty group in the tree; one that still has processes stays."""
    for d in _tree(group):
        try:
            d.rmdir()
        except OSError:
            pass


def owned_prefix(kind: str) -> str:
    """A name prefix that says which grader process made a folder or cgroup.

    Graders may run side by side (two terminals, a test beside a batch); each
    cleans up only what a dead grader left, never a live one's fresh, still
    empty cgroup or scratch folder.
    """
    return f"{kind}-{os.getpid()}-"


def _owner_is_dead(name: str) -> bool:
    parts = name.split("-")
    if len(parts) < 3 or not parts[1].isdigit():
        return False                   # not ours, or an old layout: leave it
    try:
        os.kill(int(parts[1]), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False                   # alive (or pid reused): keep it
    return False


def sweep_leftovers() -> None:
    """Remove cgroups, worker scratch and reference folders left by graders that were killed."""
    import tempfile
    for controller in ("memory", "pids"):
        base = CGROUP_V1 / controller / "ag"
        if base.is_dir():
            for d in base.iterdir():
                if _owner_is_dead(d.name):
                    _remove_tree(d)    # a batch's group with its workers' groups inside;
                                       # a group that still has processes stays
    for base, kinds in ((SANDBOX_BASE, ("w",)), (Path(tempfile.gettempdir()), ("ag_worker", "ag_reference", "ag_zygote"))):
        if not base.is_dir():
            continue
        for d in base.iterdir():
            if d.name.split("-")[0] in kinds and d.is_dir() and _owner_is_dead(d.name):
                shutil.rmtree(d, ignore_errors=True)


def prepare_scratch(uid: int | None) -> Path:
    """A private folder for one worker, outside every hidden place."""
    import tempfile
    if uid is None:
        return Path(tempfile.mkdtemp(prefix=owned_prefix("ag_worker")))
    SANDBOX_BASE.mkdir(parents=True, exist_ok=True)
    os.chmod(SANDBOX_BASE, 0o711)
    scratch = Path(tempfile.mkdtemp(prefix=owned_prefix("w"), dir=SANDBOX_BASE))
    os.chmod(scratch, 0o700)
    return scratch
