"""Outcomes -> what people read: the student's feedback, the instructor's, the terminal table."""
from __future__ import annotations

import textwrap
from collections import OrderedDict

from .config import Config
from .i18n import _, gettext, localize_causes, ngettext
from .outcome import Outcome
from .scoring import Score

DEFAULT_SEED = Config.base_seed
MARK = {"passed": "PASS", "failed": "FAIL", "not_implemented": "TODO", "error": "ERROR",
        "timeout": "TIMEOUT", "forbidden": "FORBIDDEN", "skipped": "SKIP"}


def _points(x: float) -> str:
    return f"{x:g}" if x == int(x) else f"{x:.2f}"


def _plural(x: float) -> int:
    """The count that picks a plural form for `x` points: a fraction reads as 2 (Russian
    "1,5 балла", English "1.50 points")."""
    return int(x) if x == int(x) else 2


CAUSE = "Likely cause: "


def _cause(o: Outcome) -> str | None:
    """The likely cause a failed case names (its first line), if any."""
    if CAUSE not in o.message:
        return None
    return o.message.split(CAUSE, 1)[1].splitlines()[0].strip() or None


def _without_cause(message: str) -> str:
    """A case's message without its "Likely cause" line (said once, above, for the group)."""
    if CAUSE not in message:
        return message
    head, tail = message.split(CAUSE, 1)
    rest = tail.split("\n", 1)[1] if "\n" in tail else ""
    return (head.rstrip("\n") + ("\n" + rest if rest else "")).strip("\n")


def case_text(o: Outcome, base_seed: int | None = None, for_instructor: bool = True) -> str:
    """One case's message, and what the reader can do next.

    A public case names the command that runs it alone on the student's own code. A
    hidden case, for the instructor, names the case and its seed (the grader replays it
    exactly: `grade --only`); for the student, what it tried, without its inputs.
    """
    lines = [localize_causes(o.message)] if o.message else []
    if o.status not in ("passed", "skipped") and o.seed is not None:
        lines.append(next_step(o, base_seed, for_instructor))
    return "\n".join(lines)


def next_step(o: Outcome, base_seed: int | None, for_instructor: bool) -> str:
    topic, name = o.check_id.split("/", 1)
    if o.public:
        seed = f" --seed {base_seed}" if base_seed not in (None, DEFAULT_SEED) else ""
        return _("Run it alone: {command}").format(
            command=f"python -m autograder check {topic} --only {name} --device {o.device}{seed}")
    if for_instructor:
        return (_("Reproduce: check {check}, device {device}, seed {seed}").format(
                    check=o.check_id, device=o.device, seed=o.seed)
                + (_(" (base seed {seed})").format(seed=base_seed) if base_seed is not None else ""))
    return _("What it tried: {title} (hidden check {name}, on {device}; its inputs are not "
             "shown).").format(title=o.title.rstrip("."), name=name, device=o.device)


def _check_line(runs: list[Outcome]) -> str:
    earned = sum(o.points for o in runs)
    possible = sum(o.max_points for o in runs)
    statuses = {o.status for o in runs if o.status != "skipped"} or {"skipped"}
    worst = next((s for s in ("forbidden", "error", "timeout", "failed", "not_implemented")
                  if s in statuses), "passed" if "passed" in statuses else "skipped")
    devices = ", ".join(f"{o.device} {MARK[o.status].lower()}" for o in runs)
    return f"[{MARK[worst]:>9}] {runs[0].title}  {_points(earned)} / {_points(possible)}  ({devices})"


def _header(name: str, total: Score, notes: list[str], base_seed: int, header_extra: str) -> list[str]:
    points = ngettext("{score} / {max_score} points ({percent:.1f}%)",
                      "{score} / {max_score} points ({percent:.1f}%)", _plural(total.max_score))
    out = [_("Feedback for {name}:").format(name=name) + " " + points.format(
        score=_points(total.score), max_score=_points(total.max_score), percent=total.percent)]
    if header_extra:
        out.append(header_extra)
    out.append(_("Base seed {seed}: every case below can be replayed with it.").format(seed=base_seed))
    if notes:
        out.append("")
        out.append(_("About your submission:"))
        out.extend(f"  - {n}" for n in notes)
    return out


def _by(outcomes: list[Outcome], key) -> "OrderedDict[str, list[Outcome]]":
    grouped: "OrderedDict[str, list[Outcome]]" = OrderedDict()
    for o in outcomes:
        grouped.setdefault(key(o), []).append(o)
    return grouped


