"""Grading speed, measured: the five numbers issue 11 sets targets for (a script, not a test).

    python tools/benchmark.py check              # 1. the student's loop: `check TOPIC`, wall time
    python tools/benchmark.py batch [--n 200]    # 2. a class batch through `grade`, with peak memory
    python tools/benchmark.py warm               # 3. one topic of one submission, warm worker pool
    python tools/benchmark.py gradescope         # 4. run_autograder end to end (needs root, unshare)
    python tools/benchmark.py peers [--n 4]      # 5. grade vs `otter run` vs `nbgrader autograde`
    python tools/benchmark.py basics             # worker start-up and one request's round trip
    python tools/benchmark.py all

Medians of --runs runs where a run is cheap. Every number is wall-clock time on this
machine; docs/MEASUREMENTS.md holds what it printed, with the machine's load. Set
AG_ISOLATION=basic to measure without namespaces, AG_ZYGOTE=0 to start workers by fork+exec.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if "--root" in sys.argv:            # another checkout of the package (an older commit, to compare)
    ROOT = Path(sys.argv[sys.argv.index("--root") + 1]).resolve()
sys.path.insert(0, str(ROOT))

from autograder import isolation, launch, submission, variants, wire  # noqa: E402
from autograder.config import Config  # noqa: E402
from autograder.grader import grade_submission  # noqa: E402
try:
    from autograder.plans import hidden_plan  # noqa: E402
except ImportError:                                     # before plans.py existed
    from autograder.batch import hidden_plan  # noqa: E402
from autograder.reference import ReferenceSide  # noqa: E402
from autograder.sandbox import Limits, Worker, WorkerPool  # noqa: E402
from autograder.topics import TOPICS  # noqa: E402

PY = sys.executable
BIN = Path(PY).parent


def median(xs):
    return statistics.median(xs)


def run(cmd, **kwargs) -> float:
    """Seconds one command takes, wall clock; it must succeed."""
    started = time.monotonic()
    done = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, cmd))} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return seconds


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def reference_files() -> dict[str, str]:
    return {t.filename: t.solution_path().read_text() for t in TOPICS.values()}


def stub_files() -> dict[str, str]:
    return {t.filename: (t.assignment_dir() / t.filename).read_text() for t in TOPICS.values()}


def write_flat(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


# ----------------------------------------------------------------------------- 1. check

def student_root(tmp: Path, files: dict[str, str]) -> Path:
    """A student's copy of the course (assignments/ with public checks) holding `files`."""
    root = tmp / "student"
    shutil.copytree(ROOT / "assignments", root / "assignments",
                    ignore=shutil.ignore_patterns("*.ipynb", "__pycache__"))
    for topic in TOPICS.values():
        (topic.assignment_dir(root) / topic.filename).write_text(files[topic.filename])
    return root


def bench_check(runs: int) -> None:
    import_torch = median([run([PY, "-c", "import torch"]) for _ in range(runs)])
    print(f"import torch alone: {import_torch:.2f} s (median of {runs})")
    for label, files in (("stubs", stub_files()), ("reference", reference_files())):
        with tempfile.TemporaryDirectory() as tmp:
            root = student_root(Path(tmp), files)
            for name in TOPICS:
                cmd = [PY, "-m", "autograder", "check", name, "--root", str(root)]
                run(cmd, cwd=ROOT)                       # the first also fills build/check-cache
                seconds = median([run(cmd, cwd=ROOT) for _ in range(runs)])
                print(f"check {name:<14} on the {label:<9}: {seconds:.2f} s "
                      f"({seconds - import_torch:+.2f} s over import torch)")
    print(load())


# ----------------------------------------------------------------------------- 3. warm

def bench_warm(runs: int) -> None:
    sub = submission.load(ROOT / "solutions")
    reference = ReferenceSide()
    pool = WorkerPool(Limits(), spare=1)
    config = Config(devices=("cpu",))
    try:
        for name in TOPICS:
            plan = hidden_plan((name,))
            grade_submission(sub, plan, reference, pool, config)     # fills the reference cache
            times = []
            for _ in range(runs):
                time.sleep(0.2)                                      # the pool forks its spare
                started = time.monotonic()
                result = grade_submission(sub, plan, reference, pool, config)
                times.append(time.monotonic() - started)
            points = sum(o.points for o in result.outcomes)
            print(f"warm {name:<14} {median(times):.3f} s  ({len(result.outcomes)} cases, "
                  f"{points:g} / {sum(o.max_points for o in result.outcomes):g} points; median of {runs})")
    finally:
        pool.close()
        reference.close()
    print(load())


