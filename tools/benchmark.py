"""Grading speed, measured (a script, not a test): medians of several runs.

    python tools/benchmark.py [--runs 3] [--topics normalization ...]

Prints: worker start-up (to the first answer to `configure`, which warms torch up),
one request's round trip, grading one full submission (the reference) with a warm
pool, and the bundled example batch through the command line. Set
AG_ISOLATION=basic to measure without namespaces, AG_ZYGOTE=0 to start every
worker by fork+exec instead of forking it from the zygote.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder import isolation, launch, submission, wire  # noqa: E402
from autograder.batch import hidden_plan  # noqa: E402
from autograder.config import Config  # noqa: E402
from autograder.grader import grade_submission  # noqa: E402
from autograder.reference import ReferenceSide  # noqa: E402
from autograder.sandbox import Limits, Worker, WorkerPool  # noqa: E402


def median(xs):
    return statistics.median(xs)


def worker_start(runs: int) -> tuple[float, float]:
    """The first worker (which also starts the zygote, if any), then the median of the rest."""
    times = []
    for _ in range(runs + 1):
        t = time.monotonic()
        w = Worker(Limits())
        w.request(wire.dumps({"op": "configure", "threads": 1}), 120)
        times.append(time.monotonic() - t)
        w.close()
    return times[0], median(times[1:])


def round_trip(n: int = 200) -> float:
    import torch
    w = Worker(Limits())
    w.request(wire.dumps({"op": "configure", "threads": 1}), 120)
    w.request(wire.dumps({"op": "write", "files": {"m.py": "def f(x):\n    return x * 2\n"}}), 30)
    w.request(wire.dumps({"op": "import", "module": "m"}), 30)
    x = torch.randn(16, 5)
    msg = wire.dumps({"op": "call", "target": {"module": "m", "path": [["attr", "f"]]},
                      "args": [x], "kwargs": {}})
    t = time.monotonic()
    for _ in range(n):
        w.request(msg, 30)
    w.close()
    return (time.monotonic() - t) / n


def one_submission(runs: int, topics: tuple[str, ...]) -> tuple[float, float]:
    sub = submission.load(ROOT / "solutions")
    plan = hidden_plan(topics)
    ref = ReferenceSide()
    pool = WorkerPool(Limits(), spare=1)
    times, score = [], 0.0
    try:
        for _ in range(runs + 1):                    # the first run also fills the reference cache
            t = time.monotonic()
            res = grade_submission(sub, plan, ref, pool, Config(devices=("cpu",)))
            times.append(time.monotonic() - t)
            score = sum(o.points for o in res.outcomes)
    finally:
        pool.close()
        ref.close()
    return median(times[1:]), score


def example_batch(runs: int, topics: tuple[str, ...]) -> float:
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as out:
            cmd = [sys.executable, "-m", "autograder", "grade", "examples/submissions", "--out", out,
                   "--device", "cpu"] + [a for t in topics for a in ("--topic", t)]
            t = time.monotonic()
            subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
            times.append(time.monotonic() - t)
    return median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--topics", nargs="*", default=[])
    args = parser.parse_args()
    topics = tuple(args.topics)
    print(f"isolation layers: {', '.join(isolation.detect().names())}; "
          f"workers {'forked from a zygote' if launch.use_zygote() else 'started by fork+exec'}")
    first, later = worker_start(args.runs)
    print(f"worker start to its first answer: first {first:.2f} s, then {later:.3f} s (median of {args.runs})")
    print(f"request round trip (16x5 tensor): {1000 * round_trip():.2f} ms")
    seconds, score = one_submission(args.runs, topics)
    print(f"one submission, {'all topics' if not topics else ', '.join(topics)}, warm pool, CPU: "
          f"{seconds:.1f} s (median of {args.runs}; reference scores {score:g})")
    print(f"bundled example batch via the CLI: {example_batch(args.runs, topics):.1f} s (median of {args.runs})")


if __name__ == "__main__":
    main()
