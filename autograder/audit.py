"""How accurate are the hidden checks? Grade a bank of known bugs and correct variants.

Each bug is the reference solution with one realistic change; each variant is a
correct implementation written differently. The audit grades every one of them
(only its own topic) and reports, per entry, which checks failed, the points
lost and whether the mistake was named. A bug that loses no points in the checks
meant to catch it, and a variant that loses any point, are failures of the grader.

The bank lives in tests/bugbank/ (one module a topic, lists BUGS and VARIANTS).
"""
from __future__ import annotations

import importlib.util
import json
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .batch import grade_batch, hidden_plan
from .config import Config
from .outcome import Outcome
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


@dataclass(frozen=True)
class Variant:
    """A correct implementation written differently: it must earn full marks."""
    name: str
    topic: str
    patch: tuple[tuple[str, str], ...]
    why: str = ""


@dataclass
class Entry:
    name: str
    topic: str
    kind: str                         # "bug" | "variant"
    lost: float = 0.0
    failed: list[str] = field(default_factory=list)
    named: str = ""                   # the "Likely cause" text, if any
    ok: bool = False
    problem: str = ""


def load_bank(bank: Path = BANK) -> tuple[list[Bug], list[Variant]]:
    bugs, variants = [], []
    for path in sorted(bank.glob("*.py")):
        if path.name.startswith("_"):
            continue
        spec = importlib.util.spec_from_file_location(f"bugbank_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        bugs += list(getattr(module, "BUGS", []))
        variants += list(getattr(module, "VARIANTS", []))
    return bugs, variants


def patched_source(topic: str, patch) -> str:
    source = TOPICS[topic].solution_path().read_text()
    for old, new in patch:
        if source.count(old) != 1:
            raise ValueError(f"{old!r} occurs {source.count(old)} times in {TOPICS[topic].filename}")
        source = source.replace(old, new)
    return source


def _judge(entry: Entry, item, outcomes: list[Outcome]) -> Entry:
    lost = [o for o in outcomes if o.points < o.max_points]
    entry.lost = round(sum(o.max_points - o.points for o in outcomes), 6)
    entry.failed = sorted({o.check_id.split("/", 1)[1] for o in lost})
    causes = [o.message.split("Likely cause: ", 1)[1].splitlines()[0]
              for o in lost if "Likely cause: " in o.message]
    entry.named = causes[0] if causes else ""
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


def run_audit(config: Config, bank: Path = BANK, only: str | None = None) -> list[Entry]:
    bugs, variants = load_bank(bank)
    items = [(b, "bug") for b in bugs] + [(v, "variant") for v in variants]
    if only:
        items = [(i, k) for i, k in items if i.topic == only or i.name == only]
    tmp = Path(tempfile.mkdtemp(prefix="ag-audit-"))
    entries: list[Entry] = []
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
                    (sub / TOPICS[topic].filename).write_text(patched_source(topic, item.patch))
                except ValueError as exc:
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
        lines.append(f"{e.name:<{width}}  {e.topic:<13} {e.kind:<7} {e.lost:>5g}  "
                     f"{'yes' if e.named else 'no':<5}  {verdict}")
        if e.kind == "bug" and e.failed:
            lines.append(f"{'':<{width}}    failed: {', '.join(e.failed)}")
    bugs = [e for e in entries if e.kind == "bug"]
    variants = [e for e in entries if e.kind == "variant"]
    caught = sum(e.ok for e in bugs)
    named = sum(bool(e.named) for e in bugs)
    false_failures = sum(not e.ok for e in variants)
    lines += ["", f"bugs caught: {caught} / {len(bugs)}",
              f"correct variants failed: {false_failures} / {len(variants)}",
              f"bugs whose mistake was named: {named} / {len(bugs)}"
              + (f" ({100 * named / len(bugs):.0f}%)" if bugs else ""),
              f"audit time: {seconds:.0f} s"]
    return "\n".join(lines)


def main(config: Config, only: str | None = None) -> int:
    started = time.monotonic()
    entries = run_audit(config, only=only)
    print(report(entries, time.monotonic() - started))
    return 0 if all(e.ok for e in entries) else 1
