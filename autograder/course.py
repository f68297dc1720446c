"""course.toml: what a course changes, read and validated in one place.

One file holds a course's own settings: points per topic or per check, when
Gradescope shows the hidden checks, the language, time and memory limits, the
devices, and a late policy. `load` reads and checks it against the checks that
exist and returns a `Course`; `Course.configure` turns it into the grader's
`Config`. No file means today's behaviour, and a file of defaults changes nothing
(tests/test_course.py grades the same submission both ways).

Points: a topic's total scales each of its checks in proportion; a check's own
points are shared by its cases (one a device), so partial credit stays in
proportion. Late: each [[late]] row applies to a submission made more than
`after_hours` after the due date; the last such row's multiplier scales the total
(the per-topic scores stay as graded, and the feedback says what was applied).

Tasks: `tasks_off` lists functions or classes of the students' modules
("normalization.Standardizer", or a region's id "3.9") whose checks leave the plan
and the total. A check is switched off with its task when it is tagged with it
(`@check(..., task="Standardizer")`, autograder/checks.py); in the resolved points an
off check has None, and `apply_points` leaves it out.
"""
from __future__ import annotations

import difflib
import json
import math
import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

from .config import Config

LANGUAGES = ("en", "ru")
DEVICES = {"cpu": ("cpu",), "cuda": ("cuda",), "all": ("cpu", "cuda")}
VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")   # exporters.gradescope
PLACEMENT = "device_placement"                                               # placement.py's probe
MIB = 1 << 20


class CourseError(ValueError):
    """course.toml cannot be used; the message names the file, each key and its problem."""

    def __init__(self, path, problems: list[str]):
        self.problems = [f"{path}: {p}" for p in problems]
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class Course:
    """A course's settings, as read from course.toml (every field has today's default)."""
    path: str = ""
    language: str = "en"
    devices: tuple[str, ...] = ("cpu", "cuda")
    due: str = ""                                         # ISO 8601 with a UTC offset; "" = none
    hidden_visibility: str = "after_due_date"
    timeout_scale: float = Config.timeout_scale
    import_timeout: float = Config.import_timeout
    memory_bytes: int = Config.memory_bytes
    cuda_memory_bytes: int = Config.cuda_memory_bytes
    cpu_seconds: int | None = None                        # None: sandbox.Limits's own
    tasks_off: tuple[str, ...] = ()                      # resolved: "normalization.Standardizer"
    topic_points: dict[str, float] = field(default_factory=dict)   # as written
    check_points: dict[str, float] = field(default_factory=dict)   # as written
    points: tuple[tuple[str, float | None], ...] = ()     # resolved: check id -> points; None = off
    late: tuple[tuple[float, float], ...] = ()            # (after_hours, multiplier), ascending

    def configure(self, config: Config) -> Config:
        """`config` with this course's settings (the command line's own choices go on top)."""
        return replace(config, devices=self.devices, hidden_visibility=self.hidden_visibility,
                       timeout_scale=self.timeout_scale, import_timeout=self.import_timeout,
                       memory_bytes=self.memory_bytes, cuda_memory_bytes=self.cuda_memory_bytes,
                       cpu_seconds=self.cpu_seconds, points=self.points, late=self.late,
                       due=self.due)


# ----------------------------------------------------------------------------- reading

# key -> (kind, what the message calls a good value)
TOP = {"language": "str", "devices": "str", "due": "time", "tasks_off": "strings", "points": "table",
       "gradescope": "table", "limits": "table", "late": "rows"}
GRADESCOPE = {"hidden_visibility": "str"}
LIMITS = {"timeout_scale": "number", "import_timeout": "number", "memory_mib": "int",
          "cuda_memory_mib": "int", "cpu_seconds": "int"}
POINTS = {"topics": "table", "checks": "table"}
LATE_ROW = {"after_hours": "number", "multiplier": "number"}
KIND_WORDS = {"str": "a string", "strings": "an array of strings", "number": "a number", "int": "a whole number", "table": "a table",
              "rows": "an array of tables ([[late]] rows)", "time": "a date and time with a UTC offset"}


