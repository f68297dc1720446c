"""How accurate are the hidden checks? Grade a bank of known bugs and correct variants.

Each bug is the reference solution with one realistic change; each variant is a
correct implementation written differently. The audit grades every one of them
(only its own topic) and reports, per entry, which checks failed, the points
lost and whether the mistake was named. A bug that loses no points in the checks
meant to catch it, and a variant that loses any point, are failures of the grader.

A third kind of entry, the trivial submission, is the whole topic done trivially in
one way (every solution region replaced by a body that raises, returns None, returns
its input, returns zeros...): it must earn exactly 0 points, since a property that a
do-nothing implementation satisfies is no evidence of work.

The bank lives in tests/bugbank/ (one module a topic, lists BUGS, VARIANTS and TRIVIAL).
"""
from __future__ import annotations

import ast
import importlib.util
import json
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .batch import grade_batch, hidden_plan
from .config import Config
from .grader import plan_devices
from .outcome import Outcome
from .stubs import make_stub
from .topics import ROOT, TOPICS

BANK = ROOT / "tests" / "bugbank"


@dataclass(frozen=True)
class Bug:
    """A realistic student bug: the reference with `patch` applied."""
    name: str
    topic: str
    patch: tuple[tuple[str, str], ...]
    catches: tuple[str, ...]          # checks meant to catch it: at least one must lose points
    named: str | None = None          # the Mistake expected in "Likely cause", if any
    why: str = ""                     # the misconception behind it, where it is seen
    devices: tuple[str, ...] = ()     # devices its checks need ("cuda": GPU-only checks); where
                                      # one is missing the bug is reported as not graded


@dataclass(frozen=True)
class Variant:
    """A correct implementation written differently: it must earn full marks."""
    name: str
    topic: str
    patch: tuple[tuple[str, str], ...]
    why: str = ""


@dataclass(frozen=True)
class Trivial:
    """The whole topic done trivially: every solution region's body replaced by one kind
    of do-nothing body (trivial_source). It must earn exactly 0 points on its topic."""
    name: str
    topic: str
    body_kind: str                    # one of BODY_KINDS
    bodies: tuple[tuple[str, str], ...] = ()   # (task id, body) where the kind's body does not fit
    why: str = ""


@dataclass
class Entry:
    name: str
    topic: str
    kind: str                         # "bug" | "variant" | "trivial" | "not graded"
    lost: float = 0.0
    earned: float = 0.0
    failed: list[str] = field(default_factory=list)   # checks that lost points (trivial: that gave some)
    named: str = ""                   # the "Likely cause" text, if any
    ok: bool = False
    problem: str = ""


def load_bank(bank: Path = BANK) -> tuple[list[Bug], list[Variant]]:
    bugs, variants = [], []
    for module in _bank_modules(bank):
        bugs += list(getattr(module, "BUGS", []))
        variants += list(getattr(module, "VARIANTS", []))
    return bugs, variants


def load_trivial(bank: Path = BANK) -> list[Trivial]:
    return [t for module in _bank_modules(bank) for t in getattr(module, "TRIVIAL", [])]


