"""Red team: hostile submissions cannot read hidden material, fake their verdict,
stop the batch, escape the sandbox or poison later submissions.

Every attack in tests/redteam/attacks.py becomes a normalization submission
(the reference solution plus the attack) at test time. The attacks run in four
batches (by category; plus a batch of its own for an attack that stops the
whole batch), each with two honest submissions graded last; each batch is one
`grade_batch` call, as an instructor would run it (jobs=2). For every attack
the test asserts:

- the batch completed with one result per submission;
- its score lies in the attack's bounds: an attack attached to a correct
  implementation keeps exactly what the honest part earns (an attack that reads
  hidden material spoils all its outputs when it finds anything, so full marks
  prove it found nothing); an attack that replaces the implementation with a
  lie earns no more than the same wrong values earn honestly;
- it left nothing outside its scratch folder (files owned by its worker's uid,
  or named after its token, in /tmp, /var/tmp, /run/lock, /dev/shm, the
  repository, the venv or the grader's home) and no process behind;

and for every batch: the honest submissions get full marks, no worker process
survives, every worker's scratch folder is gone, the output folder holds only
the grader's files, the repository's `git status` gained nothing from a worker,
and nothing reached a port the test listens on.

Attacks whose isolation layer is missing (autograder.isolation.detect()) are
not run at all (they would really escape): their tests are skipped, naming the
layer. Weaknesses found are kept as strict xfails with their cause. Two things
the harness works around, each with its own strict xfail: the static scans of
one batch run one at a time (CPython 3.11's ast.parse is not thread-safe, see
test_static_scan_in_two_threads_at_once), and torch's empty cache folder
(/var/tmp/torchinductor_uid_N, see attack shared_temporary_folder) is not
counted as a worker's leftover.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from autograder import batch as batch_module
from autograder import forbidden, grader, isolation
from autograder.batch import grade_batch, hidden_plan
from autograder.config import Config
from autograder.sandbox import WorkerPool
from autograder.submission import Submission
from autograder.topics import ROOT, TOPICS
from redteam.attacks import ATTACKS, BY_NAME, Attack

pytestmark = pytest.mark.slow

TOPIC = TOPICS["normalization"]
REFERENCE = TOPIC.solution_path(ROOT).read_text()
PLAN = hidden_plan(("normalization",))["normalization"]
LAYERS = isolation.detect()
ACTIVE = set(LAYERS.names())
# Real time limits (scale 1): workers fork from a zygote that has already warmed torch up
# (the first meta-device call, 2-5 s cold, is paid there once), so an honest call takes
# milliseconds against a limit of seconds even on a loaded machine.
CONFIG = Config(devices=("cpu",), topics=("normalization",), timeout_scale=1.0, jobs=2,
                import_timeout=5.0)        # an honest module imports in milliseconds
HONEST = ("zz-honest-1", "zz-honest-2")       # sorted last: graded after every attack
RUN = uuid.uuid4().hex[:10]                   # in every token: this run's marks on the machine
BATCHES = ("read", "verdict", "dos", "escape")


def _points(prefixes: tuple[str, ...]) -> float:
    return sum(c.points for c in PLAN.checks if c.name.startswith(prefixes))


FULL = sum(c.points for c in PLAN.checks) + PLAN.placement_points
LNB = _points(("layer_norm_backward",))      # where attacks in layer_norm strike (2-D input)
LNL = _points(("layer_norm_last_dim",))
BNF = _points(("batchnorm_function_",))      # the BatchNormFunction checks
# what a submission whose batch_norm, layer_norm and BatchNormFunction outputs are all spoiled
# still earns: the check that only builds the modules, the placement probe of that check, and
# the tasks that call none of them (Standardizer, fold_batchnorm, accumulated_gradients: their
# checks are tagged with their task, and their test models are testfns' own layers)
BUILT = _points(("norm_modules_factory_kwargs",)) + PLAN.placement_points \
    + sum(c.points for c in PLAN.checks if c.task)
TORCH_CACHE = "torchinductor_"               # torch's cache folder, made in honest workers too


def batch_of(attack: Attack) -> str:
    return attack.batch or {"poison": "escape", "control": "verdict"}.get(attack.category, attack.category)


def token(name: str) -> str:
    return f"{RUN}-{name}"


def missing_layers(attack: Attack) -> list[str]:
    return [n for n in attack.needs if n not in ACTIVE]


def runnable(batch: str) -> list[Attack]:
    return [a for a in ATTACKS if batch_of(a) == batch and not missing_layers(a)]


def _keep_names(parent: Path) -> list[str]:
    """Names directly under `parent` that the worker's mount namespace keeps (its Python)."""
    names = set()
    for keep in isolation.keep_paths():
        try:
            names.add(keep.relative_to(parent.resolve()).parts[0])
        except (ValueError, IndexError):
            pass
    return sorted(names)