def _kind_of(value) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return f"a {type(value).__name__}"


def _fits(value, kind: str) -> bool:
    if kind == "str":
        return isinstance(value, str)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "table":
        return isinstance(value, dict)
    if kind == "strings":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if kind == "rows":
        return isinstance(value, list) and all(isinstance(v, dict) for v in value)
    if kind == "time":
        return isinstance(value, (str, datetime))
    return False


def _suggest(word: str, choices) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _keys(table: dict, allowed: dict, where: str, problems: list[str], hint=lambda key: "") -> dict:
    """The entries of `table` whose key is known and whose value has the right type.
    hint(key): a sentence for an unknown key that belongs somewhere else."""
    good = {}
    for key, value in table.items():
        name = f"{where}{key}"
        if key not in allowed:
            problems.append(f"{name}: unknown key{hint(key) or _suggest(key, allowed)} "
                            f"(known here: {', '.join(allowed)})")
        elif not _fits(value, allowed[key]):
            problems.append(f"{name}: expected {KIND_WORDS[allowed[key]]}, got {_kind_of(value)} "
                            f"{value!r}")
        else:
            good[key] = value
    return good


def _choice(value: str, choices, key: str, problems: list[str]) -> str | None:
    if value in choices:
        return value
    problems.append(f"{key}: {value!r} is not one of {', '.join(choices)}{_suggest(value, choices)}")
    return None


def parse_time(value) -> datetime:
    """An ISO 8601 date and time ('2026-03-01T23:59:00+03:00', '...Z', or a TOML datetime);
    ValueError when it is not one."""
    if isinstance(value, datetime):
        return value
    text = str(value).strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    return datetime.fromisoformat(text)