def _bank_modules(bank: Path):
    for path in sorted(bank.glob("*.py")):
        if path.name.startswith("_"):
            continue
        spec = importlib.util.spec_from_file_location(f"bugbank_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module


def patched_source(topic: str, patch) -> str:
    source = TOPICS[topic].solution_path().read_text()
    for old, new in patch:
        if source.count(old) != 1:
            raise ValueError(f"{old!r} occurs {source.count(old)} times in {TOPICS[topic].filename}")
        source = source.replace(old, new)
    return source


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


def _judge(entry: Entry, item, outcomes: list[Outcome]) -> Entry:
    lost = [o for o in outcomes if o.points < o.max_points]
    entry.lost = round(sum(o.max_points - o.points for o in outcomes), 6)
    entry.earned = round(sum(o.points for o in outcomes), 6)
    entry.failed = sorted({o.check_id.split("/", 1)[1] for o in lost})
    causes = [o.message.split("Likely cause: ", 1)[1].splitlines()[0]
              for o in lost if "Likely cause: " in o.message]
    entry.named = causes[0] if causes else ""
    if entry.kind == "trivial":
        entry.failed = sorted({o.check_id.split("/", 1)[1] for o in outcomes if o.points > 0})
        entry.ok = entry.earned == 0
        entry.problem = "" if entry.ok else f"earned {entry.earned:g} in {', '.join(entry.failed)}"
        return entry
    if entry.kind == "variant":
        entry.ok = not lost
        entry.problem = "" if entry.ok else f"false failure in {', '.join(entry.failed)}"
        return entry
    missed = [c for c in item.catches if c not in entry.failed]
    entry.ok = bool(lost) and len(missed) < len(item.catches)
    if not lost:
        entry.problem = "not caught: no points lost"
    elif not entry.ok:
        entry.problem = f"lost points, but not in {', '.join(item.catches)}"
    return entry


def entry_source(item) -> str:
    """The topic file a bank entry stands for (ValueError when its patch does not apply)."""
    if isinstance(item, Trivial):
        return trivial_source(item.topic, item.body_kind, item.bodies)
    return patched_source(item.topic, item.patch)


def run_audit(config: Config, bank: Path = BANK, only: str | None = None,
              kinds: tuple[str, ...] = ("bug", "variant", "trivial")) -> list[Entry]:
    bugs, variants = load_bank(bank)
    items = ([(b, "bug") for b in bugs] + [(v, "variant") for v in variants]
             + [(t, "trivial") for t in load_trivial(bank)])
    items = [(i, k) for i, k in items if k in kinds]
    if only:
        items = [(i, k) for i, k in items if i.topic == only or i.name == only]
    tmp = Path(tempfile.mkdtemp(prefix="ag-audit-"))
    entries: list[Entry] = []
    here = set(plan_devices(config)[0])
    for item, kind in list(items):         # a GPU-only bug cannot be caught on a CPU machine
        missing = [d for d in getattr(item, "devices", ()) if d not in here]
        if missing:
            items.remove((item, kind))
            entries.append(Entry(item.name, item.topic, "not graded", ok=True,
                                 problem=f"needs {', '.join(missing)}, which this run lacks"))
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
                except (ValueError, SyntaxError) as exc:
                    entry.problem = f"patch does not apply: {exc}"
                    entries.append(entry)
                    shutil.rmtree(sub)
                    continue
                names[sub.name] = (entry, item)
            if not names:
                continue
            cfg = Config(devices=config.devices, topics=(topic,), base_seed=config.base_seed,
                         jobs=config.jobs, timeout_scale=config.timeout_scale)
            grade_batch([folder], tmp / "out" / topic, cfg, plan=hidden_plan((topic,)), regrade=True)
            for sub_name, (entry, item) in names.items():
                data = json.loads((tmp / "out" / topic / sub_name / "results.json").read_text())
                outcomes = [Outcome(**o) for o in data["extra_data"]["outcomes"]]
                entries.append(_judge(entry, item, outcomes))
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
    variants = [e for e in entries if e.kind == "variant"]
    trivial = [e for e in entries if e.kind == "trivial"]
    caught = sum(e.ok for e in bugs)
    named = sum(bool(e.named) for e in bugs)
    false_failures = sum(not e.ok for e in variants)
    lines += ["", f"bugs caught: {caught} / {len(bugs)}",
              f"correct variants failed: {false_failures} / {len(variants)}",
              f"bugs whose mistake was named: {named} / {len(bugs)}"
              + (f" ({100 * named / len(bugs):.0f}%)" if bugs else ""),
              f"trivial submissions at 0 points: {sum(e.ok for e in trivial)} / {len(trivial)}",
              f"audit time: {seconds:.0f} s"]
    skipped = [e.name for e in entries if e.kind == "not graded"]
    if skipped:
        lines.insert(-1, f"bugs not graded (their checks need a device this run lacks): "
                         f"{len(skipped)} ({', '.join(sorted(skipped))})")
    return "\n".join(lines)


def main(config: Config, only: str | None = None) -> int:
    started = time.monotonic()
    entries = run_audit(config, only=only)
    print(report(entries, time.monotonic() - started))
    return 0 if all(e.ok for e in entries) else 1