def feedback(name: str, outcomes: list[Outcome], total: Score, notes: list[str],
             base_seed: int, header_extra: str = "") -> str:
    """The feedback file a student reads, topic by topic: one entry per likely cause (said
    once, with the checks it failed and the points they cost), then the failures with no
    known cause, each ending with what the reader can do, then the checks passed. Hidden
    checks say what they tried, never how to replay them (that is the instructor's file)."""
    out = _header(name, total, notes, base_seed, header_extra)
    topic_scores = {t.topic: t for t in total.topics}
    for topic, cases in _by(outcomes, lambda o: o.topic).items():
        ts = topic_scores[topic]
        out += ["", f"== {topic}: {_points(ts.score)} / {_points(ts.max_score)} " + "=" * 20]
        checks = _by(cases, lambda o: o.check_id)
        failed = {cid: runs for cid, runs in checks.items()
                  if any(o.status not in ("passed", "skipped") for o in runs)}
        causes: "OrderedDict[str, list[str]]" = OrderedDict()
        for cid, runs in failed.items():
            cause = next((c for c in map(_cause, runs) if c), None)
            if cause:
                causes.setdefault(cause, []).append(cid)
        grouped = {cid for ids in causes.values() for cid in ids}
        lost = {cid: sum(o.max_points - o.points for o in runs) for cid, runs in failed.items()}
        for cause, ids in sorted(causes.items(), key=lambda kv: -sum(lost[c] for c in kv[1])):
            points = sum(lost[c] for c in ids)
            out += ["", _("Likely cause: {cause}").format(cause=gettext(cause)),
                    "  " + _("It explains {checks} ({points} lost):").format(
                        checks=ngettext("{n} failed check", "{n} failed checks", len(ids)).format(n=len(ids)),
                        points=ngettext("{points} point", "{points} points", _plural(points)).format(
                            points=_points(points)))]
            out += [f"  {_check_line(checks[cid])}" for cid in ids]
            first = next(o for o in checks[ids[0]] if o.status not in ("passed", "skipped"))
            example = localize_causes(_without_cause(first.message))
            if example:
                out.append(textwrap.indent(_("For example, on {device}:").format(device=first.device)
                                           + f"\n{textwrap.indent(example, '  ')}", "  "))
            public = next((o for cid in ids for o in checks[cid]
                           if o.public and o.status not in ("passed", "skipped") and o.seed is not None), None)
            if public is not None:
                out.append("  " + next_step(public, base_seed, for_instructor=False))
        others = [cid for cid in failed if cid not in grouped]
        if others:
            out += ["", _("Failed, no known cause:") if causes else _("Failed:")]
            for cid in others:
                out.append(_check_line(checks[cid]))
                for o in checks[cid]:
                    if o.status in ("passed", "skipped"):
                        continue
                    text = case_text(o, base_seed, for_instructor=False)
                    out.append(textwrap.indent(_("on {device}:").format(device=o.device)
                                               + f"\n{textwrap.indent(text, '  ')}", "            "))
        rest = [cid for cid in checks if cid not in failed]
        if rest:
            out += ["", _("Passed:") if failed else _("All checks:")]
            out += [_check_line(checks[cid]) for cid in rest]
    return "\n".join(out) + "\n"


def instructor_feedback(name: str, outcomes: list[Outcome], total: Score, notes: list[str],
                        base_seed: int, header_extra: str = "") -> str:
    """The instructor's file: every case in check order with its whole message and the line
    that replays it (`python -m autograder grade SUBMISSION --only CHECK`)."""
    out = _header(name, total, notes, base_seed, header_extra)
    topic_scores = {t.topic: t for t in total.topics}
    for topic, cases in _by(outcomes, lambda o: o.topic).items():
        ts = topic_scores[topic]
        out += ["", f"== {topic}: {_points(ts.score)} / {_points(ts.max_score)} " + "=" * 20]
        for runs in _by(cases, lambda o: o.check_id).values():
            out.append(_check_line(runs))
            for o in runs:
                if o.status in ("passed", "skipped"):
                    continue
                text = case_text(o, base_seed, for_instructor=True)
                out.append(textwrap.indent(_("on {device}:").format(device=o.device)
                                           + f"\n{textwrap.indent(text, '  ')}", "            "))
    return "\n".join(out) + "\n"


def summary_table(rows: list[tuple[str, Score, float, str]]) -> str:
    """The batch's table on the terminal: one line a submission."""
    topics: list[str] = []
    for _, s, _, _ in rows:
        for t in s.topics:
            if t.topic not in topics:
                topics.append(t.topic)
    width = max([len("submission")] + [len(r[0]) for r in rows])
    head = f"{'submission':<{width}}  {'score':>13}  " + "  ".join(f"{t[:13]:>13}" for t in topics) + "  time"
    lines = [head, "-" * len(head)]
    for name, s, seconds, note in rows:
        cells = []
        for t in topics:
            ts = next((x for x in s.topics if x.topic == t), None)
            cells.append(f"{_points(ts.score) + '/' + _points(ts.max_score):>13}" if ts else f"{'-':>13}")
        total = f"{_points(s.score)}/{_points(s.max_score)}"
        lines.append(f"{name:<{width}}  {total:>13}  " + "  ".join(cells) + f"  {seconds:5.1f}s"
                     + (f"  {note}" if note else ""))
    return "\n".join(lines)