# ----------------------------------------------------------------------------- one batch

@dataclass
class BatchRun:
    names: list[str]
    graded: dict = field(default_factory=dict)          # name -> Graded
    outcomes: dict = field(default_factory=dict)        # name -> [outcome dict]
    seconds: float = 0.0
    scratch_uid: dict = field(default_factory=dict)     # scratch folder -> worker uid (None: no uid layer)
    owner: dict = field(default_factory=dict)           # scratch folder -> submission name
    leftovers: dict = field(default_factory=dict)       # name -> [paths it left outside its scratch]
    torch_cache: list = field(default_factory=list)     # torch's cache folders the workers made
    survivors: dict = field(default_factory=dict)       # name -> [processes it left running]
    out_extra: list = field(default_factory=list)
    out_missing: list = field(default_factory=list)
    out_forged: list = field(default_factory=list)
    repo_new: list = field(default_factory=list)        # new `git status` lines caused by a worker
    repo_other: list = field(default_factory=list)      # new `git status` lines from elsewhere
    listener_hits: int = 0
    crash: str | None = None                            # grade_batch raised: the batch stopped

    def uids(self, name: str | None = None) -> set[int]:
        return {u for s, u in self.scratch_uid.items()
                if u is not None and (name is None or self.owner.get(s) == name)}


def _porcelain() -> set[str]:
    proc = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    return set(proc.stdout.splitlines())


SCAN_ROOTS = ["/tmp", "/var/tmp", "/run/lock", "/dev/shm", str(ROOT), str(Path.home())]
FIXED_NAMES = {"sitecustomize.py", "usercustomize.py", "torch.py", "results.json", "feedback.txt",
               "instructor.txt", "resume.json", "gradebook.csv", "scores.csv", "report.html"}


def _scan_host(run: BatchRun, since: float, skip: set[Path]) -> dict[str, list[str]]:
    """Paths owned by a worker uid of this batch (changed since the batch began) or named
    after a token of this run, anywhere a worker might have reached: name -> paths."""
    uid_owner = {u: run.owner.get(s, "?") for s, u in run.scratch_uid.items() if u is not None}
    owned = []
    for uid in sorted(uid_owner):
        owned += ["-uid", str(uid), "-o"]
    test = ["(", "-name", f"*{RUN}*"]
    if owned:
        test += ["-o", "(", "(", *owned[:-1], ")", "-newerct", f"@{int(since) - 1}", ")"]
    fixed = []
    for name in sorted(FIXED_NAMES):
        fixed += ["-name", name, "-o"]
    test += ["-o", "(", "(", *fixed[:-1], ")", "-size", "-8k", ")", ")"]
    prune = [str(isolation.SANDBOX_BASE), *(str(p) for p in skip)]
    prunes = []
    for p in prune:
        prunes += ["-path", p, "-o"]
    roots = [r for r in SCAN_ROOTS if os.path.isdir(r)]
    proc = subprocess.run(["find", *roots, "-xdev", "(", *prunes[:-1], ")", "-prune", "-o", *test,
                           "-print"], capture_output=True, text=True, timeout=300)
    found: dict[str, list[str]] = {}
    for path in proc.stdout.splitlines():
        name = None
        try:
            st = os.lstat(path)
        except OSError:
            continue
        if RUN in os.path.basename(path):
            name = next((n for n in run.names if token(n) in path), "?")
        elif st.st_uid in uid_owner and max(st.st_ctime, st.st_mtime) >= since - 1:
            name = uid_owner[st.st_uid]
        elif os.path.basename(path) in FIXED_NAMES:
            try:                       # a fixed name (sitecustomize.py) holding this run's token
                text = Path(path).read_text(errors="ignore")
            except OSError:
                text = ""
            if RUN in text:
                name = next((n for n in run.names if token(n) in text), "?")
        if name is not None:
            found.setdefault(name, []).append(path)
    for path in Path("/sys/fs/cgroup").glob(f"*/agrt-{RUN}-*"):
        found.setdefault(next((n for n in run.names if token(n) in str(path)), "?"), []).append(str(path))
    return found


