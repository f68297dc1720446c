"""Mutation testing of the hidden checks: do they catch the mistakes a tool makes for us?

The bug bank (audit.py) holds mistakes we thought of. Here cosmic-ray's own mutation
operators (cosmic-ray 8.7.0, every operator `cosmic-ray init` uses without an operator
configuration) change the reference solutions one token at a time, inside the solution
regions only (`# BEGIN SOLUTION ... # END SOLUTION`: what students write). Each mutant is
one submission, graded on its own topic's hidden checks like any other:

    killed       it loses at least one point
    survived     it keeps full marks: a missing check, unless the mutant is equivalent
                 (docs/MUTANTS.md lists those, each with its argument)
    incompetent  it does not compile, or its module fails to import; it is counted
                 as killed, since such a file earns 0 (the report shows how many)

All mutants of a topic are graded in one `grade_batch` call (the warm worker pool serves
them all). Verdicts are cached in .mutants-cache/<topic>.json, keyed by the digest of the
file's solution regions, the digest of what decides a verdict (the topic's hidden checks,
the engine files, the code around the regions, the solution files it imports, the seed)
and the mutant's id, so a rerun grades only what changed.

A mutant's id is "<topic>:<task>:<operator>:<k>": the k-th place (from 0) where that
operator applies inside that task's region. It stays the same while the region does.
"""
from __future__ import annotations

import ast
import difflib
import hashlib
import json
import random
import re
import shutil
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path

from cosmic_ray.commands.init import _all_work_items    # how `cosmic-ray init` lists mutations
from cosmic_ray.mutating import mutate_code
from cosmic_ray.plugins import get_operator

from .audit import Entry, _judge
from .batch import grade_batch
from .plans import hidden_plan
from .store import write_atomic
from .checks import TopicChecks
from .config import Config
from .outcome import Outcome
from .stubs import BEGIN, END, make_stub
from .topics import ROOT, TOPICS

CACHE = ROOT / ".mutants-cache"
EQUIVALENTS = ROOT / "docs" / "MUTANTS.md"
# The engine files whose change can change a verdict (digested with the hidden checks).
VERDICT_FILES = ("checks.py", "compare.py", "scoring.py", "grader.py", "impl.py", "reference.py",
                 "worker.py", "wire.py", "testfns.py", "placement.py", "guard.py", "forbidden.py",
                 "topics.py", "outcome.py", "submission.py")
# Time limits are multiplied by this: a mutant must be killed by a wrong value, not by an
# honest call that overran its limit on a loaded machine (a true endless loop still ends).
TIMEOUT_SCALE = 3.0
# A submission whose module does not import: every case says so (grader.import_failure).
_IMPORT_FAILED = re.compile(r"^(?:(?P<file>\S+) (?:has a syntax error|could not be imported|raised \w+ "
                            r"when imported)|Importing (?P<file2>\S+) (?:did not finish|stopped|used))")


@dataclass(frozen=True)
class Mutant:
    id: str             # "dropout:4.1:NumberReplacer:3"
    topic: str
    operator: str       # cosmic-ray's name: "core/NumberReplacer"
    occurrence: int     # cosmic-ray's index of this place among the operator's in the whole file
    line: int           # first line it changes, in solutions/<folder>/<file>
    before: str         # that line in the reference, without indentation and comment

    @property
    def where(self) -> str:
        return f"{TOPICS[self.topic].filename}:{self.line}"


@dataclass
class Result:
    mutant: Mutant
    verdict: str                    # "killed" | "survived" | "incompetent"
    after: str = ""                 # the mutated line(s), as `before`
    lost: float = 0.0
    failed: list[str] = field(default_factory=list)    # checks that lost points
    seconds: float = 0.0
    timed_out: bool = False         # killed by time limits alone: confirm on a quiet machine
    cached: bool = False

    def to_dict(self) -> dict:
        return {"verdict": self.verdict, "after": self.after, "lost": self.lost,
                "failed": self.failed, "seconds": self.seconds, "timed_out": self.timed_out}


