"""Grades many submissions: in parallel, from pre-started workers, writing as it goes.

The plans (what is graded, and each submission's fingerprint) are plans.py's; what is
written and read back (feedback, results.json, the resume records, merged shards) is
store.py's. This module runs the batch: it skips submissions whose results still stand,
grades the others on a pool of workers, `jobs` at a time, and returns every submission's
Graded, outcomes included.
"""
from __future__ import annotations

import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import replace
from pathlib import Path

from . import course as courses
from . import isolation
from . import submission as submissions
from .checks import TopicChecks
from .class_report import write_report
from .config import Config
from .gradebook import Student, roster_notes
from .grader import Interrupted, grade_submission, plan_devices
from .plans import fingerprint, grader_digest, hidden_plan, public_plan  # noqa: F401 - re-exported
from .reference import ReferenceSide
from .report import summary_table
from .sandbox import BATCH_MEMORY_FRACTION, Capacity, Limits, WorkerPool, capacity, prestart
from .store import (Graded, merge, read_graded, reuse, shard_of, write_atomic,  # noqa: F401
                    write_gradebook, write_submission)
from .topics import ROOT, TOPICS


# ----------------------------------------------------------------------------- the batch

def unique_names(subs: list[submissions.Submission]) -> list[str]:
    seen: dict[str, int] = {}
    names = []
    for s in subs:
        base = "".join(c if c.isalnum() or c in "-_." else "_" for c in s.name) or "submission"
        seen[base] = seen.get(base, 0) + 1
        names.append(base if seen[base] == 1 else f"{base}-{seen[base]}")
    return names


def grade_batch(paths: list[Path], out: Path, config: Config, plan: dict[str, TopicChecks] | None = None,
                regrade: bool = False, progress=None, shard: tuple[int, int] | None = None,
                roster: dict[str, Student] | None = None, total=None) -> list[Graded]:
    """Grade every submission under `paths` into `out`; returns one Graded a submission.

    shard=(k, n): only the submissions of shard k of n (shard_of), named as in the whole
    batch, so that `merge` of the n outputs equals one run. roster: identities for the
    gradebook; a submission it does not list gets a note. total: called once with the number
    of submissions in this run, before the first `progress` (for a progress bar)."""
    plan = plan if plan is not None else (public_plan(config.topics) if config.public_only
                                          else hidden_plan(config.topics))
    plan = courses.apply_points(plan, config.points)                  # course.toml's points
    subs = [submissions.load(p) for p in submissions.discover(paths)]
    names = unique_names(subs)
    if shard is not None:
        kept = [(s, n) for s, n in zip(subs, names) if shard_of(n, shard[1]) == shard[0]]
        subs, names = [s for s, _ in kept], [n for _, n in kept]
    if roster is not None:
        unmatched, _ = roster_notes(names, roster)
        for sub, name in zip(subs, names):
            if name in unmatched:
                sub.problems.append(unmatched[name])
    if total:
        total(len(names))
    out.mkdir(parents=True, exist_ok=True)
    use_cuda = "cuda" in plan_devices(config)[0]
    limits = Limits(memory_bytes=config.cuda_memory_bytes if use_cuda else config.memory_bytes,
                    threads=config.worker_threads, use_cuda=use_cuda, hide=(str(out.resolve()),))
    if config.cpu_seconds:
        limits = replace(limits, cpu_seconds=config.cpu_seconds)      # course.toml's limits
    machine = capacity(limits)
    jobs = min(max(1, config.jobs), machine.workers)
    todo, graded = [], []
    digest = grader_digest()
    for sub, name in zip(subs, names):
        student = (roster or {}).get(name)                             # course.toml's late policy
        late = courses.lateness(config, student.submitted_at if student else "", "roster") \
            if roster is not None else courses.lateness(config, config.submitted_at, "Gradescope")
        fp = fingerprint(sub, plan, config, digest + courses.fingerprint_part(config, late))
        old = None if regrade else reuse(out, name, fp)
        if old is not None:
            graded.append(old)
            if progress:
                progress(old)
        else:
            todo.append((sub, name, fp, late))
    if todo:
        prestart(limits)              # the zygote imports torch while the reference is read
    reference = ReferenceSide(config.reference, cache=reference_cache())
    if todo and jobs < config.jobs:
        print(jobs_notice(config.jobs, machine, limits), file=sys.stderr, flush=True)
    group = batch_group(machine) if todo else None
    if group is not None:
        limits = replace(limits, cgroup_parent=group.name)
    pool = WorkerPool(limits, spare=min(jobs, len(todo))) if todo else None
    lock = threading.Lock()
    stop = threading.Event()

    def one(item):
        sub, name, fp, late = item
        topics = {t: c for t, c in plan.items() if TOPICS[t].filename in sub.files} \
            if config.public_only else plan
        result = grade_submission(sub, topics, reference, pool, config, stop)
        if stop.is_set():
            raise Interrupted(name)             # possibly cut short: never written
        g = write_submission(out, name, result, config, fp, late)
        with lock:
            graded.append(g)
            write_gradebook(out, graded, roster)
            if progress:
                progress(g)
        return g

    executor = ThreadPoolExecutor(max_workers=jobs)
    try:
        futures = [executor.submit(one, item) for item in todo]
        for future in as_completed(futures):
            future.result()
    except KeyboardInterrupt:
        stop.set()                              # running submissions stop at their next case
        executor.shutdown(wait=False, cancel_futures=True)
        if pool is not None:
            pool.kill_all()
        raise
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
        if pool is not None:
            pool.close()
        if group is not None:
            group.close()
        reference.close()
    write_gradebook(out, graded, roster)
    write_report(out, [g.name for g in graded])                       # class report (issue 10)
    return graded


def reference_cache() -> Path | None:
    """Where the reference's outputs are kept between runs (reference.DiskCache): the
    package's build/reference-cache (a Gradescope zip ships it filled); None with
    AG_REFERENCE_CACHE=0."""
    if os.environ.get("AG_REFERENCE_CACHE", "1") == "0":
        return None
    return ROOT / "build" / "reference-cache"


def jobs_notice(asked: int, machine: Capacity, limits: Limits) -> str:
    """One line: why fewer submissions than asked for are graded at once."""
    gib = lambda n: f"{n / (1 << 30):.1f} GiB"                               # noqa: E731
    return (f"note: --jobs {asked} lowered to {machine.workers}: the workers of a batch may use "
            f"{gib(machine.memory_bytes)} together ({BATCH_MEMORY_FRACTION:.0%} of this machine's "
            f"{gib(machine.machine_bytes)}) and each may use up to {gib(limits.memory_bytes)}")


def batch_group(machine: Capacity) -> isolation.CGroup | None:
    """The cgroup that bounds the batch's workers together (None without cgroups: then each
    worker is bounded by its own rlimits only, and their number by `capacity`)."""
    if not isolation.detect().cgroup:
        return None
    try:
        return isolation.batch_cgroup(machine.memory_bytes, machine.max_pids)
    except OSError as exc:
        print(f"warning: no cgroup for the batch ({exc}); each worker is still bounded by its own",
              file=sys.stderr)
        return None


def print_summary(graded: list[Graded], stream=sys.stdout) -> None:
    rows = [(g.name, g.score, g.seconds, "(unchanged, not regraded)" if g.reused else "")
            for g in sorted(graded, key=lambda g: g.name)]
    print(summary_table(rows), file=stream)
