"""Per-worker limits and the batch's bound on the machine (sandbox.Limits, sandbox.capacity,
isolation.CGroup, batch.grade_batch).

- docs/SECURITY.md's table of limits equals the code, value by value, so the doc cannot drift;
- a batch's bounds come from the machine and the per-worker limits, never from --jobs, and
  an absurd --jobs is lowered with one line that says why (with cgroups and without);
- the batch's cgroup holds its workers together: a fork bomb in one worker stops at the
  worker's own limit, the batch's tasks never exceed the batch's pids.max, a batch limit
  below a worker's own stops that worker first, and the groups are removed afterwards;
- through the real command line, a fork bomb graded beside honest submissions with
  --jobs 4 leaves their scores alone and gets feedback naming what failed and where.
"""
from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import dataclass, field, fields
from pathlib import Path

import pytest

from autograder import isolation, sandbox, wire
from autograder.batch import hidden_plan, jobs_notice
from autograder.config import Config
from autograder.sandbox import Limits, Worker, WorkerDied, capacity
from autograder.topics import ROOT, TOPICS, Topic

CGROUPS = isolation.detect().cgroup
needs_cgroups = pytest.mark.skipif(not CGROUPS, reason="needs writable cgroup v1 memory and pids controllers")
PIDS = isolation.CGROUP_V1 / "pids" / "ag"
DROPOUT = TOPICS["dropout"]
GIB = 1 << 30


# ----------------------------------------------------------------------------- the doc's table

UNITS = {"": 1, "s": 1, "GiB": 1 << 30, "MiB": 1 << 20, "%": 0.01}


def documented_limits() -> dict[str, float]:
    """`code name` -> value, from every table of SECURITY.md's "Limits, measured" section."""
    text = (ROOT / "docs" / "SECURITY.md").read_text()
    section = text.split("\n## Limits, measured\n", 1)[1].split("\n## ", 1)[0]
    found: dict[str, float] = {}
    columns: list[str] = []
    for line in section.splitlines():
        if not line.startswith("|"):
            columns = []
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not columns:
            columns = [c.lower() for c in cells]
            continue
        if set(line) <= set("|-: "):
            continue
        value = re.fullmatch(r"([\d.]+) ?(GiB|MiB|s|%|)", cells[columns.index("value")])
        assert value, f"SECURITY.md: cannot read the value of: {line}"
        number = float(value[1]) * UNITS[value[2]]
        for name in re.findall(r"`([^`]+)`", cells[columns.index("in the code")]):
            found[name] = number
    return found


def limits_in_code() -> dict[str, float]:
    """Every limit a worker runs under, read from where the code keeps it."""
    limits, config = Limits(), Config()
    values = {f"Limits.{f.name}": getattr(limits, f.name) for f in fields(Limits)
              if type(getattr(limits, f.name)) is int}           # a new numeric limit needs a row
    values |= {f"Config.{name}": getattr(config, name)
               for name in ("memory_bytes", "cuda_memory_bytes", "worker_threads", "import_timeout")}
    values["Topic.timeout"] = next(f.default for f in fields(Topic) if f.name == "timeout")
    values |= {f'TOPICS["{n}"].timeout': t.timeout for n, t in TOPICS.items()
               if t.timeout != values["Topic.timeout"]}
    values |= {f"check {c.id}": c.timeout for tc in hidden_plan().values() for c in tc.checks
               if c.timeout is not None}
    values["RLIMIT_CORE"] = sandbox._rlimits(limits, True)["RLIMIT_CORE"]
    shm = next(s for s in isolation.mount_plan(Path("/nonexistent"), []) if s[:2] == ["tmpfs", "/dev/shm"])
    values["isolation.mount_plan"] = int(re.search(r"size=(\d+)m", shm[2])[1]) << 20
    grader = (ROOT / "autograder" / "grader.py").read_text()
    for op in ("configure", "write"):
        literal = re.search(rf'"op": "{op}".*?\}}, (\d+)\)', grader, re.S)
        assert literal, f"grader.py: the {op} request's time limit moved; update this test and the doc"
        values[f"grader {op}"] = int(literal[1])
    values["wire.MAX_MESSAGE_BYTES"] = wire.MAX_MESSAGE_BYTES
    values |= {f"sandbox.{n}": getattr(sandbox, n)
               for n in ("BATCH_MEMORY_FRACTION", "IDLE_WORKER_BYTES", "IDLE_WORKER_TASKS")}
    return values


def test_the_limits_table_in_security_md_equals_the_code():
    documented, actual = documented_limits(), limits_in_code()
    missing = sorted(set(actual) - set(documented))
    unknown = sorted(set(documented) - set(actual))
    wrong = {k: (documented[k], actual[k]) for k in set(actual) & set(documented)
             if documented[k] != actual[k]}
    assert not missing, f"limits in the code without a row in SECURITY.md: {missing}"
    assert not unknown, f"rows in SECURITY.md naming nothing this test reads: {unknown}"
    assert not wrong, f"SECURITY.md says (doc, code): {wrong}"