# ----------------------------------------------------------------------------- mutants

def regions(source: str) -> list[tuple[str, int, int]]:
    """(task, line of BEGIN, line of END) for every solution region, lines from 1."""
    found, start = [], None
    for number, line in enumerate(source.splitlines(), 1):
        m = BEGIN.match(line)
        if m:
            start = (m["task"].split()[-1], number)
        elif END.match(line) and start:
            found.append((*start, number))
            start = None
    return found


def enumerate_mutants(topic: str) -> list[Mutant]:
    """Every mutation cosmic-ray would make in the topic's solution file whose place lies
    inside a solution region, in a stable order (by id)."""
    path = TOPICS[topic].solution_path()
    lines = path.read_text().splitlines()
    spans = regions("\n".join(lines))
    mutants, seen = [], {}
    for item in _all_work_items([path], {}):
        spec = item.mutations[0]
        (first, _), (last, _) = spec.start_pos, spec.end_pos
        task = next((t for t, begin, end in spans if begin < first and last < end), None)
        if task is None:
            continue
        short = spec.operator_name.split("/", 1)[1]
        k = seen.setdefault((task, short), 0)
        seen[(task, short)] = k + 1
        mutants.append(Mutant(f"{topic}:{task}:{short}:{k}", topic, spec.operator_name,
                              spec.occurrence, first, _code(lines[first - 1])))
    return sorted(mutants, key=lambda m: m.id)


def mutated_source(mutant: Mutant, source: str | None = None) -> str:
    source = source if source is not None else TOPICS[mutant.topic].solution_path().read_text()
    code = mutate_code(source, get_operator(mutant.operator)(), mutant.occurrence)
    if code is None:
        raise ValueError(f"cosmic-ray made no mutation for {mutant.id}")
    return code


def changed_lines(original: str, mutated: str) -> str:
    """The mutated file's lines that differ from the original (as _code), joined by ' / '."""
    a, b = original.splitlines(), mutated.splitlines()
    out = []
    for tag, _, _, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag != "equal":
            out += [_code(line) for line in b[j1:j2]]
    return " / ".join(out) or "(line removed)"


def _code(line: str) -> str:
    """A line without its indentation and trailing comment (one with no quote in it)."""
    return re.sub(r"\s+#[^'\"]*$", "", line).strip()


def sample(mutants: list[Mutant], n: int | None, seed: int) -> list[Mutant]:
    """n of the mutants, the same n for the same seed and the same mutants (by id)."""
    if n is None or n >= len(mutants):
        return list(mutants)
    ordered = sorted(mutants, key=lambda m: m.id)
    topics = ",".join(sorted({m.topic for m in ordered}))
    return sorted(random.Random(f"{seed}/{topics}").sample(ordered, n), key=lambda m: m.id)


# ----------------------------------------------------------------------------- cache

def region_digest(source: str) -> str:
    lines = source.splitlines()
    h = hashlib.sha256()
    for task, begin, end in regions(source):
        h.update(task.encode() + b"\0" + "\n".join(lines[begin:end - 1]).encode() + b"\0")
    return h.hexdigest()[:16]


def checks_digest(topic: str, plan: dict[str, TopicChecks], config: Config) -> str:
    """Changes with anything but the regions that can change a verdict on the topic: its hidden
    checks, the engine files, the code around its regions (signatures, helpers), the solution
    files its module imports (the reference side too), the checks graded and the seed."""
    h = hashlib.sha256()
    engine = ROOT / "autograder"
    for path in [engine / "hidden" / f"{topic}.py"] + [engine / name for name in VERDICT_FILES]:
        h.update(path.name.encode() + b"\0" + (path.read_bytes() if path.exists() else b"") + b"\0")
    source = TOPICS[topic].solution_path().read_text()
    h.update(make_stub(source, TOPICS[topic].filename).encode())
    for other in sorted(_imported(topic)):
        h.update(TOPICS[other].solution_path().read_bytes())
    for c in (c for tc in plan.values() for c in tc.checks):
        h.update(f"{c.id}:{c.points}".encode())
    h.update(repr((config.base_seed, config.devices)).encode())
    return h.hexdigest()[:16]


