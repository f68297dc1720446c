"""An interrupted batch loses nothing already graded and resumes where it stopped.

`python -m autograder grade EXAMPLES --out OUT --topic normalization
--device cpu` (EXAMPLES: the bundled examples but frank) is run as a real subprocess:

- killed with SIGKILL as soon as the first results.json appears, then run again:
  every results.json on disk parses, the submissions finished before the kill
  are not graded again (same files, same mtimes, "unchanged" in the progress
  lines), and the final results equal a clean run's, submission by submission
  and test by test;
- stopped with SIGINT (Ctrl-C): exit status 130, a message naming how many
  submissions were graded (as many as have results on disk), and no worker
  process left running.

Each run gets its own worker scratch base (AG_SANDBOX_DIR) and TMPDIR, so its
workers are told from everyone else's, and what a killed grader leaves behind
(scratch folders, cgroups: nobody is left to remove them) is removed here.
"""
from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from autograder.topics import ROOT

pytestmark = pytest.mark.slow

EXAMPLES = ROOT / "examples" / "submissions"
# frank's endless loop only waits out time limits: it adds a minute and tests nothing here.
USED = sorted(p for p in EXAMPLES.iterdir() if not p.name.startswith(".") and p.name != "frank")
NAMES = sorted(p.stem if p.is_file() else p.name for p in USED)
# The command of the brief, with every time limit doubled: a time-out that one run gets and
# another does not would make "the same results as a clean run" flaky.
COMMAND = [sys.executable, "-m", "autograder", "grade", "--topic", "normalization",
           "--device", "cpu", "--timeout-scale", "2"]


@pytest.fixture(scope="module")
def examples(tmp_path_factory) -> Path:
    """The bundled examples but frank, copied."""
    folder = tmp_path_factory.mktemp("examples")
    for path in USED:
        (shutil.copytree if path.is_dir() else shutil.copy)(path, folder / path.name)
    return folder


@pytest.fixture
def places(tmp_path):
    """places(run) -> (environment, sandbox base, temp folder) for one grader subprocess."""
    made = []
    key = uuid.uuid4().hex[:10]

    def make(run: str):
        sandbox = Path(f"/var/tmp/ag-resume-{key}-{run}")   # outside /tmp: /tmp is hidden from workers
        tmp = tmp_path / f"tmpdir-{run}"
        tmp.mkdir()
        made.append((sandbox, tmp))
        env = {**os.environ, "AG_SANDBOX_DIR": str(sandbox), "TMPDIR": str(tmp), "PYTHONUNBUFFERED": "1"}
        return env, sandbox, tmp
    yield make
    for proc in STARTED:                                # a failed test may leave a grader running
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    STARTED.clear()
    for sandbox, tmp in made:
        for pid, _ in workers_of(sandbox, tmp):         # processes our graders started
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        if sandbox.exists():
            for scratch in sandbox.iterdir():           # cgroups are named after scratch folders
                for controller in ("memory", "pids"):
                    try:
                        (Path("/sys/fs/cgroup") / controller / "ag" / scratch.name).rmdir()
                    except OSError:
                        pass
            shutil.rmtree(sandbox, ignore_errors=True)


def workers_of(*bases: Path) -> list[tuple[int, str]]:
    """Worker processes whose HOME (their scratch folder) lies under one of `bases`."""
    found = []
    prefixes = tuple(str(b) + "/" for b in bases)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            env = (entry / "environ").read_bytes().split(b"\0")
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        home = next((e[5:].decode(errors="replace") for e in env if e.startswith(b"HOME=")), "")
        if home.startswith(prefixes):
            found.append((int(entry.name), cmd[:100]))
    return found


def wait_for_no_workers(*bases: Path, seconds: float = 20) -> list[tuple[int, str]]:
    deadline = time.monotonic() + seconds
    left = workers_of(*bases)
    while left and time.monotonic() < deadline:
        time.sleep(0.25)
        left = workers_of(*bases)
    return left


STARTED: list[subprocess.Popen] = []