# ----------------------------------------------------------------------------- 2. batch

def class_of(n: int, seed: int = 0) -> dict[str, tuple[dict[str, str], str]]:
    """n full submissions, a realistic mix: per topic a correct variant or the reference
    (60%), a known bug or mistake (25%), the untouched stub (10%) or a file that does not
    import (5%); and one endless loop (in layer_norm) per 20 submissions."""
    rng = random.Random(seed)
    reference, stubs = reference_files(), stub_files()
    by_topic = {name: variants.of_topic(name) for name in TOPICS}
    out = {}
    for i in range(n):
        files, kinds = dict(reference), []
        for name, topic in TOPICS.items():
            pool = by_topic[name]
            roll = rng.random()
            if roll < 0.6:
                correct = [v for v in pool if v.kind == "correct"]
                chosen = rng.choice(correct) if correct and rng.random() < 0.5 else None
            elif roll < 0.85:
                chosen = rng.choice([v for v in pool if v.kind in ("bug", "mistake") and not v.slow
                                     and "cuda" not in v.devices])
            elif roll < 0.95:
                files[topic.filename] = stubs[topic.filename]
                kinds.append(f"{name}:stub")
                continue
            else:
                files[topic.filename] = reference[topic.filename].replace("def ", "def def ", 1)
                kinds.append(f"{name}:crash")
                continue
            if chosen is not None:
                try:
                    files[topic.filename] = variants.apply(reference[topic.filename], chosen.patch, chosen.name)
                    kinds.append(f"{name}:{chosen.kind}")
                except variants.PatchError:
                    pass
        if i % 20 == 19:
            loop = variants.by_name("nm-endless-loop-in-layer-norm")
            files["normalization.py"] = variants.apply(reference["normalization.py"], loop.patch, loop.name)
            kinds.append("normalization:endless loop")
        out[f"s{i:03d}"] = (files, ", ".join(kinds) or "reference")
    return out


class PeakMemory:
    """Peak resident memory (VmHWM) of the grader and of its workers, sampled from /proc."""

    def __init__(self, grader_pid: int):
        self.grader_pid = grader_pid
        self.grader = self.worker = self.zygote = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self):
        while not self._stop.wait(0.2):
            for entry in os.listdir("/proc"):
                if not entry.isdigit():
                    continue
                try:
                    status = Path(f"/proc/{entry}/status").read_text()
                    cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
                except OSError:
                    continue
                fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
                peak = int(fields.get("VmHWM", "0 kB").split()[0]) << 10
                ppid = int(fields.get("PPid", "0").strip())
                if int(entry) == self.grader_pid:
                    self.grader = max(self.grader, peak)
                elif b"zygote" in cmdline and ppid == self.grader_pid:
                    self.zygote = max(self.zygote, peak)
                elif b"zygote" in cmdline:              # forks of it: keepers and workers
                    self.worker = max(self.worker, peak)

    def stop(self):
        self._stop.set()
        self._thread.join()


