"""The command line. Commands only: each is a thin wrapper over a library function.

Exit status: 0 when the command did its work (whatever the scores), 1 for a
grader error, 2 for a usage error.
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

from . import i18n
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


def _shard(value: str) -> tuple[int, int]:
    try:
        k, n = (int(part) for part in value.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError("expected K/N, e.g. 2/3") from None
    if not 1 <= k <= n:
        raise argparse.ArgumentTypeError(f"shard {k} of {n}: K must be between 1 and N")
    return k, n


def _roster(path: str | None):
    """The roster, or None; a roster that cannot be used stops the command (exit 2)."""
    if path is None:
        return None
    from .gradebook import RosterError, read_roster
    try:
        return read_roster(Path(path))
    except RosterError as exc:
        raise SystemExit(f"error: {exc}") from None


def _course(path: str | None):
    """course.toml as a Course, or None; a file that cannot be used stops the command (exit 2)."""
    if path is None:
        return None
    from .course import CourseError, load
    try:
        return load(Path(path))
    except CourseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def _language(args, course) -> str:
    """--lang when given, else the course file's language, else English."""
    return getattr(args, "lang", None) or (course.language if course is not None else "en")


def _roster_report(names: list[str], roster) -> None:
    from .gradebook import roster_notes
    unmatched, missing = roster_notes(names, roster)
    if missing:
        print(f"roster: {len(missing)} student(s) have no submission (empty scores in the "
              f"gradebook): {', '.join(missing)}", file=sys.stderr)
    if unmatched:
        print(f"roster: {len(unmatched)} submission(s) match no roster row (listed under their own "
              f"names): {', '.join(sorted(unmatched))}", file=sys.stderr)


def cmd_grade(args) -> int:
    from .batch import grade_batch, print_summary
    from .plans import hidden_plan
    course = _course(args.course)
    config = Config(topics=_topics(args.topic), base_seed=args.seed, jobs=args.jobs)
    config = course.configure(config) if course is not None else config    # then the command line's
    config = replace(config, devices=args.device or config.devices,
                     timeout_scale=args.timeout_scale or config.timeout_scale)
    args.lang = _language(args, course)
    i18n.set_language(args.lang)                        # the feedback's language (autograder/i18n.py)
    plan = None
    if args.only:
        plan = _only(hidden_plan(config.topics), args.only, "hidden")
        if plan is None:
            return 2
        config = replace(config, topics=tuple(plan))
        if args.out is None:
            import tempfile
            scratch = tempfile.TemporaryDirectory(prefix="ag-only-")   # removed on return
            args.out = scratch.name
            args.scratch = True
    elif args.out is None:
        print("error: --out is required (it may be left out only with --only)", file=sys.stderr)
        return 2
    roster = _roster(args.roster)
    if config.late and (roster is None or not config.due):
        print(f"warning: {args.course} has a late policy, but it needs "
              + ("a due date (due = ...)" if not config.due else "--roster with a submitted_at column")
              + "; it is not applied (each submission's feedback says so)", file=sys.stderr)
    started = time.monotonic()
    from .progress import for_terminal                  # bar, plain lines, --json or --quiet
    progress = for_terminal(args.quiet, args.json)
    quiet = args.quiet or args.json                     # only errors, warnings and the last line
    if quiet:                                           # torch's own UserWarnings on the reference
        import warnings                                 # side (e.g. var() of an empty batch) are
        warnings.simplefilter("ignore")                 # not the instructor's to read
    from .isolation import detect
    layers = detect()
    if not quiet:
        print(f"Isolation layers: {', '.join(layers.names())}", file=sys.stderr)
    if layers.missing():
        print("WARNING: grading with fewer isolation layers than recommended; missing: "
              f"{', '.join(layers.missing())}. Student code can then read files this user can read "
              "(run the grader as root on Linux with util-linux for the full set).", file=sys.stderr)

    try:
        graded = grade_batch([Path(p) for p in args.submissions], Path(args.out), config, plan=plan,
                             regrade=args.regrade or bool(args.only), progress=progress,
                             shard=args.shard, roster=roster, total=progress.start)
    except KeyboardInterrupt:
        progress.close()
        print(f"\nInterrupted: {progress.done} submission(s) were graded and written to {args.out}; "
              "run the same command again to grade the rest.", file=sys.stderr)
        return 130
    finally:
        progress.close()
    if not quiet:
        print()
    if args.only and not args.json:     # one check rerun: its whole feedback, reproduction included
        for g in graded:
            print((Path(args.out) / g.name / "instructor.txt").read_text())
    if not quiet:
        print_summary(graded)
    if roster is not None and args.shard is None:
        _roster_report([g.name for g in graded], roster)
    shard = f" (shard {args.shard[0]} of {args.shard[1]}: merge the shards' folders with " \
        "`python -m autograder merge`)" if args.shard else ""
    last = sys.stderr if args.json else sys.stdout       # --json: stdout holds JSON lines only
    gap = "" if quiet else "\n"
    if getattr(args, "scratch", False):
        print(f"{gap}{len(graded)} submission(s) in {time.monotonic() - started:.1f}s "
              "(give --out to keep the results)", file=last)
        return 0
    print(f"{gap}{len(graded)} submission(s) in {time.monotonic() - started:.1f}s; "
          f"results in {args.out}/ (report.html, gradebook.csv, scores.csv, <name>/results.json, "
          f"<name>/feedback.txt){shard}", file=last)
    return 0


