"""The command line. Commands only: each is a thin wrapper over a library function.

Exit status: 0 when the command did its work (whatever the scores), 1 for a
grader error, 2 for a usage error.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .config import Config
from .topics import ROOT, TOPICS


def _devices(value: str) -> tuple[str, ...]:
    if value == "all":
        return ("cpu", "cuda")
    if value in ("cpu", "cuda"):
        return (value,)
    raise argparse.ArgumentTypeError("expected cpu, cuda or all")


def _topics(values: list[str] | None) -> tuple[str, ...]:
    for v in values or []:
        if v not in TOPICS:
            raise SystemExit(f"error: unknown topic {v!r}; topics are: {', '.join(TOPICS)}")
    return tuple(values or ())


def cmd_grade(args) -> int:
    from .batch import grade_batch, print_summary
    config = Config(devices=args.device, topics=_topics(args.topic), base_seed=args.seed,
                    jobs=args.jobs, timeout_scale=args.timeout_scale)
    started = time.monotonic()
    done = []
    from .isolation import detect
    layers = detect()
    print(f"Isolation layers: {', '.join(layers.names())}", file=sys.stderr)
    if layers.missing():
        print("WARNING: grading with fewer isolation layers than recommended; missing: "
              f"{', '.join(layers.missing())}. Student code can then read files this user can read "
              "(run the grader as root on Linux with util-linux for the full set).", file=sys.stderr)

    def progress(g):
        done.append(g)
        state = "unchanged" if g.reused else f"{g.seconds:.1f}s"
        print(f"[{len(done)}] {g.name}: {g.score.score:g} / {g.score.max_score:g} ({state})",
              file=sys.stderr, flush=True)

    try:
        graded = grade_batch([Path(p) for p in args.submissions], Path(args.out), config,
                             regrade=args.regrade, progress=progress)
    except KeyboardInterrupt:
        print(f"\nInterrupted: {len(done)} submission(s) were graded and written to {args.out}; "
              "run the same command again to grade the rest.", file=sys.stderr)
        return 130
    print()
    print_summary(graded)
    print(f"\n{len(graded)} submission(s) in {time.monotonic() - started:.1f}s; "
          f"results in {args.out}/ (gradebook.csv, <name>/results.json, <name>/feedback.txt)")
    return 0


def cmd_check(args) -> int:
    """Students: the public checks of one or more topics, on their own assignments/ folder."""
    from .batch import grade_batch
    root = Path(args.root).resolve()
    topics = _topics(args.topic) or tuple(TOPICS)
    files = {}
    for name in topics:
        topic = TOPICS[name]
        path = topic.assignment_dir(root) / topic.filename
        if path.exists():
            files[topic.filename] = path
    if not files:
        print(f"No assignment files found under {root}/assignments.", file=sys.stderr)
        return 2
    import tempfile, shutil
    with tempfile.TemporaryDirectory(prefix="ag-check-") as tmp:
        sub = Path(tmp) / "my-work"
        sub.mkdir()
        for topic in TOPICS.values():        # every module, so cross-topic imports work
            path = topic.assignment_dir(root) / topic.filename
            if path.exists():
                shutil.copy(path, sub / topic.filename)
        config = Config(devices=args.device, topics=topics, public_only=True, reference="torch", jobs=1,
                        base_seed=args.seed)
        from .batch import public_plan
        plan = public_plan(topics, root)
        if not plan:
            print("No public checks found for: " + ", ".join(topics), file=sys.stderr)
            return 2
        if args.only:
            plan = _only(plan, args.only)
            if plan is None:
                return 2
        grade_batch([sub], Path(tmp) / "out", config, plan=plan, regrade=True)
        text = (Path(tmp) / "out" / "my-work" / "feedback.txt").read_text()
        print(text.replace("Feedback for my-work:", "Public checks on your code:", 1))
    return 0


def _only(plan: dict, wanted: list[str]):
    """The plan cut down to the checks named (by name or topic/name); None, with a message,
    when a name matches nothing."""
    import dataclasses
    known = {c.name: c.id for tc in plan.values() for c in tc.checks}
    unknown = [w for w in wanted if w not in known and w not in known.values()]
    if unknown:
        print(f"No public check named {', '.join(unknown)}. The checks are:\n  "
              + "\n  ".join(sorted(known.values())), file=sys.stderr)
        return None
    keep = {known.get(w, w) for w in wanted}
    cut = {t: dataclasses.replace(tc, checks=[c for c in tc.checks if c.id in keep], placement_points=0.0)
           for t, tc in plan.items()}
    return {t: tc for t, tc in cut.items() if tc.checks}


def cmd_stubs(args) -> int:
    from . import stubs
    if args.check:
        problems = stubs.check()
        for p in problems:
            print(p)
        print("stubs match their solutions" if not problems else f"{len(problems)} stub(s) drifted: "
              "run `python -m autograder stubs`")
        return 1 if problems else 0
    written = stubs.generate()
    for path in written:
        print(f"wrote {path.relative_to(ROOT)}")
    print(f"{len(written)} stub(s) updated")
    return 0


def cmd_audit(args) -> int:
    """Maintainers: grade the bank of known bugs and correct variants (tests/bugbank/)."""
    from .audit import main as audit_main
    return audit_main(Config(devices=args.device, jobs=args.jobs), only=args.only)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    g = sub.add_parser("grade", help="grade submissions (folders, .zip files, notebooks)")
    g.add_argument("submissions", nargs="+", help="a submission, or a folder of submissions")
    g.add_argument("--out", required=True, help="folder for results.json, feedback and gradebook.csv")
    g.add_argument("--device", type=_devices, default=("cpu", "cuda"), help="cpu, cuda or all (default: all)")
    g.add_argument("--topic", action="append", help="grade only this topic (repeatable)")
    g.add_argument("--seed", type=int, default=Config.base_seed, help="base seed for every check's inputs")
    g.add_argument("--jobs", type=int, default=2, help="submissions graded in parallel")
    g.add_argument("--timeout-scale", type=float, default=1.0, help="multiply every time limit")
    g.add_argument("--regrade", action="store_true", help="grade again even if results are up to date")
    g.set_defaults(func=cmd_grade)

    c = sub.add_parser("check", help="students: run the public checks on your assignments/ folder")
    c.add_argument("topic", nargs="*", help=f"one or more of: {', '.join(TOPICS)} (default: all)")
    c.add_argument("--root", default=".", help="the folder that holds assignments/ (default: here)")
    c.add_argument("--device", type=_devices, default=("cpu", "cuda"))
    c.add_argument("--only", action="append", metavar="CHECK",
                   help="run only this check (its name, as in the feedback; repeatable)")
    c.add_argument("--seed", type=int, default=Config.base_seed,
                   help="base seed for every check's inputs (the feedback says which was used)")
    c.set_defaults(func=cmd_check)

    a = sub.add_parser("audit", help="maintainers: are known bugs caught and correct variants passed?")
    a.add_argument("--only", help="one topic or one entry name")
    a.add_argument("--device", type=_devices, default=("cpu",))
    a.add_argument("--jobs", type=int, default=2)
    a.set_defaults(func=cmd_audit)

    s = sub.add_parser("stubs", help="generate assignments/ stubs from solutions/")
    s.add_argument("--check", action="store_true", help="only report stubs that drifted")
    s.set_defaults(func=cmd_stubs)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:
        return 0