def bench_batch(n: int, jobs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        subs = Path(tmp) / "subs"
        mix = class_of(n)
        for name, (files, _kinds) in mix.items():
            write_flat(subs / name, files)
        loops = sum("endless" in kinds for _, kinds in mix.values())
        out = Path(tmp) / "out"
        cmd = [PY, "-m", "autograder", "grade", str(subs), "--out", str(out), "--device", "cpu",
               "--jobs", str(jobs), "--quiet"]
        started = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        memory = PeakMemory(proc.pid)
        _out, err = proc.communicate()
        seconds = time.monotonic() - started
        memory.stop()
        if proc.returncode != 0:
            raise SystemExit(err[-3000:])
        topic_seconds: dict[str, float] = {}
        for folder in out.iterdir():
            record = folder / "resume.json"
            if record.exists():
                for topic, s in json.loads(record.read_text()).get("topic_seconds", {}).items():
                    topic_seconds[topic] = topic_seconds.get(topic, 0.0) + s
        busy = sum(topic_seconds.values())
        print(f"batch: {n} full submissions ({loops} with an endless loop), --jobs {jobs}: "
              f"{seconds:.1f} s, {seconds / n:.2f} s a submission")
        print("  where the grading time went (summed over submissions, all jobs): " + ", ".join(
            f"{t} {s:.0f} s ({100 * s / busy:.0f}%)" for t, s in sorted(topic_seconds.items(),
                                                                        key=lambda kv: -kv[1])))
        gib = lambda b: f"{b / (1 << 20):.0f} MiB"                                  # noqa: E731
        print(f"  peak resident memory: grader {gib(memory.grader)}, zygote {gib(memory.zygote)}, "
              f"one worker at most {gib(memory.worker)}")
    print(load())


# ----------------------------------------------------------------------------- 4. Gradescope

def bench_gradescope(runs: int) -> None:
    if os.geteuid() != 0 or not shutil.which("unshare"):
        print("gradescope: skipped (run_autograder at /autograder needs root and unshare)")
        return
    from autograder.exporters import gradescope
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "autograder"
        zip_path = Path(tmp) / "autograder.zip"
        gradescope.autograder_zip(zip_path, ROOT)
        if hasattr(gradescope, "unpack"):
            gradescope.unpack(zip_path, home)
        else:                                   # an older checkout (--root)
            with zipfile.ZipFile(zip_path) as archive:
                archive.extractall(home / "source")
            for path in (home / "source").rglob("*"):
                if path.name in ("run_autograder", "setup.sh"):
                    path.chmod(0o755)
            shutil.copy(home / "source" / "run_autograder", home / "run_autograder")
        made = not Path("/autograder").exists()
        Path("/autograder").mkdir(exist_ok=True)
        try:
            for label, files in (("reference", reference_files()), ("stubs", stub_files())):
                times = []
                for _ in range(runs):
                    for part in ("submission", "results"):
                        shutil.rmtree(home / part, ignore_errors=True)
                        (home / part).mkdir()
                    write_flat(home / "submission", files)
                    script = f"mount --bind '{home}' /autograder && exec /autograder/run_autograder"
                    times.append(run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                                     env={**os.environ, "AG_PYTHON": PY}))
                score = json.loads((home / "results" / "results.json").read_text())["score"]
                print(f"gradescope run_autograder, full submission ({label}): {median(times):.1f} s "
                      f"(score {score:g}; median of {runs}; setup.sh excluded)")
        finally:
            if made:
                Path("/autograder").rmdir()
    print(load())


# ----------------------------------------------------------------------------- 5. peers

def bench_peers(n: int) -> None:
    """The same n normalization notebooks (the reference, the stub, bank bugs) graded by
    `grade`, by `otter run` on the otter export and by `nbgrader autograde` on the nbgrader
    export; per-submission times and the ratios."""
    from autograder.exporters import cells
    topic = TOPICS["normalization"]
    kinds = ["reference", "stub"] + [v.name for v in variants.of_topic("normalization")
                                     if v.kind == "bug" and not v.slow][:max(0, n - 2)]
    kinds = kinds[:n]
    sources = {k: (topic.solution_path().read_text() if k == "reference" else
                   None if k == "stub" else variants.source_of(variants.by_name(k))) for k in kinds}

    def filled(nb: dict, source: str | None, by: str) -> dict:
        nb = json.loads(json.dumps(nb))
        if source is None:
            return nb
        units = cells.unit_sources(source)
        for cell in nb["cells"]:
            if cell["cell_type"] != "code":
                continue
            if by == "nbgrader":
                grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id", "")
                if grade_id.startswith("solution_") and grade_id[len("solution_"):] in units:
                    cell["source"] = units[grade_id[len("solution_"):]]
            else:
                import ast
                try:
                    names = {getattr(node, "name", None) for node in ast.parse("".join(cell["source"])).body}
                except SyntaxError:
                    continue
                for name in names & set(units):
                    cell["source"] = units[name]
        return nb

    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        # this package: the same code as .py files, one batch
        for k, source in sources.items():
            write_flat(tmp / "ours" / k, {topic.filename: source if source is not None
                                          else (topic.assignment_dir() / topic.filename).read_text()})
        ours = run([PY, "-m", "autograder", "grade", str(tmp / "ours"), "--out", str(tmp / "ours-out"),
                    "--topic", "normalization", "--device", "cpu", "--quiet"], cwd=ROOT) / len(kinds)
        # otter: export, otter assign, then otter run on each notebook
        run([PY, "-m", "autograder", "export", "otter", str(tmp / "masters")], cwd=ROOT)
        run([str(BIN / "otter"), "assign", f"masters/{topic.folder}/{topic.module}.ipynb", "dist"],
            cwd=tmp, env=env)
        zip_path = next((tmp / "dist" / "autograder").glob("*.zip"))
        student = json.loads((tmp / "dist" / "student" / f"{topic.module}.ipynb").read_text())
        otter_times = []
        for k, source in sources.items():
            path = tmp / "otter-subs" / f"{k}.ipynb"
            path.parent.mkdir(exist_ok=True)
            path.write_text(json.dumps(filled(student, source, "otter")))
            out = tmp / "otter-out" / k
            out.mkdir(parents=True)
            otter_times.append(run([str(BIN / "otter"), "run", "-a", str(zip_path), str(path), "-o", str(out)],
                                   cwd=tmp, env=env))
        # nbgrader: export, generate_assignment, submissions, one autograde of them all
        course = tmp / "course"
        run([PY, "-m", "autograder", "export", "nbgrader", str(course), "--assignment", "ps1"], cwd=ROOT)
        run([str(BIN / "nbgrader"), "generate_assignment", "ps1"], cwd=course, env=env)
        release = json.loads((course / "release" / "ps1" / f"{topic.module}.ipynb").read_text())
        for k, source in sources.items():
            folder = course / "submitted" / k.replace(" ", "_") / "ps1"
            folder.mkdir(parents=True)
            (folder / f"{topic.module}.ipynb").write_text(json.dumps(filled(release, source, "nbgrader")))
        nb_total = run([str(BIN / "nbgrader"), "autograde", "ps1"], cwd=course, env=env)
    otter_each, nb_each = median(otter_times), nb_total / len(kinds)
    print(f"peers, {len(kinds)} normalization submissions ({', '.join(kinds)}):")
    print(f"  grade (this package, one batch): {ours:.2f} s a submission")
    print(f"  otter run on the otter export:   {otter_each:.2f} s a submission (median), "
          f"{otter_each / ours:.1f}x grade's")
    print(f"  nbgrader autograde on the export: {nb_each:.2f} s a submission, {nb_each / ours:.1f}x grade's")
    print(load())


