"""Grading settings: one frozen dataclass, each field documented."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Config:
    devices: tuple[str, ...] = ("cpu", "cuda")   # requested; absent ones are reported as skipped
    topics: tuple[str, ...] = ()                 # () = every topic the submission has or the course has
    base_seed: int = 20261127                    # each check's seed is derived from it and its id
    jobs: int = 2                                # submissions graded at the same time
    worker_threads: int = 1                      # torch threads inside each worker
    memory_bytes: int = 2 << 30                  # worker memory limit, CPU grading (docs/SECURITY.md)
    cuda_memory_bytes: int = 6 << 30             # the same when CUDA is used: not yet measured on a GPU
    import_timeout: float = 15.0                 # seconds to import one student module
    timeout_scale: float = 1.0                   # multiplies every per-call time limit
    public_only: bool = False                    # students' `check`: public checks only
    reference: str = "solutions"                 # "solutions" (hidden grading) or "torch" (public checks)
    hidden_visibility: str = "after_due_date"    # Gradescope visibility of hidden checks' cases
    # From course.toml (autograder/course.py); the defaults are today's behaviour.
    cpu_seconds: int | None = None               # CPU time of each worker process; None: sandbox.Limits'
    points: tuple[tuple[str, float], ...] = ()   # check id -> points, resolved; () = the checks' own
    late: tuple[tuple[float, float], ...] = ()   # (after_hours, multiplier) rows, ascending; () = none
    due: str = ""                                # the due date, ISO 8601 with a UTC offset; "" = none
    submitted_at: str = ""                       # one upload's submission time (Gradescope's metadata)
