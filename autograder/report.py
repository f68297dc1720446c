"""Outcomes -> what people read: the student's feedback, the terminal table."""
from __future__ import annotations

import textwrap
from collections import OrderedDict

from .config import Config
from .outcome import Outcome
from .scoring import Score

DEFAULT_SEED = Config.base_seed
MARK = {"passed": "PASS", "failed": "FAIL", "not_implemented": "TODO", "error": "ERROR",
        "timeout": "TIMEOUT", "forbidden": "FORBIDDEN", "skipped": "SKIP"}


def _points(x: float) -> str:
    return f"{x:g}" if x == int(x) else f"{x:.2f}"


def case_text(o: Outcome, base_seed: int | None = None) -> str:
    """One case's message, with the line that replays it.

    A public case names the command that runs it alone on the student's own code; a
    hidden one names the case and its seed, which the instructor's grader replays exactly.
    """
    lines = [o.message] if o.message else []
    if o.status not in ("passed", "skipped") and o.seed is not None:
        if o.public:
            topic, name = o.check_id.split("/", 1)
            seed = f" --seed {base_seed}" if base_seed not in (None, DEFAULT_SEED) else ""
            lines.append(f"Run it alone: python -m autograder check {topic} --only {name} "
                         f"--device {o.device}{seed}")
        else:
            lines.append(f"Reproduce: check {o.check_id}, device {o.device}, seed {o.seed}"
                         + (f" (base seed {base_seed})" if base_seed is not None else ""))
    return "\n".join(lines)


def feedback(name: str, outcomes: list[Outcome], total: Score, notes: list[str],
             base_seed: int, header_extra: str = "") -> str:
    """The feedback file a student reads: per topic, per check, what went wrong and why."""
    out = [f"Feedback for {name}: {_points(total.score)} / {_points(total.max_score)} points "
           f"({total.percent:.1f}%)"]
    if header_extra:
        out.append(header_extra)
    out.append(f"Base seed {base_seed}: every case below can be replayed with it.")
    if notes:
        out.append("")
        out.append("About your submission:")
        out.extend(f"  - {n}" for n in notes)
    by_topic: "OrderedDict[str, list[Outcome]]" = OrderedDict()
    for o in outcomes:
        by_topic.setdefault(o.topic, []).append(o)
    topic_scores = {t.topic: t for t in total.topics}
    for topic, cases in by_topic.items():
        ts = topic_scores[topic]
        out += ["", f"== {topic}: {_points(ts.score)} / {_points(ts.max_score)} " + "=" * 20]
        by_check: "OrderedDict[str, list[Outcome]]" = OrderedDict()
        for o in cases:
            by_check.setdefault(o.check_id, []).append(o)
        for check_id, runs in by_check.items():
            earned = sum(o.points for o in runs)
            possible = sum(o.max_points for o in runs)
            statuses = {o.status for o in runs if o.status != "skipped"} or {"skipped"}
            worst = next((s for s in ("forbidden", "error", "timeout", "failed", "not_implemented")
                          if s in statuses), "passed" if "passed" in statuses else "skipped")
            devices = ", ".join(f"{o.device} {MARK[o.status].lower()}" for o in runs)
            out.append(f"[{MARK[worst]:>9}] {runs[0].title}  {_points(earned)} / {_points(possible)}  ({devices})")
            for o in runs:
                if o.status in ("passed", "skipped"):
                    continue
                text = case_text(o, base_seed)
                out.append(textwrap.indent(f"on {o.device}:\n{textwrap.indent(text, '  ')}", "            "))
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
