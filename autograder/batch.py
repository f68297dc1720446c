"""Grades many submissions: in parallel, from pre-started workers, writing as it goes.

Each finished submission's files are written at once and atomically, so an
interrupted batch loses nothing already graded; a later run skips submissions
whose results were made from the same files, checks and seed.
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import os
import shutil
import sys
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace
from pathlib import Path

from . import course as courses
from . import i18n, isolation
from . import submission as submissions
from .checks import TopicChecks, collect
from .class_report import write_report
from .config import Config
from .exporters.gradescope import results_json
from .gradebook import Student, roster_notes, write_tables
from .grader import Interrupted, SubmissionResult, grade_submission, plan_devices
from .outcome import Outcome
from .reference import ReferenceSide
from .report import feedback, instructor_feedback, summary_table
from .sandbox import BATCH_MEMORY_FRACTION, Capacity, Limits, WorkerPool, capacity
from .scoring import Score, score, with_late
from .topics import ROOT, TOPICS


# ----------------------------------------------------------------------------- plans

def hidden_plan(topics: tuple[str, ...] = ()) -> dict[str, TopicChecks]:
    plan = {}
    for name in topics or TOPICS:
        try:
            module = importlib.import_module(TOPICS[name].hidden_module)
        except ModuleNotFoundError:
            continue                        # a topic with no hidden checks yet
        plan[name] = collect(module)
    return plan


def public_plan(topics: tuple[str, ...] = (), root: Path = ROOT) -> dict[str, TopicChecks]:
    plan = {}
    for name in topics or TOPICS:
        path = TOPICS[name].assignment_dir(root) / "public_checks.py"
        if not path.exists():
            continue
        spec = importlib.util.spec_from_file_location(f"ag_public_{name}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        plan[name] = collect(module)
    return plan


def grader_digest(root: Path = ROOT) -> str:
    """Changes whenever the grader, its checks or the reference solutions change."""
    h = hashlib.sha256()
    paths = sorted((root / "autograder").rglob("*.py")) + sorted((root / "solutions").rglob("*.py"))
    for path in paths:
        h.update(path.read_bytes())
    return h.hexdigest()


def fingerprint(sub: submissions.Submission, plan: dict[str, TopicChecks], config: Config,
                digest: str = "") -> str:
    h = hashlib.sha256(digest.encode())
    for name, text in sorted(sub.files.items()):
        h.update(name.encode() + b"\0" + text.encode() + b"\0")
    for topic_checks in plan.values():
        for c in topic_checks.checks:
            h.update(f"{c.id}:{c.points}".encode())
    h.update(repr((config.base_seed, config.devices, sorted(plan))).encode())
    lang = i18n.current()
    if lang != "en":                    # feedback in another language: its catalog's text counts
        h.update(f"lang:{lang}".encode())
        for domain_file in sorted((i18n.LOCALE / lang).rglob("*.po")):
            h.update(domain_file.read_bytes())
    return h.hexdigest()[:16]


# ----------------------------------------------------------------------------- writing

def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


@dataclass
class Graded:
    name: str
    score: Score
    seconds: float
    notes: list[str]
    reused: bool = False


def write_submission(out: Path, name: str, result: SubmissionResult, config: Config, fp: str,
                     late: courses.Late | None = None) -> Graded:
    total = score(result.outcomes)
    if late is not None:                     # course.toml's late policy: the total only
        before, total = total, with_late(total, late.as_data())
        if late.noted:
            result.notes.append(courses.late_note(late, before.score, total.score, total.max_score))
    folder = out / name
    run_devices, absent = plan_devices(config)
    header = (i18n._("Devices: {devices}").format(devices=", ".join(run_devices))
              + (i18n._(" (not on this machine, skipped: {devices})").format(devices=", ".join(absent))
                 if absent else ""))
    write_atomic(folder / "feedback.txt",
                 feedback(name, result.outcomes, total, result.notes, config.base_seed, header))
    write_atomic(folder / "instructor.txt",          # every case with the line that replays it
                 instructor_feedback(name, result.outcomes, total, result.notes, config.base_seed, header))
    data = results_json(result.outcomes, total, result.seconds, result.notes, config.base_seed,
                        config.hidden_visibility)
    data["extra_data"]["fingerprint"] = fp
    data["extra_data"]["notes"] = list(result.notes)
    data["extra_data"]["isolation"] = isolation.detect().names()
    data["extra_data"]["outcomes"] = [o.to_dict() for o in result.outcomes]
    if late is not None:
        data["extra_data"]["late"] = late.as_data()
    write_atomic(folder / "results.json", json.dumps(data, indent=1))
    return Graded(name, total, result.seconds, result.notes)


def reuse(out: Path, name: str, fp: str) -> Graded | None:
    """The results already written for this submission, if made from the same fingerprint."""
    try:
        data = json.loads((out / name / "results.json").read_text())
        if data["extra_data"]["fingerprint"] != fp:
            return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return read_graded(out / name)


def write_gradebook(out: Path, graded: list[Graded], roster: dict[str, Student] | None = None) -> None:
    """gradebook.csv (for a learning platform's import) and scores.csv (gradebook.py)."""
    write_tables(out, graded, roster, write_atomic)


def read_graded(folder: Path) -> Graded | None:
    """A submission's Graded from the results.json written for it (any fingerprint)."""
    try:
        data = json.loads((folder / "results.json").read_text())
        outcomes = [Outcome(**o) for o in data["extra_data"]["outcomes"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    notes = [str(n) for n in data["extra_data"].get("notes", [])]
    total = with_late(score(outcomes), data["extra_data"].get("late"))
    return Graded(folder.name, total, float(data.get("execution_time", 0)), notes, reused=True)


def shard_of(name: str, shards: int) -> int:
    """Which of `shards` shards (1-based) grades this submission: stable, whatever the batch."""
    return int(hashlib.sha256(name.encode()).hexdigest(), 16) % shards + 1


def merge(outs: list[Path], into: Path, roster: dict[str, Student] | None = None) -> list[Graded]:
    """The results of several shards' output folders as one: their submission folders side
    by side in `into`, and one gradebook. A name in two shards is an error (it means the
    shards were not cut from the same batch)."""
    graded: dict[str, Graded] = {}
    sources: dict[str, Path] = {}
    for out in outs:
        for folder in sorted(p for p in out.iterdir() if p.is_dir() and (p / "results.json").exists()):
            g = read_graded(folder)
            if g is None:
                raise ValueError(f"{folder / 'results.json'} cannot be read")
            if g.name in graded:
                raise ValueError(f"{g.name} was graded in two shards ({sources[g.name]} and {out})")
            graded[g.name], sources[g.name] = g, out
    into.mkdir(parents=True, exist_ok=True)
    for name, out in sources.items():
        if out.resolve() != into.resolve():
            shutil.copytree(out / name, into / name, dirs_exist_ok=True)
    write_gradebook(into, list(graded.values()), roster)
    write_report(into, list(graded))                                  # class report (issue 10)
    return list(graded.values())


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
    reference = ReferenceSide(config.reference)
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