def cmd_merge(args) -> int:
    """Instructors: the output folders of a sharded batch as one."""
    from .batch import merge, print_summary
    roster = _roster(args.roster)
    try:
        graded = merge([Path(p) for p in args.outs], Path(args.into), roster)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print_summary(graded)
    if roster is not None:
        _roster_report([g.name for g in graded], roster)
    print(f"\n{len(graded)} submission(s) from {len(args.outs)} folder(s) merged into {args.into}/")
    return 0


def cmd_check(args) -> int:
    """Students: the public checks of one or more topics, on their own assignments/ folder.

    Run in this process (local_run.py, as the student kit's checker does): no worker, no
    sandbox; it is the student's own code on the student's own machine."""
    import torch

    from . import local_run
    from .plans import public_plan
    from .report import feedback
    from .scoring import score
    from .topics import TAMPER
    root = Path(args.root).resolve()
    i18n.set_language(args.lang)
    _ = i18n._
    topics = _topics(args.topic) or tuple(TOPICS)
    files = {t.filename: t.assignment_dir(root) / t.filename for t in TOPICS.values()
             if (t.assignment_dir(root) / t.filename).is_file()}   # every module: cross-topic imports
    wanted = tuple(name for name in topics if TOPICS[name].filename in files)
    if not wanted:
        print(_("No assignment files found under {folder}.").format(folder=f"{root}/assignments"),
              file=sys.stderr)
        return 2
    plan = public_plan(wanted, root)
    if not plan:
        print(_("No public checks found for: {topics}").format(topics=", ".join(topics)),
              file=sys.stderr)
        return 2
    if args.only:
        plan = _only(plan, args.only)
        if plan is None:
            return 2
    course = local_run.Course(dict(TOPICS), args.seed, TAMPER, *_known_mistakes(plan, args.seed))
    present = {"cpu"} | ({"cuda"} if torch.cuda.is_available() else set())
    run_on = [d for d in args.device if d in present]
    absent = [d for d in args.device if d not in present]
    outcomes = local_run.run_plan(course, plan, files, args.seed, run_on, absent)
    header = _("Devices: {devices}").format(devices=", ".join(run_on)) + (
        _(" (not on this machine, skipped: {devices})").format(devices=", ".join(absent))
        if absent else "")
    text = feedback("my-work", outcomes, score(outcomes), [], args.seed, header)
    print(text.replace(_("Feedback for {name}:").format(name="my-work"),
                       _("Public checks on your code:"), 1))
    return 0


