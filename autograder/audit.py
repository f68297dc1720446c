"""How accurate are the hidden checks? Grade every variant of the reference in the bank.

The bank (autograder/bank/<topic>.py, autograder/variants.py) holds the known mistakes
and other realistic student bugs, correct implementations written differently, and
trivial submissions. The audit grades each of them (only its own topic) and reports,
per entry, which checks failed, the points lost and the likely cause the feedback gave:

- a bug (a known mistake included) must lose points in one of the checks meant to
  catch it, and when it expects a cause (`named`; a mistake expects itself) the
  feedback must give that cause's message word for word;
- a correct variant must earn full marks;
- a trivial submission (every solution region replaced by a body that raises, returns
  None, returns its input, returns zeros...) must earn exactly 0 points, since a
  property that a do-nothing implementation satisfies is no evidence of work.
"""
from __future__ import annotations

import ast
import importlib
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import variants
from .batch import grade_batch
from .plans import hidden_plan
from .checks import collect
from .config import Config
from .grader import plan_devices
from .outcome import Outcome
from .stubs import make_stub
from .topics import ROOT, TOPICS
from .variants import Variant

# Entry.kind for each variant kind: known mistakes are audited as bugs.
ENTRY_KIND = {"mistake": "bug", "bug": "bug", "correct": "correct", "trivial": "trivial"}


@dataclass
class Entry:
    name: str
    topic: str
    kind: str                         # "bug" | "correct" | "trivial" | "not graded"
    lost: float = 0.0
    earned: float = 0.0
    failed: list[str] = field(default_factory=list)   # checks that lost points (trivial: that gave some)
    named: str = ""                   # the "Likely cause" text, if any
    ok: bool = False
    problem: str = ""
    messages: dict[str, str] = field(default_factory=dict)   # failed check -> its message's first line


def cause_messages(topic: str) -> dict[str, str]:
    """{cause name: message}: the topic's known mistakes and its judges' causes."""
    try:
        hidden = collect(importlib.import_module(TOPICS[topic].hidden_module))
    except ModuleNotFoundError:
        hidden = None
    found = {m.name: m.message for m in variants.mistakes(topic)}
    for c in hidden.causes if hidden else []:
        if found.get(c.name, c.message) != c.message:
            raise ValueError(f"{topic}: cause {c.name!r} has two messages")
        found[c.name] = c.message
    return found


# ----------------------------------------------------------------------------- trivial submissions

# What "doing nothing" is, region by region (the stub's fence names the task and where it is):
#   raise     every region raises ValueError (not the stub's NotImplementedError)
#   none      returns None
#   identity  returns its input (the first argument that is not a function) unchanged
#   zeros     returns torch.zeros_like(input)
# A constructor's region does nothing at all (`pass`: no parameters, no checks of the
# arguments), and so does a region followed by more of its function's code (an
# optimizer's step then returns the closure's loss), except that `none` returns None there.
BODY_KINDS = ("raise", "none", "identity", "zeros")
_FENCE = re.compile(r'^(?P<indent>[ \t]*)raise NotImplementedError\("(?P<task>Task [\w.]+): '
                    r'(?P<where>[\w.]+|module level) in [\w.]+"\)\n', re.MULTILINE)


def trivial_source(topic: str, body_kind: str, bodies=()) -> str:
    """The topic's reference with every solution region's body replaced by a trivial one:
    the generated stub (stubs.make_stub), its NotImplementedError replaced region by region."""
    if body_kind not in BODY_KINDS:
        raise ValueError(f"unknown body kind {body_kind!r}; kinds are {', '.join(BODY_KINDS)}")
    stub = make_stub(TOPICS[topic].solution_path().read_text(), TOPICS[topic].filename)
    functions = _functions(ast.parse(stub))
    given = dict(bodies)
    unknown = set(given) - {m["task"] for m in _FENCE.finditer(stub)}
    if unknown:
        raise ValueError(f"no region {', '.join(sorted(unknown))} in {TOPICS[topic].filename}")

    def body(m) -> str:
        text = given.get(m["task"]) or _trivial_body(body_kind, functions.get(m["where"]),
                                                     _followed(stub, m))
        return "".join(f"{m['indent']}{line}\n" for line in text.splitlines())
    return _FENCE.sub(body, stub)