def _imported(topic: str, seen: frozenset = frozenset()) -> set[str]:
    """Topics whose solution file the topic's module imports, directly or not, while graded
    (a module replaced by a stand-in is not imported)."""
    by_module = {t.module: t.name for t in TOPICS.values()}
    tree = ast.parse(TOPICS[topic].solution_path().read_text())
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    found = {by_module[n] for n in names if n in by_module and n not in TOPICS[topic].stand_ins}
    for other in found - seen - {topic}:
        found |= _imported(other, seen | found)
    return found - {topic}


class Cache:
    """Verdicts of one topic's mutants, in <folder>/<topic>.json; only the current digests'
    entries are kept. Each write is atomic, so an interrupted run loses nothing graded."""

    def __init__(self, folder: Path, topic: str, regions: str, checks: str):
        self.path = folder / f"{topic}.json"
        self.prefix = f"{regions}:{checks}:"
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            data = {}
        self.entries = {k: v for k, v in data.items() if k.startswith(self.prefix)}
        if not (folder / ".gitignore").exists():
            write_atomic(folder / ".gitignore", "# made by autograder/mutants.py\n*\n")

    def get(self, mutant: Mutant) -> dict | None:
        return self.entries.get(self.prefix + mutant.id)

    def put(self, result: Result) -> None:
        self.entries[self.prefix + result.mutant.id] = result.to_dict()
        write_atomic(self.path, json.dumps(self.entries, indent=1, sort_keys=True))


# ----------------------------------------------------------------------------- grading

def grade_mutants(topic: str, mutants: list[Mutant], config: Config,
                  plan: dict[str, TopicChecks] | None = None, cache_dir: Path | None = CACHE,
                  progress=None) -> list[Result]:
    """One Result a mutant: from the cache, or graded with the rest of the topic's in one batch.
    `plan` defaults to the topic's hidden checks; `cache_dir=None` grades everything."""
    plan = plan if plan is not None else hidden_plan((topic,))
    original = TOPICS[topic].solution_path().read_text()
    cache = (Cache(cache_dir, topic, region_digest(original), checks_digest(topic, plan, config))
             if cache_dir is not None else None)
    results, todo = {}, {}
    for m in mutants:
        hit = cache.get(m) if cache else None
        if hit is not None:
            try:
                results[m.id] = Result(m, **hit, cached=True)
                continue
            except TypeError:               # written by another version of this module
                pass
        source = mutated_source(m, original)
        after = changed_lines(original, source)
        try:
            with warnings.catch_warnings():         # `x is "literal"`: a SyntaxWarning only
                warnings.simplefilter("ignore")
                compile(source, TOPICS[topic].filename, "exec")
        except (SyntaxError, ValueError):
            results[m.id] = _record(cache, Result(m, "incompetent", after))
            continue
        todo[m.id] = (m, source, after)
    for attempt in range(2):
        rest = [t for t in todo.values() if t[0].id not in results]
        if not rest:
            break
        try:
            _grade_batch(topic, rest, config, plan, cache, results, progress)
        except SystemError as exc:
            # CPython 3.11 < 3.11.8 (gh-106905): ast.parse in two threads at once can raise
            # this spuriously and stop the batch; what was graded is kept, grade the rest.
            if attempt or "AST constructor recursion depth mismatch" not in str(exc):
                raise
    return [results[m.id] for m in mutants]