def start(out: Path, env: dict, examples: Path) -> subprocess.Popen:
    proc = subprocess.Popen(COMMAND + [str(examples), "--out", str(out)], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    STARTED.append(proc)
    return proc


def run(out: Path, env: dict, examples: Path) -> tuple[int, str]:
    proc = start(out, env, examples)
    _, err = proc.communicate(timeout=900)
    return proc.returncode, err


def wait_for_first_result(proc: subprocess.Popen, out: Path, limit: float = 600) -> None:
    deadline = time.monotonic() + limit
    while not list(out.glob("*/resume.json")):      # written last: the submission is done
        assert proc.poll() is None, f"the grader ended before any result: {proc.communicate()}"
        assert time.monotonic() < deadline, "no resume.json appeared"
        time.sleep(0.02)


def results(out: Path) -> dict[str, dict]:
    """name -> parsed results.json; every one on disk must parse."""
    table = {}
    for path in sorted(out.glob("*/results.json")):
        table[path.parent.name] = json.loads(path.read_text())     # a half-written file fails here
    return table


def summary(data: dict) -> tuple:
    return (data["score"], data["extra_data"]["max_score"],
            [(t["name"], t["score"], t["max_score"], t["status"]) for t in data["tests"]])


def test_a_batch_killed_with_sigkill_resumes_where_it_stopped(tmp_path, places, examples):
    clean_run = start(tmp_path / "clean", places("clean")[0], examples)     # side by side with the runs below

    env, sandbox, tmp = places("killed")
    out = tmp_path / "out"
    proc = start(out, env, examples)
    wait_for_first_result(proc, out)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL

    before = {name: data for name, data in results(out).items()     # every file on disk parses
              if (out / name / "resume.json").exists()}                # and these were finished
    assert 1 <= len(before) < len(NAMES), "the kill came too late to test resuming"
    stamps = {name: [(out / name / f).stat().st_mtime_ns for f in ("results.json", "feedback.txt")]
              for name in before}
    if (out / "gradebook.csv").exists():
        list(csv.reader((out / "gradebook.csv").open()))      # whole, or absent
    orphans = wait_for_no_workers(sandbox, tmp)     # idle workers see the closed pipe and exit
    assert orphans == [], f"workers of the killed grader still run: {orphans}"

    code, err = run(out, places("resumed")[0], examples)
    assert code == 0, err
    _, clean_err = clean_run.communicate(timeout=900)
    assert clean_run.returncode == 0, clean_err
    clean = results(tmp_path / "clean")
    assert sorted(clean) == NAMES
    final = results(out)
    assert sorted(final) == NAMES
    for name in NAMES:
        unchanged = re.search(rf"\] {re.escape(name)}: .*\(unchanged\)", err)
        if name in before:
            assert unchanged, f"{name} was graded again:\n{err}"
            assert [(out / name / f).stat().st_mtime_ns for f in ("results.json", "feedback.txt")] \
                == stamps[name], f"{name}'s files were rewritten"
            assert final[name] == before[name]
        else:
            assert not unchanged, f"{name} was not finished before the kill, yet reported unchanged"
        assert summary(final[name]) == summary(clean[name]), name
    grades = {row["submission"]: row["score"] for row in csv.DictReader((out / "gradebook.csv").open())}
    assert grades == {name: f"{clean[name]['score']:g}" for name in NAMES}


def test_ctrl_c_stops_with_status_130_names_what_was_graded_and_leaves_no_worker(tmp_path, places, examples):
    env, sandbox, tmp = places("interrupted")
    out = tmp_path / "out"
    proc = start(out, env, examples)
    wait_for_first_result(proc, out)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, err
    graded = results(out)
    match = re.search(r"Interrupted: (\d+) submission\(s\) were graded", err)
    assert match, err
    assert int(match.group(1)) == len(graded) >= 1
    assert len(graded) < len(NAMES)
    assert wait_for_no_workers(sandbox, tmp, seconds=5) == []
    left = sorted(p.name for p in sandbox.iterdir()) if sandbox.exists() else []
    assert left == [], f"scratch folders left after Ctrl-C: {left}"