# ----------------------------------------------------------------------------- basics

def bench_basics(runs: int) -> None:
    print(f"isolation layers: {', '.join(isolation.detect().names())}; "
          f"workers {'forked from a zygote' if launch.use_zygote() else 'started by fork+exec'}")
    times = []
    for _ in range(runs + 1):
        started = time.monotonic()
        w = Worker(Limits())
        w.request(wire.dumps({"op": "configure", "threads": 1}), 120)
        times.append(time.monotonic() - started)
        w.close()
    print(f"worker start to its first answer: first {times[0]:.2f} s (the zygote's start), "
          f"then {median(times[1:]) * 1000:.0f} ms (median of {runs})")
    import torch
    w = Worker(Limits())
    w.request(wire.dumps({"op": "configure", "threads": 1}), 120)
    w.request(wire.dumps({"op": "write", "files": {"m.py": "def f(x):\n    return x * 2\n"}}), 30)
    w.request(wire.dumps({"op": "import", "module": "m"}), 30)
    message = wire.dumps({"op": "call", "target": {"module": "m", "path": [["attr", "f"]]},
                          "args": [torch.randn(16, 5)], "kwargs": {}})
    started = time.monotonic()
    for _ in range(500):
        w.request(message, 30)
    print(f"request round trip (16x5 tensor): {(time.monotonic() - started) / 500 * 1000:.2f} ms")
    w.close()
    print(load())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("check", "batch", "warm", "gradescope", "peers", "basics", "all"))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--n", type=int, help="submissions (batch: 200, peers: 4)")
    parser.add_argument("--jobs", type=int, default=2, help="batch: submissions graded at once")
    parser.add_argument("--root", help="measure the package in this checkout instead")
    args = parser.parse_args()
    chosen = ("basics", "check", "warm", "gradescope", "peers", "batch") if args.what == "all" else (args.what,)
    for what in chosen:
        print(f"== {what}", flush=True)
        if what == "check":
            bench_check(args.runs)
        elif what == "warm":
            bench_warm(args.runs)
        elif what == "batch":
            bench_batch(args.n or 200, args.jobs)
        elif what == "gradescope":
            bench_gradescope(args.runs)
        elif what == "peers":
            bench_peers(args.n or 4)
        else:
            bench_basics(args.runs)
        sys.stdout.flush()


if __name__ == "__main__":
    main()