def _functions(tree: ast.Module) -> dict:
    """'name' and 'Class.name' -> the function's definition."""
    found = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            found[node.name] = node
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    found[f"{node.name}.{item.name}"] = item
    return found


def _followed(stub: str, m) -> bool:
    """Whether more of the region's function comes after its fence."""
    rest = stub[m.end():].splitlines()[1:]                 # past "# ===== END YOUR CODE ====="
    line = next((r for r in rest if r.strip()), "")
    return len(line) - len(line.lstrip()) >= len(m["indent"])


def _trivial_body(kind: str, fn, followed: bool) -> str:
    if kind == "raise":
        return 'raise ValueError("trivial submission")'
    if fn is None or fn.name == "__init__" or (followed and kind != "none"):
        return "pass"
    if kind == "none":
        return "return None"
    args = [a for a in fn.args.args if a.arg not in ("self", "cls", "ctx")
            and "Callable" not in (ast.unparse(a.annotation) if a.annotation else "")]
    given = args[0].arg if args else "None"
    return f"return {given}" if kind == "identity" else f"return torch.zeros_like({given})"


def _judge(entry: Entry, item: Variant, outcomes: list[Outcome], messages: dict[str, str]) -> Entry:
    lost = [o for o in outcomes if o.points < o.max_points]
    entry.lost = round(sum(o.max_points - o.points for o in outcomes), 6)
    entry.earned = round(sum(o.points for o in outcomes), 6)
    entry.failed = sorted({o.check_id.split("/", 1)[1] for o in lost})
    for o in lost:
        entry.messages.setdefault(o.check_id.split("/", 1)[1], (o.message or "").strip().split("\n")[0])
    causes = [o.message.split("Likely cause: ", 1)[1] for o in lost if "Likely cause: " in o.message]
    entry.named = causes[0].splitlines()[0] if causes else ""
    if entry.kind == "trivial":
        entry.failed = sorted({o.check_id.split("/", 1)[1] for o in outcomes if o.points > 0})
        entry.ok = entry.earned == 0
        entry.problem = "" if entry.ok else f"earned {entry.earned:g} in {', '.join(entry.failed)}"
        return entry
    if entry.kind == "correct":
        entry.ok = not lost
        entry.problem = "" if entry.ok else f"false failure in {', '.join(entry.failed)}"
        return entry
    missed = [c for c in item.catches if c not in entry.failed]
    entry.ok = bool(lost) and (not item.catches or len(missed) < len(item.catches))
    if not lost:
        entry.problem = "not caught: no points lost"
    elif not entry.ok:
        entry.problem = f"lost points, but not in {', '.join(item.catches)}"
    expected = item.expected_cause
    if entry.ok and expected is not None:
        message = messages.get(expected)
        if message is None:
            entry.ok, entry.problem = False, f"expects the cause {expected!r}, which no mistake or judge has"
        elif any(c.startswith(message) for c in causes):
            entry.named = message.splitlines()[0]
        else:
            entry.ok = False
            entry.problem = (f"expected the cause {expected!r}; the feedback said "
                             f"{entry.named or 'nothing'!r}")
    return entry


def entry_source(item: Variant) -> str:
    """The topic file a bank entry stands for (ValueError when its patch does not apply)."""
    return variants.source_of(item)