def _grade_batch(topic, todo, config, plan, cache, results, progress) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="ag-mutants-"))
    try:
        folder, out = tmp / "mutants", tmp / "out"
        names = {}
        for i, (mutant, source, after) in enumerate(todo):
            sub = folder / f"m{i:04d}"
            sub.mkdir(parents=True)
            for other in TOPICS.values():             # every module, so imports across topics work
                if other.solution_path().exists():
                    shutil.copy(other.solution_path(), sub / other.filename)
            (sub / TOPICS[topic].filename).write_text(source)
            names[sub.name] = (mutant, after)

        def graded(g):
            mutant, after = names[g.name]
            result = _result(mutant, after, g.outcomes, g.seconds)
            results[mutant.id] = _record(cache, result)
            if progress:
                progress(result)

        grade_batch([folder], out, replace(config, topics=(topic,)), plan=plan, regrade=True,
                    progress=graded)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _result(mutant: Mutant, after: str, outcomes: list[Outcome], seconds: float) -> Result:
    """A mutant survives where a correct variant passes: when it loses no point (audit._judge)."""
    entry = _judge(Entry(mutant.id, mutant.topic, "correct"), None, outcomes, {})
    filename = TOPICS[mutant.topic].filename
    broken = outcomes and all(o.points == 0 and _import_failed(o.message, filename) for o in outcomes)
    verdict = "incompetent" if broken else "survived" if entry.ok else "killed"
    lost = [o for o in outcomes if o.points < o.max_points]
    timed_out = verdict == "killed" and all(o.status == "timeout" for o in lost)
    return Result(mutant, verdict, after, entry.lost, entry.failed, round(seconds, 2), timed_out)


def _import_failed(message: str, filename: str) -> bool:
    m = _IMPORT_FAILED.match(message)
    return bool(m) and filename in (m["file"], m["file2"])


def _record(cache: Cache | None, result: Result) -> Result:
    if cache is not None:
        cache.put(result)
    return result


# ----------------------------------------------------------------------------- equivalents

@dataclass(frozen=True)
class Equivalent:
    id: str
    after: str          # the mutated line as the table gives it
    reason: str


def load_equivalents(path: Path = EQUIVALENTS) -> dict[str, Equivalent]:
    """The table under '## Equivalent mutants': | mutant id | `mutated line` | reason |."""
    try:
        text = path.read_text()
    except OSError:
        return {}
    return parse_equivalents(text)