# ----------------------------------------------------------------------------- capacity

@pytest.mark.parametrize("machine_gib", [1, 2, 8, 24, 128, 1024])
def test_the_batch_bounds_come_from_the_machine_and_hold_every_busy_worker_at_its_own_limits(machine_gib):
    limits = Limits()
    cap = capacity(limits, machine_bytes=machine_gib * GIB)
    assert cap.memory_bytes == int(machine_gib * GIB * sandbox.BATCH_MEMORY_FRACTION)
    assert cap.workers >= 1
    if cap.workers > 1:       # one worker always runs, even where the batch's limit is the tighter
        assert cap.workers * (limits.memory_bytes + sandbox.IDLE_WORKER_BYTES) <= cap.memory_bytes
    assert cap.max_pids == cap.workers * (limits.max_processes + sandbox.IDLE_WORKER_TASKS)


def test_this_machine_holds_a_few_workers_not_fifty():
    cap = capacity(Limits())
    assert 1 <= cap.workers < 50
    assert cap.max_pids < 256 * 2, "the batch's bound is below what two workers could once start"


# ----------------------------------------------------------------------------- the batch cgroup

def ask(worker: Worker, message: dict, timeout: float = 120):
    return wire.loads(worker.request(wire.dumps(message), timeout))


def run_in_worker(worker: Worker, source: str, function: str, timeout: float = 60):
    """Import `source` as student.py in the worker and call `function()`; the reply."""
    ask(worker, {"op": "write", "files": {"student.py": textwrap.dedent(source)}})
    assert "error" not in ask(worker, {"op": "import", "module": "student"})
    return ask(worker, {"op": "call", "target": {"module": "student", "path": [["attr", function]]},
                        "args": [], "kwargs": {}}, timeout)


FORK_UNTIL_REFUSED = """
    import os, time

    def bomb():
        kids = 0
        for _ in range(1000):
            try:
                pid = os.fork()
            except OSError:
                break
            if pid == 0:
                try:
                    time.sleep(20)
                finally:
                    os._exit(0)
            kids += 1
        return kids
"""


@pytest.mark.slow
@needs_cgroups
def test_a_fork_bomb_stops_at_the_batch_limit_when_that_is_below_the_workers_own():
    batch = isolation.batch_cgroup(GIB, 8)
    worker = Worker(Limits(cgroup_parent=batch.name))
    try:
        assert worker.cgroup.dirs[1].parent == batch.dirs[1], "the worker's group is not inside the batch's"
        kids = run_in_worker(worker, FORK_UNTIL_REFUSED, "bomb")["value"]
        now, peak = batch.pids()
        assert 0 < kids <= 8 - 2, "keeper and worker hold 2 of the batch's 8 tasks"
        assert peak <= 8
    finally:
        worker.close()
        batch.close()
    assert not any(d.exists() for d in batch.dirs + worker.cgroup.dirs)


@needs_cgroups
def test_a_batch_memory_limit_below_the_workers_own_stops_the_worker():
    batch = isolation.batch_cgroup(256 << 20, 64)
    worker = Worker(Limits(cgroup_parent=batch.name))           # 2 GiB of its own
    try:
        with pytest.raises(WorkerDied):         # the kernel's OOM killer: SIGKILL
            run_in_worker(worker, """
                import torch

                def allocate():
                    return float(torch.ones(512 << 20, dtype=torch.uint8).sum())
            """, "allocate")
        # The kernel records the kill in the group of the process it chose, and the batch's
        # usage never went past the batch's limit, far below the worker's own 2 GiB.
        assert worker.cgroup.oom_killed(), "something else than the memory limit stopped it"
        peak = int((batch.dirs[0] / "memory.max_usage_in_bytes").read_text())
        assert peak <= 256 << 20
    finally:
        worker.close()
        batch.close()
    assert not any(d.exists() for d in batch.dirs)


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


@needs_cgroups
def test_a_dead_graders_batch_cgroup_is_swept_with_the_worker_groups_inside_a_live_ones_stays():
    dead = isolation.CGroup(f"b-{_dead_pid()}-gone", GIB, 64)
    isolation.CGroup("w-x-inside", GIB, 32, parent=dead.name)
    live = isolation.batch_cgroup(GIB, 64)
    inner = isolation.CGroup(isolation.owned_prefix("w") + "starting", GIB, 32, parent=live.name)
    try:
        isolation.sweep_leftovers()
        assert not any(d.exists() for d in dead.dirs), "a dead grader's batch group was left"
        assert all(d.is_dir() for d in live.dirs + inner.dirs), "a live grader's groups were swept"
    finally:
        live.close()
        dead.close()
    assert not any(d.exists() for d in live.dirs + inner.dirs)


# ----------------------------------------------------------------------------- the command line

def autograder(*args, env=None, timeout=180) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "autograder", *map(str, args)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})})


def gradebook(out: Path) -> dict[str, dict]:
    """The batch's scores.csv (totals with their maxima) by submission."""
    with open(out / "scores.csv", newline="") as fh:
        return {row["submission"]: row for row in csv.DictReader(fh)}