def _processes() -> list[tuple[int, int, str, str]]:
    """(pid, real uid, cmdline, HOME) of every process."""
    procs = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            if "\nState:\tZ" in status or "\nState:\tX" in status:
                continue                    # exited (a zombie until its parent reaps it): not running
            uid = int(next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1])
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            try:
                env = (entry / "environ").read_bytes().split(b"\0")
                home = next((e[5:].decode(errors="replace") for e in env if e.startswith(b"HOME=")), "")
            except OSError:
                home = ""
        except (OSError, StopIteration, ValueError, IndexError):
            continue
        procs.append((int(entry.name), uid, cmd, home))
    return procs


def _survivors(run: BatchRun) -> dict[str, list[tuple[int, str]]]:
    """Processes of this batch's workers still running: carrying a token of this run, or of a
    worker uid whose HOME is not the live scratch folder of another grader's worker."""
    uid_owner = {u: run.owner.get(s, "?") for s, u in run.scratch_uid.items() if u is not None}
    mine = {str(s) for s in run.scratch_uid}
    found: dict[str, list[tuple[int, str]]] = {}
    for pid, uid, cmd, home in _processes():
        if pid == os.getpid():
            continue
        name = None
        if RUN in cmd:
            name = next((n for n in run.names if token(n) in cmd), "?")
        elif uid in uid_owner:
            someone_elses = home and home not in mine and os.path.isdir(home)
            if not someone_elses:
                name = uid_owner[uid]
        if name is not None:
            found.setdefault(name, []).append((pid, cmd[:120]))
    return found


def _out_files(out: Path, names: list[str]) -> tuple[list[str], list[str], list[str]]:
    expected = {"gradebook.csv", "scores.csv", "report.html"} | {
        f"{n}/{f}" for n in names for f in ("results.json", "feedback.txt", "instructor.txt",
                                            "resume.json")}
    actual = {str(p.relative_to(out)) for p in out.rglob("*") if not p.is_dir()}
    forged = [p for p in sorted(actual) if RUN in (out / p).read_text(errors="ignore")]
    return sorted(actual - expected), sorted(expected - actual), forged


def run_batch(batch: str, root: Path, listener: socket.socket) -> BatchRun:
    attacks = runnable(batch)
    subs = root / "subs"
    out = root / "out"
    for attack in attacks:
        values = {"token": token(attack.name), "root": str(ROOT), "home": str(Path.home()),
                  "home_keep": _keep_names(Path.home()), "root_keep": _keep_names(ROOT),
                  "out": str(out.resolve()), "name": attack.name, "port": listener.getsockname()[1]}
        (subs / attack.name).mkdir(parents=True)
        (subs / attack.name / TOPIC.filename).write_text(attack.source(REFERENCE, values))
    for name in HONEST:
        (subs / name).mkdir(parents=True)
        (subs / name / TOPIC.filename).write_text(REFERENCE)
    run = BatchRun(names=[a.name for a in attacks] + list(HONEST))

    current = threading.local()
    real_scratch, real_take, real_grade = isolation.prepare_scratch, WorkerPool.take, batch_module.grade_submission

    def prepare_scratch(uid):
        scratch = real_scratch(uid)
        run.scratch_uid[scratch] = uid
        return scratch

    def take(self):
        worker = real_take(self)
        run.owner[worker.scratch] = getattr(current, "name", "?")
        return worker

    def grade_submission(submission, *args, **kwargs):
        current.name = submission.name
        return real_grade(submission, *args, **kwargs)

    scan_lock = threading.Lock()
    real_static = grader.static_findings

    def static_findings(*args, **kwargs):       # see test_static_scan_in_two_threads_at_once
        with scan_lock:
            return real_static(*args, **kwargs)

    before = _porcelain()
    started = time.time()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(isolation, "prepare_scratch", prepare_scratch)
        mp.setattr(WorkerPool, "take", take)
        mp.setattr(batch_module, "grade_submission", grade_submission)
        mp.setattr(grader, "static_findings", static_findings)
        try:
            graded = grade_batch([subs], out, CONFIG, regrade=True)
        except Exception as exc:               # noqa: BLE001 - an attack stopped the batch
            run.crash = f"{type(exc).__name__}: {str(exc)[:300]}"
            graded = []
    run.seconds = time.time() - started
    run.graded = {g.name: g for g in graded}
    for name in run.graded:
        data = json.loads((out / name / "results.json").read_text())
        run.outcomes[name] = data["extra_data"]["outcomes"]

    deadline = time.monotonic() + 10          # a killed namespace takes a moment to empty
    run.survivors = _survivors(run)
    while run.survivors and time.monotonic() < deadline:
        time.sleep(0.5)
        run.survivors = _survivors(run)
    for name, paths in _scan_host(run, started, skip={root.resolve()}).items():
        for path in paths:               # see the xfail of attack shared_temporary_folder
            if os.path.basename(path).startswith(TORCH_CACHE) and os.path.isdir(path) \
                    and not os.listdir(path):
                run.torch_cache.append(path)
            else:
                run.leftovers.setdefault(name, []).append(path)
    if out.exists():
        run.out_extra, run.out_missing, run.out_forged = _out_files(out, run.names)
    new = sorted(_porcelain() - before)
    for line in new:
        path = ROOT / line[3:].strip().strip('"')
        try:
            owned = path.lstat().st_uid in run.uids()
        except OSError:
            owned = False
        (run.repo_new if owned or RUN in line else run.repo_other).append(line)
    listener.setblocking(False)
    while True:
        try:
            conn, _ = listener.accept()
            conn.close()
            run.listener_hits += 1
        except (BlockingIOError, OSError):
            break
    _clean_up(run)
    print(f"\nred-team batch {batch!r}: {len(run.names)} submissions in {run.seconds:.1f}s; "
          f"torch cache folders left by its workers: {len(run.torch_cache)}"
          + (f"; STOPPED: {run.crash}" if run.crash else ""))
    for name in run.names:
        g = run.graded.get(name)
        lost = sorted({o["status"] for o in run.outcomes.get(name, []) if o["status"] != "passed"})
        print(f"  {name:45s} {g.score.score if g else '-':>5} / {FULL:g} {g.seconds if g else 0:6.1f}s  "
              f"{' '.join(lost)}{'  LEFT ' + str(run.leftovers[name]) if name in run.leftovers else ''}")
    return run