def _known_mistakes(plan: dict, seed: int) -> tuple[dict, int | None]:
    """The known mistakes' outputs on the public checks' inputs (their "Likely cause"), as the
    student kit ships them (likely_causes.py); computed from the reference solutions once
    (about a second a topic) and kept in build/check-cache/ until the grader or the
    solutions change. ({}, None) when the solutions are not here."""
    import hashlib
    import os

    from . import wire
    from .plans import grader_digest
    from .likely_causes import public_mistakes
    if not (ROOT / "solutions").is_dir():
        return {}, None
    ids = sorted(c.id for tc in plan.values() for c in tc.checks)
    key = hashlib.sha256(f"{grader_digest()}:{seed}:{ids}".encode()).hexdigest()[:20]
    path = ROOT / "build" / "check-cache" / f"mistakes-{key}.bin"
    try:
        return wire.loads(path.read_bytes()), seed
    except (OSError, wire.WireError):
        pass
    known = public_mistakes(plan, seed, ROOT)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
        tmp.write_bytes(wire.dumps(known))
        tmp.replace(path)
    except OSError:
        pass                                   # a read-only checkout: computed again next time
    return known, seed


def _only(plan: dict, wanted: list[str], kind: str = "public"):
    """The plan cut down to the checks named (by name or topic/name); None, with a message,
    when a name matches nothing. The placement probe is left out: it reruns whole topics."""
    names: dict[str, set[str]] = {}
    for tc in plan.values():
        for c in tc.checks:
            names.setdefault(c.name, set()).add(c.id)
            names[c.id] = {c.id}
    unknown = [w for w in wanted if w not in names]
    if unknown:
        message = i18n._("No public check named {names}. The checks are:") if kind == "public" \
            else i18n._("No hidden check named {names}. The checks are:")
        print(message.format(names=", ".join(unknown)) + "\n  "
              + "\n  ".join(sorted(k for k in names if "/" in k)), file=sys.stderr)
        return None
    keep = set().union(*(names[w] for w in wanted))
    cut = {t: replace(tc, checks=[c for c in tc.checks if c.id in keep], placement_points=0.0)
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
    """Maintainers: grade the bank of known bugs and correct variants (autograder/bank/), or
    with --mutants cosmic-ray's mutants of the solutions (docs/MUTANTS.md)."""
    if args.mutants:
        from .mutants import main as mutants_main
        return mutants_main(Config(devices=args.device, jobs=args.jobs), topics=_topics(args.topic),
                            n=args.sample, seed=args.seed or 0)
    if args.topic or args.sample is not None or args.seed is not None:
        print("error: --topic, --sample and --seed go with --mutants", file=sys.stderr)
        return 2
    from .audit import main as audit_main
    return audit_main(Config(devices=args.device, jobs=args.jobs), only=args.only)


def cmd_export(args) -> int:
    """Instructors: the assignment in another platform's format."""
    from .exporters.gradescope import HIDDEN_VISIBILITY, autograder_zip
    course = _course(args.course)                 # checked here, shipped as course.toml
    if args.platform in ("nbgrader", "otter"):
        return _export_notebooks(args, course)
    visibility = args.hidden_visibility or (course.hidden_visibility if course else HIDDEN_VISIBILITY)
    names = autograder_zip(Path(args.out), ROOT, visibility,
                           Path(args.course) if course is not None else None)
    print(f"wrote {args.out} ({len(names)} files): upload it as the assignment's autograder "
          "(Ubuntu 24.04 base image); hidden checks are shown "
          f"{visibility.replace('_', ' ')}, public checks at once"
          + (f"; graded with {args.course}" if course is not None else ""))
    return 0


def _export_notebooks(args, course) -> int:
    """nbgrader: a course folder (nbgrader_config.py, source/NAME/); otter: master notebooks."""
    topics = _topics(args.topic)
    course_file = Path(args.course) if course is not None else None
    device = args.device or ("all" if course is None or set(course.configure(Config()).devices)
                             == {"cpu", "cuda"} else course.configure(Config()).devices[0])
    out = Path(args.out)
    if args.platform == "nbgrader":
        from .exporters.nbgrader import export
        written = export(out, args.assignment, topics, device, course_file)
        print(f"wrote an nbgrader course in {out}/ ({len(written) - 1} notebook(s) in "
              f"source/{args.assignment}/ and nbgrader_config.py); next, in {out}/: "
              f"nbgrader generate_assignment {args.assignment}")
    else:
        from .exporters.otter import export
        written = export(out, topics, device, course_file)
        print(f"wrote {len(written) - 1} otter-assign master notebook(s) in {out}/; next, for each: "
              f"otter assign {written[0].relative_to(out)} dist/{written[0].parent.name}  (see {out}/README.md)")
    return 0


def cmd_gradescope_run(args) -> int:
    """Inside Gradescope's container (run_autograder): grade the upload, write results.json."""
    from .on_gradescope import run
    return run(Path(args.submission), Path(args.results), args.hidden_visibility, args.device,
               Path(args.course) if args.course else None,
               Path(args.metadata) if args.metadata else None, getattr(args, "lang", None))


def cmd_course(args) -> int:
    """Instructors: validate course.toml and print the settings grading would use."""
    from .course import CourseError, describe, list_checks, load
    try:
        course = load(Path(args.file))
    except CourseError as exc:
        print(exc, file=sys.stderr)
        if args.checks:
            print(list_checks())
        return 1
    print(describe(course))
    if args.checks:
        print("\nchecks (id and points as the checks define them):\n" + list_checks())
    return 0


def cmd_release(args) -> int:
    """Instructors: the student kit (stubs, notebooks, public checks, the checker) in OUT_DIR."""
    from .release import ReleaseError, build
    try:
        kit = build(Path(args.out_dir), lang=_language(args, _course(args.course)))
    except ReleaseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.status
    for note in kit.notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"wrote the student kit {kit.version} to {kit.root} ({kit.files} files); students install "
          f"the checker with: pip install {kit.wheel.relative_to(kit.root)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    g = sub.add_parser("grade", help="grade submissions (folders, .zip files, notebooks)")
    g.add_argument("submissions", nargs="+", help="a submission, or a folder of submissions")
    g.add_argument("--out", help="folder for results.json, feedback and gradebook.csv (required "
                   "unless --only is given)")
    g.add_argument("--device", type=_devices, help="cpu, cuda or all (default: the course file's, or all)")
    g.add_argument("--topic", action="append", help="grade only this topic (repeatable)")
    g.add_argument("--seed", type=int, default=Config.base_seed, help="base seed for every check's inputs")
    g.add_argument("--jobs", type=int, default=2, help="submissions graded in parallel")
    g.add_argument("--timeout-scale", type=float,
                   help="multiply every time limit (default: the course file's, or 1)")
    g.add_argument("--course", metavar="TOML",
                   help="course.toml: points, visibility, language, limits, devices, late policy")
    g.add_argument("--regrade", action="store_true", help="grade again even if results are up to date")
    g.add_argument("--shard", type=_shard, metavar="K/N",
                   help="grade only shard K of N (a stable split by submission name); merge afterwards")
    g.add_argument("--roster", metavar="CSV",
                   help="submission,student_id,email,name,section: identities for the gradebook")
    g.add_argument("--only", action="append", metavar="CHECK",
                   help="rerun only this hidden check (name or topic/name; repeatable) and print "
                        "the feedback; without --out the results go to a scratch folder")
    g.add_argument("--quiet", action="store_true",
                   help="print nothing but errors, warnings and the final summary line")
    g.add_argument("--json", action="store_true",
                   help="print one JSON line per finished submission on stdout (name, score, "
                        "max_score, seconds, topics, reused), and nothing else there")
    g.add_argument("--lang", choices=i18n.LANGS,
                   help="the language of the feedback (default: the course file's, or en)")
    g.set_defaults(func=cmd_grade)

    m = sub.add_parser("merge", help="instructors: merge the output folders of a sharded batch")
    m.add_argument("outs", nargs="+", help="the shards' output folders")
    m.add_argument("--into", required=True, help="the merged output folder")
    m.add_argument("--roster", metavar="CSV", help="as for grade")
    m.set_defaults(func=cmd_merge)

    c = sub.add_parser("check", help="students: run the public checks on your assignments/ folder")
    c.add_argument("topic", nargs="*", help=f"one or more of: {', '.join(TOPICS)} (default: all)")
    c.add_argument("--root", default=".", help="the folder that holds assignments/ (default: here)")
    c.add_argument("--device", type=_devices, default=("cpu", "cuda"))
    c.add_argument("--only", action="append", metavar="CHECK",
                   help="run only this check (its name, as in the feedback; repeatable)")
    c.add_argument("--seed", type=int, default=Config.base_seed,
                   help="base seed for every check's inputs (the feedback says which was used)")
    c.add_argument("--lang", choices=i18n.LANGS, default=i18n.DEFAULT,
                   help="the language of the feedback: en (default) or ru")
    c.set_defaults(func=cmd_check)

    a = sub.add_parser("audit", help="maintainers: are known bugs caught and correct variants passed?")
    a.add_argument("--only", help="one topic or one entry name")
    a.add_argument("--device", type=_devices, default=("cpu",))
    a.add_argument("--jobs", type=int, default=2)
    a.add_argument("--mutants", action="store_true",
                   help="grade cosmic-ray's mutants of the solutions instead (docs/MUTANTS.md)")
    a.add_argument("--topic", action="append", help="with --mutants: only this topic (repeatable)")
    a.add_argument("--sample", type=int, metavar="N",
                   help="with --mutants: N mutants a topic, drawn by --seed")
    a.add_argument("--seed", type=int, help="with --mutants: which sample to draw (default 0)")
    a.set_defaults(func=cmd_audit)

    from .exporters.gradescope import HIDDEN_VISIBILITY, VISIBILITIES
    e = sub.add_parser("export", help="instructors: the assignment for another platform")
    e.add_argument("platform", choices=["gradescope", "nbgrader", "otter"])
    e.add_argument("out", help="gradescope: the autograder .zip to write; nbgrader: the course folder; "
                               "otter: the folder for the master notebooks")
    e.add_argument("--assignment", default="ps1", help="nbgrader: the assignment's name (default ps1)")
    e.add_argument("--topic", action="append", help="nbgrader, otter: only this topic (repeatable; "
                                                     "default every topic)")
    e.add_argument("--device", choices=("cpu", "cuda", "all"),
                   help="nbgrader, otter: devices the checks are graded on (default: the course "
                        "file's, or all); a check that runs on none of them is left out")
    e.add_argument("--hidden-visibility", choices=VISIBILITIES,
                   help="when students see the hidden checks' cases (public ones: at once; default: "
                        f"the course file's, or {HIDDEN_VISIBILITY})")
    e.add_argument("--course", metavar="TOML", help="course.toml to grade with (gradescope: shipped in the "
                                                     "zip; nbgrader, otter: its points, and named in the settings)")
    e.set_defaults(func=cmd_export)

    r = sub.add_parser("gradescope-run", help="inside Gradescope: grade one upload (run_autograder)")
    r.add_argument("submission", help="the upload's folder (/autograder/submission)")
    r.add_argument("--results", required=True, help="where results.json goes")
    r.add_argument("--hidden-visibility", choices=VISIBILITIES,
                   help=f"default: the course file's, or {HIDDEN_VISIBILITY}")
    r.add_argument("--device", type=_devices, help="default: the course file's, or all")
    r.add_argument("--course", metavar="TOML", help="the course.toml the zip ships")
    r.add_argument("--metadata", metavar="JSON",
                   help="Gradescope's submission_metadata.json (the late policy's times)")
    r.set_defaults(func=cmd_gradescope_run)

    k = sub.add_parser("release", help="instructors: write the student kit (nothing hidden in it)")
    k.add_argument("out_dir", help="folder for the kit (absent, empty, or an earlier kit)")
    k.add_argument("--lang", choices=("en", "ru"),
                   help="the kit's language (default: the course file's, or en)")
    k.add_argument("--course", metavar="TOML", help="course.toml (its language)")
    k.set_defaults(func=cmd_release)

    cc = sub.add_parser("course", help="instructors: check a course.toml").add_subparsers(
        dest="action", required=True)
    ck = cc.add_parser("check", help="validate course.toml and print the effective settings")
    ck.add_argument("file", help="the course file (course.toml)")
    ck.add_argument("--checks", action="store_true",
                    help="also list every check id a course may give points to")
    ck.set_defaults(func=cmd_course)

    s = sub.add_parser("stubs", help="generate assignments/ stubs from solutions/")
    s.add_argument("--check", action="store_true", help="only report stubs that drifted")
    s.set_defaults(func=cmd_stubs)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        with i18n.language(i18n.current()):      # a command's --lang ends with it (in-process calls)
            return args.func(args)
    except BrokenPipeError:
        return 0