def parse_equivalents(text: str) -> dict[str, Equivalent]:
    m = re.search(r"^## Equivalent mutants[^\n]*\n(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL)
    section = m[1] if m else ""
    found = {}
    for line in (line.strip() for line in section.splitlines()):
        if not line.startswith("|"):
            continue
        cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        if len(cells) != 3:
            raise ValueError(f"docs/MUTANTS.md: a row of the equivalents table has {len(cells)} "
                             f"cells, not 3 cells (escape a | as \\|): {line}")
        if set(cells[0]) <= set("-: ") or cells[0].lower() == "mutant":
            continue                                  # the header and its rule
        ident, after, reason = (c.strip("`").strip() for c in cells)
        if not reason:
            raise ValueError(f"{ident}: an equivalent mutant needs its reason")
        found[ident] = Equivalent(ident, after, reason)
    return found


def _same_line(a: str, b: str) -> bool:
    return " ".join(a.split()) == " ".join(b.split())


def excused(result: Result, equivalents: dict[str, Equivalent]) -> Equivalent | None:
    """The table's entry for a surviving mutant, if it names this very mutation."""
    e = equivalents.get(result.mutant.id)
    return e if e is not None and _same_line(e.after, result.after) else None


# ----------------------------------------------------------------------------- report

def report(results: dict[str, list[Result]], seconds: dict[str, float],
           equivalents: dict[str, Equivalent]) -> str:
    lines = [f"{'topic':<14}{'mutants':>8}{'killed':>8}{'(incompetent)':>15}{'survived':>10}"
             f"{'equivalent':>12}{'score':>8}{'cached':>8}{'time':>8}", "-" * 91]
    for topic, rs in results.items():
        killed = [r for r in rs if r.verdict != "survived"]
        survivors = [r for r in rs if r.verdict == "survived"]
        equivalent = [r for r in survivors if excused(r, equivalents)]
        score = len(killed) / max(1, len(rs) - len(equivalent))
        lines.append(f"{topic:<14}{len(rs):>8}{len(killed):>8}"
                     f"{sum(r.verdict == 'incompetent' for r in rs):>15}{len(survivors):>10}"
                     f"{len(equivalent):>12}{score:>8.0%}{sum(r.cached for r in rs):>8}"
                     f"{seconds[topic]:>7.0f}s")
    survivors = [r for rs in results.values() for r in rs if r.verdict == "survived"]
    if survivors:
        lines += ["", "surviving mutants:"]
    for r in survivors:
        e = excused(r, equivalents)
        stale = r.mutant.id in equivalents and e is None
        note = ("equivalent (docs/MUTANTS.md)" if e else
                "NOT EQUIVALENT? docs/MUTANTS.md lists this id with another line" if stale else
                "MISSING CHECK (or add it to docs/MUTANTS.md with its argument)")
        lines += [f"  {r.mutant.where:<22} {r.mutant.operator:<40} {r.mutant.id}",
                  f"      - {r.mutant.before}", f"      + {r.after}", f"      {note}"]
    killed_listed = [r for rs in results.values() for r in rs
                     if r.verdict != "survived" and r.mutant.id in equivalents]
    for r in killed_listed:
        lines.append(f"note: {r.mutant.id} is listed as equivalent in docs/MUTANTS.md but was "
                     f"killed ({', '.join(r.failed) or r.verdict}): remove it from the table")
    for r in (r for rs in results.values() for r in rs if r.timed_out):
        lines.append(f"note: {r.mutant.id} ({r.mutant.where}) was killed by time limits alone "
                     f"({', '.join(r.failed)}): on a loaded machine that may be the machine, not "
                     "the mutant; confirm it on a quiet one")
    lines.append("score = killed / (mutants - equivalent); incompetent mutants count as killed")
    return "\n".join(lines)


def main(config: Config, topics: tuple[str, ...] = (), n: int | None = None, seed: int = 0,
         cache_dir: Path | None = CACHE, equivalents_path: Path = EQUIVALENTS) -> int:
    """Grade the mutants of each topic (a deterministic sample of n a topic, if n); print the
    report. 1 when a mutant survives that docs/MUTANTS.md does not list as equivalent."""
    equivalents = load_equivalents(equivalents_path)
    config = replace(config, timeout_scale=max(config.timeout_scale, TIMEOUT_SCALE))
    results, seconds = {}, {}
    for topic in topics or tuple(TOPICS):
        started = time.monotonic()
        mutants = sample(enumerate_mutants(topic), n, seed)
        done = []

        def progress(r, topic=topic, total=len(mutants)):
            done.append(r)
            if len(done) % 10 == 0 or r.verdict == "survived":
                print(f"[{topic} {len(done)}/{total}] {r.mutant.id}: {r.verdict}",
                      file=sys.stderr, flush=True)
        print(f"{topic}: {len(mutants)} mutants", file=sys.stderr, flush=True)
        try:
            results[topic] = grade_mutants(topic, mutants, config, cache_dir=cache_dir,
                                           progress=progress)
        except KeyboardInterrupt:
            print(f"\nInterrupted: {len(done)} verdict(s) of {topic} were graded and cached; run the "
                  "same command again to grade the rest.", file=sys.stderr)
            return 130
        seconds[topic] = time.monotonic() - started
    print(report(results, seconds, equivalents))
    survivors = [r for rs in results.values() for r in rs if r.verdict == "survived"]
    return 1 if any(excused(r, equivalents) is None for r in survivors) else 0