def _clean_up(run: BatchRun) -> None:
    """Remove what the attacks left: their processes (by pid) and their files."""
    for procs in run.survivors.values():
        for pid, _ in procs:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    for path in run.torch_cache:
        try:
            os.rmdir(path)              # only if empty
        except OSError:
            pass
    for paths in run.leftovers.values():
        for path in sorted(paths, key=len, reverse=True):
            p = Path(path)
            try:
                if p.is_dir() and not p.is_symlink():
                    if str(p).startswith("/sys/fs/cgroup"):
                        p.rmdir()
                    else:
                        shutil.rmtree(p, ignore_errors=True)
                else:
                    p.unlink()
            except OSError:
                pass


@pytest.fixture(scope="module")
def listener():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield sock
    sock.close()


@pytest.fixture(scope="module")
def batches(tmp_path_factory, listener):
    done: dict[str, BatchRun] = {}

    def get(batch: str) -> BatchRun:
        if batch not in done:
            done[batch] = run_batch(batch, tmp_path_factory.mktemp(f"redteam-{batch}"), listener)
        return done[batch]
    return get


def bound(expr: str, run: BatchRun) -> float:
    if expr.startswith("control:"):
        return run.graded[expr.split(":", 1)[1]].score.score
    return float(eval(expr, {"__builtins__": {}}, {"full": FULL, "LNB": LNB, "LNL": LNL, "BNF": BNF,
                                                   "BUILT": BUILT}))


def _summary(run: BatchRun, name: str) -> str:
    lines = [f"{o['check_id']} [{o['status']}] {o['message'][:160]}"
             for o in run.outcomes.get(name, []) if o["status"] != "passed"]
    return "\n".join(lines[:30])


# ----------------------------------------------------------------------------- per attack

def _params():
    for attack in ATTACKS:
        marks = [pytest.mark.xfail(strict=True, reason=attack.xfail)] if attack.xfail else []
        yield pytest.param(attack, id=f"{attack.category}-{attack.name}", marks=marks)


@pytest.mark.parametrize("attack", list(_params()))
def test_attack(attack: Attack, batches):
    gaps = missing_layers(attack)
    if gaps:
        pytest.skip(f"isolation layer(s) {', '.join(gaps)} missing on this host: the attack would "
                    "really succeed, so it is not run")
    run = batches(batch_of(attack))
    assert run.crash is None, f"the batch stopped: {run.crash}"
    assert attack.name in run.graded, f"no result for {attack.name}"
    found = [o["message"] for o in run.outcomes[attack.name] if "REDTEAM-FOUND" in o["message"]]
    assert not found, f"the attack got through: {found[0]}"
    score = run.graded[attack.name].score.score
    high = bound(attack.high, run)
    low = bound(attack.low if attack.low is not None else attack.high, run)
    tampering = [o for o in run.outcomes[attack.name] if "reaches into PyTorch's dispatcher" in o["message"]]
    if tampering:               # caught reaching into the dispatcher or native memory: may lose all
        low = 0.0
        assert all(o["status"] == "forbidden" for o in tampering)
    assert low - 1e-6 <= score <= high + 1e-6, (
        f"{attack.name} scored {score:g}, expected between {low:g} and {high:g}:\n{_summary(run, attack.name)}")
    assert not run.leftovers.get(attack.name), f"left outside its scratch: {run.leftovers[attack.name]}"
    assert not run.survivors.get(attack.name), f"processes left running: {run.survivors[attack.name]}"
    if batch_of(attack) not in BATCHES:         # a batch of its own: the batch-level checks here
        for name in HONEST:
            assert run.graded[name].score.score == FULL, f"{name}:\n{_summary(run, name)}"
        assert run.survivors == {} and run.out_extra == [] and run.out_missing == []
        assert [(str(s), run.owner.get(s)) for s in run.scratch_uid if s.exists()] == []