def run_audit(config: Config, only: str | None = None,
              kinds: tuple[str, ...] = ("bug", "correct", "trivial"), slow: bool = False) -> list[Entry]:
    """Grade the bank: every topic, or `only` one topic or one entry. Variants marked slow
    (an endless loop) are graded only with slow=True or when named."""
    items = [(v, ENTRY_KIND[v.kind]) for v in variants.every()]
    items = [(i, k) for i, k in items if k in kinds]
    if only:
        items = [(i, k) for i, k in items if i.topic == only or i.name == only]
    if not slow:
        items = [(i, k) for i, k in items if not i.slow or i.name == only]
    entries: list[Entry] = []
    here = set(plan_devices(config)[0])
    for item, kind in list(items):         # a GPU-only bug cannot be caught on a CPU machine
        missing = [d for d in item.devices if d not in here]
        if missing:
            items.remove((item, kind))
            entries.append(Entry(item.name, item.topic, "not graded", ok=True,
                                 problem=f"needs {', '.join(missing)}, which this run lacks"))
    tmp = Path(tempfile.mkdtemp(prefix="ag-audit-"))
    try:
        by_topic: dict[str, list] = {}
        for item, kind in items:
            by_topic.setdefault(item.topic, []).append((item, kind))
        for topic, group in by_topic.items():
            folder = tmp / topic
            names = {}
            for i, (item, kind) in enumerate(group):
                sub = folder / f"{i:03d}"
                sub.mkdir(parents=True)
                for other in TOPICS.values():
                    if other.solution_path().exists():
                        shutil.copy(other.solution_path(), sub / other.filename)
                entry = Entry(item.name, topic, kind)
                try:
                    (sub / TOPICS[topic].filename).write_text(entry_source(item))
                except (ValueError, SyntaxError) as exc:       # variants.PatchError included
                    entry.problem = f"patch does not apply: {exc}"
                    entries.append(entry)
                    shutil.rmtree(sub)
                    continue
                names[sub.name] = (entry, item)
            if not names:
                continue
            cfg = Config(devices=config.devices, topics=(topic,), base_seed=config.base_seed,
                         jobs=config.jobs, timeout_scale=config.timeout_scale)
            graded = grade_batch([folder], tmp / "out" / topic, cfg, plan=hidden_plan((topic,)),
                                 regrade=True)
            messages = cause_messages(topic)
            outcomes = {g.name: g.outcomes for g in graded}
            for sub_name, (entry, item) in names.items():
                entries.append(_judge(entry, item, outcomes[sub_name], messages))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return entries


def report(entries: list[Entry], seconds: float) -> str:
    width = max([len(e.name) for e in entries] + [10])
    lines = [f"{'entry':<{width}}  {'topic':<13} {'kind':<7} {'lost':>5}  {'named':<5}  verdict",
             "-" * (width + 48)]
    for e in sorted(entries, key=lambda e: (e.kind, e.topic, e.name)):
        verdict = "ok" if e.ok else f"PROBLEM: {e.problem}"
        if e.kind == "trivial" and e.ok:
            verdict = "ok (0 points)"
        if e.kind == "not graded":
            verdict = f"not graded: {e.problem}"
        lines.append(f"{e.name:<{width}}  {e.topic:<13} {e.kind:<7} {e.lost:>5g}  "
                     f"{'yes' if e.named else 'no':<5}  {verdict}")
        if e.kind == "bug" and e.failed:
            lines.append(f"{'':<{width}}    failed: {', '.join(e.failed)}")
    bugs = [e for e in entries if e.kind == "bug"]
    correct = [e for e in entries if e.kind == "correct"]
    trivial = [e for e in entries if e.kind == "trivial"]
    caught = sum(e.ok for e in bugs)
    named = sum(bool(e.named) for e in bugs)
    false_failures = sum(not e.ok for e in correct)
    lines += ["", f"bugs caught: {caught} / {len(bugs)}",
              f"correct variants failed: {false_failures} / {len(correct)}",
              f"bugs whose mistake was named: {named} / {len(bugs)}"
              + (f" ({100 * named / len(bugs):.0f}%)" if bugs else ""),
              f"trivial submissions at 0 points: {sum(e.ok for e in trivial)} / {len(trivial)}",
              f"audit time: {seconds:.0f} s"]
    skipped = [e.name for e in entries if e.kind == "not graded"]
    if skipped:
        lines.insert(-1, f"bugs not graded (their checks need a device this run lacks): "
                         f"{len(skipped)} ({', '.join(sorted(skipped))})")
    return "\n".join(lines)


def main(config: Config, only: str | None = None, slow: bool = False) -> int:
    started = time.monotonic()
    entries = run_audit(config, only=only, slow=slow)
    print(report(entries, time.monotonic() - started))
    return 0 if all(e.ok for e in entries) else 1