def load(path: Path, plan: dict | None = None) -> Course:
    """Read and validate course.toml; CourseError lists every problem found.

    plan: the checks to validate point overrides against (default: every hidden check)."""
    import tomllib                                        # Python 3.11+: the grader's side only
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise CourseError(path, [f"cannot be read: {exc}"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise CourseError(path, [f"is not valid TOML: {exc}"]) from None
    problems: list[str] = []
    top = _keys(data, TOP, "", problems)
    course = Course(path=str(path))
    if "language" in top:
        course = replace(course, language=_choice(top["language"], LANGUAGES, "language", problems) or "en")
    if "devices" in top:
        devices = _choice(top["devices"], DEVICES, "devices", problems)
        course = replace(course, devices=DEVICES.get(devices or "all"))
    if "due" in top:
        course = replace(course, due=_due(top["due"], problems))
    gradescope = _keys(top.get("gradescope", {}), GRADESCOPE, "gradescope.", problems)
    if "hidden_visibility" in gradescope:
        course = replace(course, hidden_visibility=_choice(
            gradescope["hidden_visibility"], VISIBILITIES, "gradescope.hidden_visibility", problems)
            or course.hidden_visibility)
    course = _limits(course, _keys(top.get("limits", {}), LIMITS, "limits.", problems), problems)
    course = replace(course, late=_late(top.get("late", []), problems))
    points = _keys(top.get("points", {}), POINTS, "points.", problems, _points_hint)
    if points or top.get("tasks_off"):
        if plan is None:
            from .plans import hidden_plan
            plan = hidden_plan()
        off = _tasks_off(top.get("tasks_off", []), plan, problems)
        course = _points(replace(course, tasks_off=tuple(off)), points, plan, problems)
    if problems:
        raise CourseError(path, problems)
    return course


def _points_hint(key: str) -> str:
    from .topics import TOPICS
    if key in TOPICS:
        return f"; a topic's total goes under [points.topics] ({key} = ...)"
    if "/" in key:
        return f'; a check\'s points go under [points.checks] ("{key}" = ...)'
    return ""


def _due(value, problems: list[str]) -> str:
    try:
        due = parse_time(value)
    except ValueError:
        problems.append(f"due: {value!r} is not a date and time; write it as ISO 8601 with a UTC "
                        "offset, e.g. due = 2026-03-01T23:59:00+03:00")
        return ""
    if due.tzinfo is None:
        problems.append(f"due: {value!s} has no UTC offset; add the course's, e.g. "
                        f"{due.isoformat()}+03:00 (or Z for UTC)")
        return ""
    return due.isoformat()


def _limits(course: Course, limits: dict, problems: list[str]) -> Course:
    changes = {}
    for key, value in limits.items():
        if value <= 0:
            problems.append(f"limits.{key}: must be greater than 0, got {value!r}")
            continue
        if key == "memory_mib":
            changes["memory_bytes"] = value * MIB
        elif key == "cuda_memory_mib":
            changes["cuda_memory_bytes"] = value * MIB
        else:
            changes[key] = float(value) if key in ("timeout_scale", "import_timeout") else value
    return replace(course, **changes)


def _late(rows: list[dict], problems: list[str]) -> tuple[tuple[float, float], ...]:
    out = []
    for i, row in enumerate(rows):
        where = f"[[late]] row {i + 1}, "
        good = _keys(row, LATE_ROW, where, problems)
        for key in LATE_ROW:
            if key not in row:
                problems.append(f"{where}{key}: missing (each [[late]] row has after_hours and multiplier)")
        if len(good) != len(LATE_ROW):
            continue
        hours, multiplier = float(good["after_hours"]), float(good["multiplier"])
        if hours < 0:
            problems.append(f"{where}after_hours: must be 0 or more, got {good['after_hours']!r}")
        if not 0 <= multiplier <= 1:
            problems.append(f"{where}multiplier: must be between 0 and 1, got {good['multiplier']!r}")
        if out and hours <= out[-1][0]:
            problems.append(f"{where}after_hours: the [[late]] rows must be sorted by after_hours, "
                            f"each later than the one before; {hours:g} follows {out[-1][0]:g}")
        out.append((hours, multiplier))
    return tuple(out)


# ----------------------------------------------------------------------------- tasks

def tasks(plan: dict) -> dict[str, list[str]]:
    """The tasks a course can switch off: "module.Name" -> the ids of the checks tagged
    with it (`@check(..., task="Name")`), in the plan's order."""
    from .topics import TOPICS
    found: dict[str, list[str]] = {}
    for topic, tc in plan.items():
        module = TOPICS[topic].module if topic in TOPICS else topic
        for c in tc.checks:
            if c.task:
                found.setdefault(f"{module}.{c.task}", []).append(c.id)
    return found


def _regions() -> dict[str, str]:
    """Every task of the solution files, by its region id and by its name:
    {"3.9": "normalization.Standardizer", "normalization.Standardizer": ..., ...}."""
    from .stubs import tasks as regions
    from .topics import TOPICS
    found = {}
    for topic in TOPICS.values():
        path = topic.solution_path()
        if not path.exists():
            continue
        for task, where in regions(path.read_text(encoding="utf-8")).items():
            name = f"{topic.module}.{where.split('.')[0]}"
            found[task] = found[name] = name
    return found


def _tasks_off(entries: list[str], plan: dict, problems: list[str]) -> list[str]:
    """course.toml's tasks_off, each as "module.Name"; a problem for each that is not a task
    of the plan whose checks are tagged with it."""
    known = tasks(plan)
    listed = (f"(tasks a course can switch off: {', '.join(known)})" if known
              else "(no check is tagged with a task, so none can be switched off)")
    regions = None
    off: list[str] = []
    for entry in entries:
        key = f"tasks_off: {entry!r}"
        word = re.sub(r"^Task\s+", "", entry.strip())          # "Task 3.9", as the stub writes it
        if word not in known:
            regions = _regions() if regions is None else regions
            word = regions.get(word, word)
        if word in known:
            if word not in off:
                off.append(word)
            continue
        if regions.get(word):
            problems.append(f"{key}: no check is tagged with this task, so it cannot be switched off "
                            f"{listed}")
            continue
        whole = [t for t in known if t.endswith("." + word)]
        hint = f"; a task is named module.Name: did you mean {whole[0]!r}?" if whole else _suggest(word, known)
        problems.append(f"{key}: no such task{hint} {listed}")
    return off


def _checks_of(plan: dict) -> dict[str, dict[str, float]]:
    """topic -> {check id: points}, the placement probe included."""
    found = {}
    for topic, tc in plan.items():
        ids = {c.id: c.points for c in tc.checks}
        if tc.placement_points:
            ids[f"{topic}/{PLACEMENT}"] = tc.placement_points
        found[topic] = ids
    return found


def _amount(value, key: str, problems: list[str]) -> float | None:
    if not _fits(value, "number"):
        problems.append(f"{key}: expected a number of points, got {_kind_of(value)} {value!r}")
        return None
    if value < 0:
        problems.append(f"{key}: points cannot be negative, got {value!r}")
        return None
    return float(value)


def _points(course: Course, points: dict, plan: dict, problems: list[str]) -> Course:
    switched = tasks(plan)
    off = {i: task for task in course.tasks_off for i in switched[task]}
    every = {i: p for ids in _checks_of(plan).values() for i, p in ids.items()}
    checks = {topic: {i: p for i, p in ids.items() if i not in off} for topic, ids in _checks_of(plan).items()}
    topics: dict[str, float] = {}
    for topic, value in points.get("topics", {}).items():
        key = f"points.topics.{topic}"
        if topic not in checks:
            problems.append(f"{key}: no such topic{_suggest(topic, checks)} (topics: {', '.join(checks)})")
        elif (amount := _amount(value, key, problems)) is not None:
            topics[topic] = amount
    fixed: dict[str, float] = {}
    for check_id, value in points.get("checks", {}).items():
        key = f'points.checks."{check_id}"'
        if check_id not in every:
            hint = _suggest(check_id, every)
            if not hint:
                whole = [i for i in every if i.endswith("/" + check_id)]
                hint = f"; a check is named topic/name: did you mean {whole[0]!r}?" if whole else ""
            problems.append(f"{key}: no such check{hint} (`python -m autograder course check "
                            "FILE --checks` lists every check)")
        elif check_id in off:
            problems.append(f"{key}: this check grades {off[check_id]}, which tasks_off switches off")
        elif (amount := _amount(value, key, problems)) is not None:
            fixed[check_id] = amount
    resolved = dict(fixed)
    for topic, total in topics.items():
        ids = checks[topic]
        mine = {i: p for i, p in fixed.items() if i in ids}
        rest = {i: p for i, p in ids.items() if i not in mine}
        left = total - sum(mine.values())
        if left < -1e-9:
            problems.append(f"points.topics.{topic}: {total:g} is less than the {sum(mine.values()):g} "
                            f"points that points.checks gives its checks")
            continue
        if not rest:
            if abs(left) > 1e-9:
                problems.append(f"points.topics.{topic}: {total:g}, but points.checks sets every one of "
                                f"its checks, and they add up to {sum(mine.values()):g}")
            continue
        factor = left / sum(rest.values())
        resolved.update({i: round(p * factor, 9) for i, p in rest.items()})
    changed = [(i, p) for i, p in resolved.items() if p != every.get(i)]
    return replace(course, topic_points=topics, check_points=fixed,
                   points=tuple(sorted(changed + [(i, None) for i in off])))


# ----------------------------------------------------------------------------- points

def apply_points(plan: dict, points: tuple[tuple[str, float | None], ...]) -> dict:
    """The plan with the course's points (Config.points); the same plan when there are none.
    A check whose points are None (its task is in tasks_off) leaves the plan. A placement
    probe left out of the plan (placement_points 0, as --only does) stays out."""
    if not points:
        return plan
    table = dict(points)
    out = {}
    for topic, tc in plan.items():
        probe = tc.placement_points and table.get(f"{topic}/{PLACEMENT}", tc.placement_points)
        checks = [replace(c, points=table.get(c.id, c.points)) for c in tc.checks
                  if c.id not in table or table[c.id] is not None]
        out[topic] = replace(tc, checks=checks, placement_points=probe)
    return out


# ----------------------------------------------------------------------------- late policy

@dataclass(frozen=True)
class Late:
    """What the late policy did to one submission (plain data: results.json keeps it)."""
    multiplier: float
    hours: float | None           # after the due date (negative: early); None when not known
    reason: str                   # for the student and the instructor, one sentence
    submitted_at: str = ""
    due: str = ""
    source: str = ""              # "roster" or "Gradescope"

    def as_data(self) -> dict:
        return {"multiplier": self.multiplier, "hours": self.hours, "reason": self.reason,
                "submitted_at": self.submitted_at, "due": self.due, "source": self.source}

    @property
    def noted(self) -> bool:
        """Whether the student is told: late, or the policy could not be applied."""
        return self.hours is None or self.hours > 0


def _hours_text(hours: float) -> str:
    if hours < 1:
        return f"{max(1, math.ceil(hours * 60))} min"
    return f"{round(hours, 1):g} h"


def multiplier_for(hours: float, rows: tuple[tuple[float, float], ...]) -> tuple[float, float | None]:
    """(multiplier, the after_hours of the row that gave it, or None when none applies)."""
    found = (1.0, None)
    for after, multiplier in rows:
        if hours > after:
            found = (multiplier, after)
    return found


def lateness(config: Config, submitted_at: str = "", source: str = "") -> Late | None:
    """The late policy's verdict on one submission; None when the course has no policy.

    submitted_at: when it was submitted, from `source`: "roster" (its submitted_at
    column) or "Gradescope" (submission_metadata.json's created_at, in Config.submitted_at).
    A time without a UTC offset is read in the due date's offset."""
    if not config.late:
        return None
    if not config.due:
        return Late(1.0, None, "not applied: the course has no due date",
                    submitted_at, source=source)
    if not submitted_at:
        where = "the roster gives no submitted_at for this submission" if source == "roster" else \
            ("no submission time is known (Gradescope's submission_metadata.json gives created_at; "
             "for `grade`, a roster's submitted_at column)")
        return Late(1.0, None, f"not applied: {where}", due=config.due, source=source)
    try:
        due = parse_time(config.due)
    except ValueError:
        return Late(1.0, None, f"not applied: the due date {config.due!r} cannot "
                    "be read", submitted_at, config.due, source)
    try:
        when = parse_time(submitted_at)
    except ValueError:
        return Late(1.0, None, f"not applied: the submission time {submitted_at!r} "
                    "cannot be read", submitted_at, config.due, source)
    if due.tzinfo is None:                    # only Gradescope's could lack one: read it as UTC
        due = due.replace(tzinfo=timezone.utc)
    if when.tzinfo is None:
        when = when.replace(tzinfo=due.tzinfo)
    hours = round((when - due).total_seconds() / 3600, 6)
    if hours <= 0:
        return Late(1.0, hours, "submitted on time", submitted_at, config.due, source)
    multiplier, row = multiplier_for(hours, config.late)
    if row is None:
        reason = (f"submitted {_hours_text(hours)} late: x 1 (the first late penalty starts after "
                  f"{config.late[0][0]:g} h)")
    else:
        reason = f"submitted {_hours_text(hours)} late: x {multiplier:g}"
    return Late(multiplier, hours, reason, submitted_at, config.due, source)


def late_note(late: Late, before: float, after: float, max_score: float) -> str:
    """The line in the feedback's "About your submission" and in results.json's output."""
    if late.hours is None:
        return f"Late policy {late.reason}."
    return (f"Late policy: {late.reason} (due {late.due}, submitted {late.submitted_at}; "
            f"{before:g} / {max_score:g} points before it, {after:g} after).")


def gradescope_times(metadata: Path) -> tuple[str, str]:
    """(submitted_at, due) from Gradescope's submission_metadata.json; "" for what it lacks.
    A user's own due date (an extension) comes before the assignment's."""
    try:
        data = json.loads(Path(metadata).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "", ""
    if not isinstance(data, dict):
        return "", ""
    created = data.get("created_at") or ""
    due = ""
    for user in data.get("users") or []:
        if isinstance(user, dict) and isinstance(user.get("assignment"), dict):
            due = user["assignment"].get("due_date") or due
    if not due and isinstance(data.get("assignment"), dict):
        due = data["assignment"].get("due_date") or ""
    return str(created), str(due)


def fingerprint_part(config: Config, late: Late | None) -> str:
    """What a course adds to a submission's fingerprint ("" for today's defaults), so that
    results made under other settings or another lateness are graded again."""
    base = Config()
    parts = [f"{name}={getattr(config, name)!r}" for name in
             ("hidden_visibility", "timeout_scale", "import_timeout", "memory_bytes",
              "cuda_memory_bytes", "cpu_seconds")
             if getattr(config, name) != getattr(base, name)]
    if late is not None:
        parts.append(repr(late.as_data()))
    return ";".join(parts)


# ----------------------------------------------------------------------------- course check

def list_checks(plan: dict | None = None) -> str:
    """Every check id a course may give points to, with its points today."""
    if plan is None:
        from .plans import hidden_plan
        plan = hidden_plan()
    tagged = {i: task for task, ids in tasks(plan).items() for i in ids}
    return "\n".join(f"{i}  {p:g}" + (f"  (task {tagged[i]})" if i in tagged else "")
                     for ids in _checks_of(plan).values() for i, p in ids.items())


def describe(course: Course, plan: dict | None = None) -> str:
    """The effective settings, one a line: what `python -m autograder course check` prints."""
    from .sandbox import Limits
    if plan is None:
        from .plans import hidden_plan
        plan = hidden_plan()
    devices = "all (cpu, cuda)" if course.devices == ("cpu", "cuda") else course.devices[0]
    cpu = course.cpu_seconds or Limits().cpu_seconds
    lines = [f"{course.path or 'defaults'}: valid",
             f"language            {course.language}",
             f"devices             {devices}",
             f"hidden checks       {course.hidden_visibility} (Gradescope's visibility; public: visible)",
             f"time limits         x {course.timeout_scale:g} per call, {course.import_timeout:g} s to "
             f"import a module, {cpu} CPU s per worker process",
             f"memory              {course.memory_bytes // MIB} MiB a worker "
             f"({course.cuda_memory_bytes // MIB} MiB with CUDA)",
             f"due                 {course.due or 'none'}"]
    if course.late:
        rows = ", ".join(f"more than {h:g} h late: x {m:g}" for h, m in course.late)
        lines.append(f"late policy         {rows} (applied to the total)")
    else:
        lines.append("late policy         none")
    table = dict(course.points)
    switched = tasks(plan)
    every = {i: p for ids in _checks_of(plan).values() for i, p in ids.items()}
    if course.tasks_off:
        for n, task in enumerate(course.tasks_off):
            ids = switched.get(task, [])
            worth = sum(every[i] for i in ids)
            lines.append(f"{'tasks off' if n == 0 else '':<20}{task} ({len(ids)} checks, {worth:g} "
                         "points, leave the plan and the total)")
    else:
        lines.append("tasks off           none" + (f" (can be: {', '.join(switched)})" if switched else ""))
    lines.append("points")
    grand = 0.0
    for topic, ids in _checks_of(plan).items():
        before = sum(ids.values())
        after = sum(table.get(i, p) or 0.0 for i, p in ids.items())
        grand += after
        change = "" if abs(after - before) < 1e-9 else f"  (was {before:g})"
        lines.append(f"  {topic:<18}{round(after, 6):g}{change}")
        for i in ids:
            if i in course.check_points:
                lines.append(f"    {i}: {course.check_points[i]:g} (was {ids[i]:g})")
    lines.append(f"  {'total':<18}{round(grand, 6):g}  (GPU-only checks included: without a GPU "
                 "they are skipped and count for nothing)")
    return "\n".join(lines)
