"""The class report: one self-contained HTML page about a graded batch, for the instructor.

Made from what grade_batch wrote for each submission (OUT/<name>/results.json, whose
extra_data.outcomes hold every case, and OUT/<name>/feedback.txt), so `merge` makes
the same page for the merged folder. One file that opens anywhere, offline: inline
CSS, hand-written SVG, no script and no outside resource (its Content-Security-Policy
forbids both). Every text that comes from a submission is escaped. The page is the
same for the same results (no date in it, submissions in name order).
"""
from __future__ import annotations

import html
import json
import os
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

from .outcome import Outcome
from .report import _points
from .scoring import Score, score, with_late

CAUSE = "Likely cause: "
SLOWEST = 10            # rows in "Slowest submissions"
BAR = "#3b6fb6"         # the histograms' bars (tests look for this colour in a screenshot)


@dataclass(frozen=True)
class Row:
    """One submission as the report sees it."""
    name: str
    anchor: str
    score: Score
    seconds: float
    notes: tuple[str, ...]
    outcomes: tuple[Outcome, ...]
    feedback: str


@dataclass(frozen=True)
class CheckRate:
    check_id: str
    title: str
    public: bool
    graded: int             # submissions with a case of this check that ran
    passed: int             # ... whose every case that ran passed
    lost: dict[str, int]    # worst status -> submissions, for those that did not pass

    @property
    def rate(self) -> float:
        return self.passed / self.graded if self.graded else 1.0


@dataclass(frozen=True)
class Mistake:
    cause: str
    submissions: tuple[str, ...]
    cases: int
    checks: tuple[str, ...]


# ----------------------------------------------------------------------------- data

def load(out: Path, names: list[str]) -> list[Row]:
    """The rows of the named submissions, in name order; an unreadable one gets a note."""
    rows, anchors = [], set()
    for name in sorted(set(names)):
        folder = out / name
        outcomes, notes, seconds, late = [], [], 0.0, None
        try:
            data = json.loads((folder / "results.json").read_text(encoding="utf-8"))
            outcomes = [Outcome(**o) for o in data["extra_data"]["outcomes"]]
            notes = [str(n) for n in data["extra_data"].get("notes", [])]
            seconds = float(data.get("execution_time", 0))
            late = data["extra_data"].get("late")            # course.toml's late policy
        except (OSError, ValueError, KeyError, TypeError) as exc:
            notes = [f"results.json could not be read ({type(exc).__name__})"]
        try:
            text = (folder / "feedback.txt").read_text(encoding="utf-8")
        except (OSError, ValueError):
            text = "(no feedback.txt)"
        total = with_late(score(outcomes), late)
        rows.append(Row(name, _anchor(name, anchors), total, seconds, tuple(notes),
                        tuple(outcomes), text))
    return rows


def _anchor(name: str, taken: set[str]) -> str:
    base = "sub-" + "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
    anchor, n = base, 1
    while anchor in taken:
        n += 1
        anchor = f"{base}-{n}"
    taken.add(anchor)
    return anchor


def topics(rows: list[Row]) -> list[str]:
    """The topics in the order the outcomes list them (the course's order)."""
    found: dict[str, None] = {}
    for r in rows:
        for t in r.score.topics:
            found.setdefault(t.topic, None)
    return list(found)


def check_rates(rows: list[Row]) -> list[CheckRate]:
    """Per check, how many submissions passed every case of it that ran; worst first."""
    seen: dict[str, Outcome] = {}
    per_check: dict[str, list[str]] = {}            # check id -> each submission's worst status
    for r in rows:
        by_check: dict[str, list[Outcome]] = {}
        for o in r.outcomes:
            seen.setdefault(o.check_id, o)
            by_check.setdefault(o.check_id, []).append(o)
        for check_id, cases in by_check.items():
            ran = [o.status for o in cases if o.status != "skipped"]
            if ran:
                worst = next((s for s in ran if s != "passed"), "passed")
                per_check.setdefault(check_id, []).append(worst)
    rates = []
    for check_id, worst in per_check.items():
        lost: dict[str, int] = {}
        for status in worst:
            if status != "passed":
                lost[status] = lost.get(status, 0) + 1
        o = seen[check_id]
        rates.append(CheckRate(check_id, o.title, o.public, len(worst), worst.count("passed"), lost))
    return sorted(rates, key=lambda c: (c.rate, -c.graded, c.check_id))