def test_at_least_30_attacks_in_every_category():
    attacks = [a for a in ATTACKS if a.category != "control"]
    assert len(attacks) >= 30
    for category in ("read", "verdict", "dos", "escape", "poison"):
        assert sum(a.category == category for a in attacks) >= 3, category
    for attack in ATTACKS:
        if attack.high.startswith("control:"):
            assert attack.high.split(":", 1)[1] in BY_NAME


# ----------------------------------------------------------------------------- per batch

@pytest.mark.parametrize("batch", BATCHES)
def test_batch_grades_every_submission(batch, batches):
    run = batches(batch)
    assert run.crash is None, f"the batch stopped: {run.crash}"
    assert sorted(run.graded) == sorted(run.names)
    for name, g in run.graded.items():
        assert g.score.max_score == FULL, name


@pytest.mark.parametrize("batch", BATCHES)
def test_honest_submissions_after_the_attacks_get_full_marks(batch, batches):
    run = batches(batch)
    for name in HONEST:
        assert run.graded[name].score.score == FULL, f"{name}:\n{_summary(run, name)}"
        assert not run.leftovers.get(name), f"{name} left: {run.leftovers[name]}"


@pytest.mark.parametrize("batch", BATCHES)
def test_no_worker_process_survives(batch, batches):
    run = batches(batch)
    assert run.survivors == {}
    if "uid" not in ACTIVE:
        pytest.skip("no per-worker uid on this host: only processes carrying a token were looked for")
    assert run.uids(), "no worker uid was recorded"


@pytest.mark.parametrize("batch", BATCHES)
def test_every_worker_scratch_folder_is_removed(batch, batches):
    run = batches(batch)
    assert run.scratch_uid
    assert [(str(s), run.owner.get(s)) for s in run.scratch_uid if s.exists()] == []


@pytest.mark.parametrize("batch", BATCHES)
def test_output_folder_holds_only_the_graders_files(batch, batches):
    run = batches(batch)
    assert run.out_extra == [] and run.out_missing == []
    assert run.out_forged == [], "a worker wrote into the output folder"


@pytest.mark.parametrize("batch", BATCHES)
def test_repository_gains_nothing_from_a_worker(batch, batches):
    run = batches(batch)
    # Other work in the same checkout may change `git status` meanwhile (run.repo_other);
    # what a worker wrote is owned by its uid or named after its token.
    assert run.repo_new == []
    if "mount-namespace" not in ACTIVE:
        pytest.skip("no mount namespace: the repository is only protected by file permissions")


def test_nothing_reached_a_port_on_the_grader_machine(batches):
    if "net-namespace" not in ACTIVE:
        pytest.skip("no network namespace on this host: the network attack is not run")
    run = batches("escape")
    assert "network_access" in run.graded
    assert run.listener_hits == 0


def _scan_in_two_threads(seconds: float) -> list[str]:
    class Finalized:                 # garbage whose finalizer runs Python code, like the grader's
        def __init__(self):
            self.cycle = self

        def __del__(self):
            sum(range(20))

    errors = []
    deadline = time.monotonic() + seconds

    def scan():
        while not errors and time.monotonic() < deadline:
            [Finalized() for _ in range(50)]
            try:             # the parsers themselves: static_findings would hide a SystemError
                forbidden.scan(REFERENCE, TOPIC.forbidden)
                forbidden.top_level_references(REFERENCE)
            except Exception as exc:          # noqa: BLE001
                errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=scan) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_static_scan_in_two_threads_at_once():
    """CPython 3.11's parser is not thread-safe (gh-106905); the grader's jobs parse one at a
    time. Without that lock this fails within a fraction of a second on CPython 3.11.7."""
    assert _scan_in_two_threads(3.0) == []


SUBMISSION = Submission(name="reference", files={TOPIC.filename: REFERENCE})