def honest(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / DROPOUT.filename).write_text(DROPOUT.solution_path(ROOT).read_text())
    return folder


BOMB = """
import os as _os
import time as _time
while True:
    try:
        _os.fork()
    except OSError:
        _time.sleep(3)        # every process of the bomb lives on a while: the samples see them
        raise
"""


@dataclass
class Samples:
    """What one batch's cgroup held while the grader ran."""
    pids_max: int = 0
    current: list[int] = field(default_factory=list)
    peak: int = 0
    worker_peaks: dict[str, int] = field(default_factory=dict)
    tasks_seen: int = 0           # counted from /proc: tasks whose pids cgroup is in the batch


def tasks_in(group: str) -> int:
    """Processes and threads on the machine whose pids cgroup lies in `group` (from /proc)."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            lines = Path(f"/proc/{entry}/cgroup").read_text().splitlines()
            if any(":pids:" in l and f"/ag/{group}" in l for l in lines):
                total += len(os.listdir(f"/proc/{entry}/task"))
        except OSError:
            continue
    return total


def watch(proc: subprocess.Popen, samples: Samples) -> None:
    read = lambda path: int(path.read_text())                            # noqa: E731
    while proc.poll() is None:
        for group in PIDS.glob(f"b-{proc.pid}-*"):
            try:
                samples.pids_max = read(group / "pids.max")
                samples.current.append(read(group / "pids.current"))
                samples.peak = max(samples.peak, read(group / "pids.peak"))
                for inner in (d for d in group.iterdir() if d.is_dir()):
                    samples.worker_peaks[inner.name] = max(samples.worker_peaks.get(inner.name, 0),
                                                           read(inner / "pids.peak"))
            except (OSError, ValueError):
                continue
            samples.tasks_seen = max(samples.tasks_seen, tasks_in(group.name))
        time.sleep(0.01)


@pytest.mark.slow
@needs_cgroups
@pytest.mark.skipif(not isolation.detect().uid, reason="a fork bomb runs only with the uid layer too")
def test_a_fork_bomb_in_a_batch_of_four_jobs_stays_within_its_limits_and_honest_scores_stand(tmp_path):
    subs = tmp_path / "subs"
    for name in ("honest-1", "honest-2", "honest-3"):
        honest(subs / name)
    bomber = honest(subs / "bomber") / DROPOUT.filename
    bomber.write_text(bomber.read_text() + BOMB)
    fork_line = 1 + bomber.read_text().splitlines().index("        _os.fork()")
    out = tmp_path / "out"
    proc = autograder("grade", subs, "--out", out, "--jobs", 4, "--topic", "dropout", "--device", "cpu")
    samples = Samples()
    watcher = threading.Thread(target=watch, args=(proc, samples))
    watcher.start()
    stdout, stderr = proc.communicate(timeout=180)
    watcher.join()
    assert proc.returncode == 0, stdout + stderr

    limits = Limits()
    assert samples.current, "the batch's cgroup was never seen"
    assert samples.pids_max == capacity(limits).max_pids
    assert max(samples.current) <= samples.pids_max and samples.peak <= samples.pids_max
    assert max(samples.worker_peaks.values()) == limits.max_processes, \
        f"the bomb should stop at its own worker's limit: {samples.worker_peaks}"
    assert limits.max_processes <= samples.tasks_seen <= samples.pids_max, samples

    book = gradebook(out)
    assert sorted(book) == ["bomber", "honest-1", "honest-2", "honest-3"]
    for name in ("honest-1", "honest-2", "honest-3"):
        assert float(book[name]["score"]) == float(book[name]["max_score"]) > 0, book[name]
    assert float(book["bomber"]["score"]) == 0
    feedback = (out / "bomber" / "feedback.txt").read_text()
    assert (f"dropout.py started more processes or threads than a worker may have (line {fork_line})"
            in feedback), feedback
    assert not list(PIDS.glob(f"b-{proc.pid}-*")), "the batch's cgroup was left behind"


@pytest.mark.slow
@pytest.mark.parametrize("isolation_env", [{}, {"AG_ISOLATION": "basic"}], ids=["all-layers", "no-cgroups"])
def test_an_absurd_jobs_is_lowered_to_what_the_machine_holds_with_one_line_saying_why(tmp_path,
                                                                                     isolation_env):
    honest(tmp_path / "subs" / "ann")
    out = tmp_path / "out"
    proc = autograder("grade", tmp_path / "subs", "--out", out, "--jobs", 1000, "--topic", "dropout",
                      "--device", "cpu", env=isolation_env)
    stdout, stderr = proc.communicate(timeout=180)
    assert proc.returncode == 0, stdout + stderr
    notes = [line for line in stderr.splitlines() if "--jobs" in line]
    assert notes == [jobs_notice(1000, capacity(Limits()), Limits())], stderr
    assert f"--jobs 1000 lowered to {capacity(Limits()).workers}:" in notes[0]
    row = gradebook(out)["ann"]
    assert float(row["score"]) == float(row["max_score"]) > 0, row