def mistakes(rows: list[Row]) -> list[Mistake]:
    """The named mistakes ("Likely cause: ..." in a case's message), most submissions first."""
    found: dict[str, tuple[set, list, set]] = {}
    for r in rows:
        for o in r.outcomes:
            if CAUSE not in o.message:
                continue
            cause = o.message.split(CAUSE, 1)[1].splitlines()[0].strip()
            who, cases, checks = found.setdefault(cause, (set(), [], set()))
            who.add(r.name)
            cases.append(o.case_id)
            checks.add(o.check_id)
    named = [Mistake(c, tuple(sorted(w)), len(n), tuple(sorted(k))) for c, (w, n, k) in found.items()]
    return sorted(named, key=lambda m: (-len(m.submissions), -m.cases, m.cause))


def histogram(percents: list[float]) -> list[int]:
    """Counts in 11 bins: 0-9%, 10-19%, ..., 90-99%, and full marks on their own."""
    counts = [0] * 11
    for p in percents:
        counts[10 if p >= 100 - 1e-9 else min(9, max(0, int(p // 10)))] += 1
    return counts


# ----------------------------------------------------------------------------- drawing

def histogram_svg(key: str, label: str, percents: list[float]) -> str:
    """A bar chart of the percents, hand-written SVG (no plotting library, nothing to fetch)."""
    counts = histogram(percents)
    width, height, left, bottom, top = 340, 150, 26, 30, 16
    slot = (width - left - 4) / len(counts)
    peak = max(counts) or 1
    scale = (height - bottom - top) / peak
    base = height - bottom
    parts = [f'<svg id="hist-{e(key)}" class="histogram" role="img" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}">',
             f"<title>{e(label)}: {len(percents)} submission(s) by percent of the maximum</title>",
             f'<line x1="{left}" y1="{base}" x2="{width - 4}" y2="{base}" stroke="#444"/>',
             f'<text x="{left - 4}" y="{top + 4}" text-anchor="end" class="tick">{peak}</text>',
             f'<text x="{left - 4}" y="{base}" text-anchor="end" class="tick">0</text>']
    for i, n in enumerate(counts):
        x = left + i * slot
        h = n * scale
        if n:
            parts.append(f'<rect x="{x + 2:.1f}" y="{base - h:.1f}" width="{slot - 4:.1f}" '
                         f'height="{h:.1f}" fill="{BAR}"><title>{_bin_name(i)}: {n}</title></rect>')
            parts.append(f'<text x="{x + slot / 2:.1f}" y="{base - h - 3:.1f}" text-anchor="middle" '
                         f'class="count">{n}</text>')
        parts.append(f'<text x="{x + slot / 2:.1f}" y="{base + 12}" text-anchor="middle" '
                     f'class="tick">{"100" if i == 10 else i * 10}</text>')
    parts.append(f'<text x="{left + (width - left) / 2:.1f}" y="{height - 4}" text-anchor="middle" '
                 'class="tick">% of the maximum (100: full marks)</text></svg>')
    return "".join(parts)


def _bin_name(i: int) -> str:
    return "full marks" if i == 10 else f"{i * 10}-{i * 10 + 9}%"


def e(text) -> str:
    return html.escape(str(text), quote=True)


# ----------------------------------------------------------------------------- the page

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#1a1a1a;
  background:#fff;margin:0 auto;max-width:1200px;padding:0 24px 48px}
h1{margin:24px 0 4px}h2{margin-top:36px;border-bottom:2px solid #ddd;padding-bottom:4px}
nav a{margin-right:14px}.lead{color:#444;margin:0 0 8px}
.figures{display:flex;flex-wrap:wrap;gap:12px 24px}figure{margin:0}
figcaption{font-weight:600;margin-bottom:2px}figcaption span{font-weight:400;color:#555}
svg .tick{font-size:9px;fill:#444}svg .count{font-size:10px;fill:#1a1a1a}
table{border-collapse:collapse;margin:8px 0}th,td{padding:3px 10px;border-bottom:1px solid #e3e3e3;
  text-align:left;vertical-align:top}th{background:#f3f3f3}td.rate{white-space:nowrap}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
code,pre{font-family:"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:12px}
.title{color:#555;font-size:12px}.public{font-size:11px;color:#2a6a2a;border:1px solid #2a6a2a;
  border-radius:3px;padding:0 3px;margin-left:4px}
.meter{display:inline-block;width:90px;height:9px;background:#f0c8c3;vertical-align:middle;
  margin-right:6px}.meter i{display:block;height:100%;background:#3d8b4a}
.meter,.meter i{-webkit-print-color-adjust:exact;print-color-adjust:exact}
.student pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f7f7f7;border:1px solid #e3e3e3;
  padding:8px}.notes{color:#8a4b00}.muted{color:#666}
@media print{
  body{max-width:none;padding:0;font-size:11pt;color:#000;background:#fff}
  nav,.top{display:none}a{color:#000;text-decoration:none}
  th{background:#fff;border-bottom:1.5px solid #000}
  .student{break-before:page}.student pre{background:#fff;border:none;padding:0}
  tr,figure{break-inside:avoid}h2{break-after:avoid}
}
"""
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def render(rows: list[Row]) -> str:
    """The whole page."""
    names = topics(rows)
    body = [_overview(rows, names), _checks(check_rates(rows)), _mistakes(mistakes(rows), rows),
            _slowest(rows), _table(rows, names), _students(rows)]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>Class report: {len(rows)} submission(s)</title><style>{STYLE}</style></head>"
            '<body id="top">' + "\n".join(body) + "\n</body></html>\n")


def _overview(rows: list[Row], names: list[str]) -> str:
    graded = [r for r in rows if r.score.max_score]
    totals = [r.score.score for r in graded]
    maxima = sorted({r.score.max_score for r in graded})
    lead = f"{len(rows)} submission(s); topics: {', '.join(names) or 'none'}."
    if totals:
        lead += (f" Total: mean {_points(round(statistics.mean(totals), 2))}, median "
                 f"{_points(statistics.median(totals))} of {_max(maxima)}; grading took "
                 f"{sum(r.seconds for r in rows):.0f}s of worker time in all.")
    figures = [_figure("total", "total", [r.score.percent for r in graded], maxima, totals)]
    for t in names:
        ts = [x for r in rows for x in r.score.topics if x.topic == t and x.max_score]
        figures.append(_figure(t, t, [100 * x.score / x.max_score for x in ts],
                               sorted({x.max_score for x in ts}), [x.score for x in ts]))
    nav = ('<nav><a href="#scores">Scores</a><a href="#checks">Checks</a><a href="#mistakes">'
           'Likely causes</a><a href="#slowest">Slowest</a><a href="#submissions">Submissions</a></nav>')
    return (f"<h1>Class report</h1><p class=\"lead\">{e(lead)}</p>{nav}"
            f'<h2 id="scores">Scores</h2><div class="figures">{"".join(figures)}</div>')


def _figure(key: str, label: str, percents: list[float], maxima: list[float], points: list[float]) -> str:
    stats = f"{len(points)} graded"
    if points:
        stats += (f", max {_max(maxima)}, mean {_points(round(statistics.mean(points), 2))}, "
                  f"median {_points(statistics.median(points))}")
    return (f"<figure><figcaption>{e(label)} <span>({e(stats)})</span></figcaption>"
            f"{histogram_svg(key, label, percents)}</figure>")


def _max(maxima: list[float]) -> str:
    if not maxima:
        return "0"
    return _points(maxima[0]) if len(maxima) == 1 else f"{_points(maxima[0])}-{_points(maxima[-1])}"


def _checks(rates: list[CheckRate]) -> str:
    out = ['<h2 id="checks">Checks by pass rate, worst first</h2>',
           '<p class="muted">A submission passes a check when every case of it that ran passed '
           '(cases skipped for a missing device do not count).</p>',
           '<table><tr><th>check</th><th class="num">passed</th><th>rate</th><th>did not pass</th></tr>']
    for c in rates:
        badge = '<span class="public">public</span>' if c.public else ""
        lost = ", ".join(f"{s.replace('_', ' ')} {n}" for s, n in sorted(c.lost.items(), key=lambda x: -x[1]))
        out.append(f"<tr><td><code>{e(c.check_id)}</code>{badge}<div class=\"title\">{e(c.title)}</div></td>"
                   f'<td class="num">{c.passed} / {c.graded}</td><td class="rate"><span class="meter">'
                   f'<i style="width:{100 * c.rate:.0f}%"></i></span>{100 * c.rate:.0f}%</td>'
                   f"<td>{e(lost)}</td></tr>")
    out.append("</table>")
    return "".join(out)


def _mistakes(named: list[Mistake], rows: list[Row]) -> str:
    anchors = {r.name: r.anchor for r in rows}
    out = ['<h2 id="mistakes">Most frequent likely causes</h2>']
    if not named:
        return out[0] + '<p class="muted">No failed case was matched to a known mistake.</p>'
    out.append('<table><tr><th>likely cause</th><th class="num">submissions</th><th class="num">cases'
               "</th><th>who</th><th>checks</th></tr>")
    for m in named:
        who = ", ".join(f'<a href="#{e(anchors[n])}">{e(n)}</a>' for n in m.submissions)
        checks = (f"<details><summary>{len(m.checks)} check(s)</summary>"
                  + "<br>".join(f"<code>{e(c)}</code>" for c in m.checks) + "</details>")
        out.append(f'<tr><td>{e(m.cause)}</td><td class="num">{len(m.submissions)}</td>'
                   f'<td class="num">{m.cases}</td><td>{who}</td><td>{checks}</td></tr>')
    out.append("</table>")
    return "".join(out)


def _slowest(rows: list[Row]) -> str:
    slow = sorted(rows, key=lambda r: (-r.seconds, r.name))[:SLOWEST]
    out = [f'<h2 id="slowest">Slowest submissions</h2><table><tr><th>submission</th>'
           f'<th class="num">seconds</th><th class="num">score</th></tr>']
    for r in slow:
        out.append(f'<tr><td><a href="#{e(r.anchor)}">{e(r.name)}</a></td><td class="num">'
                   f'{r.seconds:.1f}</td><td class="num">{_score(r.score)}</td></tr>')
    out.append("</table>")
    return "".join(out)


def _table(rows: list[Row], names: list[str]) -> str:
    head = "".join(f'<th class="num">{e(t)}</th>' for t in names)
    out = ['<h2 id="submissions">All submissions</h2><table><tr><th>submission</th>'
           f'<th class="num">score</th><th class="num">%</th>{head}<th class="num">seconds</th>'
           "<th>notes</th></tr>"]
    for r in rows:
        by_topic = {t.topic: t for t in r.score.topics}
        cells = "".join(f'<td class="num">{_score(by_topic[t]) if t in by_topic else "-"}</td>'
                        for t in names)
        note = r.notes[0] if r.notes else ""
        note = note if len(note) <= 90 else note[:89] + "\u2026"
        more = f" (+{len(r.notes) - 1} more)" if len(r.notes) > 1 else ""
        out.append(f'<tr><td><a href="#{e(r.anchor)}">{e(r.name)}</a></td><td class="num">'
                   f'{_score(r.score)}</td><td class="num">{r.score.percent:.1f}</td>{cells}'
                   f'<td class="num">{r.seconds:.1f}</td><td class="notes">{e(note + more)}</td></tr>')
    out.append("</table>")
    return "".join(out)


def _students(rows: list[Row]) -> str:
    out = []
    for r in rows:
        notes = "".join(f"<li>{e(n)}</li>" for n in r.notes)
        out.append(f'<section class="student" id="{e(r.anchor)}"><h2>{e(r.name)}</h2>'
                   f"<p>{_score(r.score)} points ({r.score.percent:.1f}%), graded in {r.seconds:.1f}s. "
                   f'<a class="top" href="#submissions">Back to the table</a></p>'
                   + (f'<ul class="notes">{notes}</ul>' if notes else "")
                   + f"<pre>{e(r.feedback)}</pre></section>")
    return "\n".join(out)


def _score(s) -> str:
    return f"{_points(s.score)} / {_points(s.max_score)}"


# ----------------------------------------------------------------------------- writing

def write_report(out: Path, names: list[str]) -> Path | None:
    """OUT/report.html for the named submissions (written atomically). Never raises: the
    grades are already written, so a report that cannot be made is a warning on stderr."""
    path = out / "report.html"
    try:
        text = render(load(out, names))
        tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except Exception as exc:                    # noqa: BLE001 - the batch is graded either way
        print(f"warning: the class report {path} was not written ({type(exc).__name__}: {exc})",
              file=sys.stderr)
        return None
    return path
