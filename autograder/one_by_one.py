"""Grading submissions one at a time, as a platform hands them over.

nbgrader calls a preprocessor once per notebook and otter-grader a plugin once per
submission, each time in the same process. `grade_batch` would start a reference side
and a pool of workers for every call; a `OneByOne` keeps them for the life of the
process (closed at exit), so expected values are computed once per process, as once
per batch with `grade`. Each submission is graded by the same functions as in
`grade_batch` (`grade_submission`, then `write_submission`): the same files get the
same outcomes, check by check.
"""
from __future__ import annotations

import atexit
import threading
from dataclasses import dataclass, replace
from pathlib import Path

from . import course as courses
from . import submission as submissions
from .plans import fingerprint, grader_digest, hidden_plan, public_plan
from .store import Graded, write_submission
from .config import Config
from .grader import grade_submission, plan_devices
from .outcome import Outcome
from .reference import ReferenceSide
from .sandbox import Limits, WorkerPool


@dataclass
class OneResult:
    graded: Graded                 # the score, as `grade` reports it
    outcomes: list[Outcome]        # every case
    notes: list[str]               # what the student reads about the submission itself
    folder: Path                   # results.json, feedback.txt, instructor.txt


class OneByOne:
    """One reference side and one worker pool, for many submissions graded in turn."""

    def __init__(self, config: Config, hide: tuple[str, ...] = ()):
        self.config = config
        plan = public_plan(config.topics) if config.public_only else hidden_plan(config.topics)
        self.plan = courses.apply_points(plan, config.points)
        self.reference = ReferenceSide(config.reference)
        use_cuda = "cuda" in plan_devices(config)[0]
        limits = Limits(memory_bytes=config.cuda_memory_bytes if use_cuda else config.memory_bytes,
                        threads=config.worker_threads, use_cuda=use_cuda, hide=tuple(hide))
        if config.cpu_seconds:
            limits = replace(limits, cpu_seconds=config.cpu_seconds)
        self.pool = WorkerPool(limits, spare=1)
        self.digest = grader_digest()
        self.lock = threading.Lock()

    def grade(self, path: Path, out: Path, name: str, topics: tuple[str, ...] = (),
              notes: list[str] = ()) -> OneResult:
        """Grade the submission at `path` (a folder, a notebook, a zip) on `topics` (default:
        the session's) into out/name/; `notes` are added to what the student reads."""
        sub = submissions.load(path)
        sub.problems.extend(notes)
        plan = {t: tc for t, tc in self.plan.items() if not topics or t in topics}
        with self.lock:
            result = grade_submission(sub, plan, self.reference, self.pool, self.config)
        fp = fingerprint(sub, plan, self.config, self.digest)
        graded = write_submission(out, name, result, self.config, fp)
        return OneResult(graded, result.outcomes, list(result.notes), out / name)

    def close(self) -> None:
        self.pool.close()
        self.reference.close()


_SESSIONS: dict[tuple, OneByOne] = {}
_SESSIONS_LOCK = threading.Lock()


def session(config: Config, hide: tuple[str, ...] = ()) -> OneByOne:
    """The process's session for these settings (made on first use, closed at exit)."""
    key = (config, tuple(hide))
    with _SESSIONS_LOCK:
        if key not in _SESSIONS:
            if not _SESSIONS:
                atexit.register(close_all)
            _SESSIONS[key] = OneByOne(config, hide)
        return _SESSIONS[key]


def close_all() -> None:
    with _SESSIONS_LOCK:
        for s in _SESSIONS.values():
            s.close()
        _SESSIONS.clear()
