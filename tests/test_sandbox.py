"""sandbox.py: real worker processes, their limits, and killing them.

Each test drives a real worker with the ops of worker.Executor ("write",
"import", "call"), the way the grader does: `Worker.request(wire.dumps(...))`.
The tests hold with whatever isolation layers this host offers (see
autograder/isolation.py); the few that need one layer in particular say so.
"""
import os
import subprocess
import tempfile
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from autograder import isolation, launch, sandbox, wire
from autograder.sandbox import Limits, Worker, WorkerDied, WorkerPool, WorkerTimeout

BOOT_TIMEOUT = 120          # the first request waits for `import torch` in the worker
NAMESPACES = isolation.detect().namespaces


def ask(worker: Worker, message: dict, timeout: float = BOOT_TIMEOUT):
    return wire.loads(worker.request(wire.dumps(message), timeout))


def load_module(worker: Worker, source: str, name: str = "student") -> dict:
    """Write `source` as name.py into the worker and import it; the import's reply."""
    assert ask(worker, {"op": "write", "files": {f"{name}.py": textwrap.dedent(source)}}) == {"value": None}
    reply = ask(worker, {"op": "import", "module": name})
    assert "error" not in reply, reply
    return reply


def call(worker: Worker, function: str, timeout: float, *args, module: str = "student"):
    return ask(worker, {"op": "call", "target": {"module": module, "path": [["attr", function]]},
                        "args": list(args), "kwargs": {}}, timeout)


def proc_stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


def group_members(pgid: int) -> dict[int, str]:
    """pid -> state of every process whose process group is pgid."""
    members = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = proc_stat(int(entry.name))
            if fields and int(fields[2]) == pgid:
                members[int(entry.name)] = fields[0]
    return members


def processes_with(token: str) -> dict[int, str]:
    """pid -> state of every process whose command line contains token."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            fields = proc_stat(int(entry.name))
            if token in cmdline and fields:
                found[int(entry.name)] = fields[0]
    return found


def eventually(predicate, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def nothing_runs(states: dict[int, str]) -> bool:
    """Dead processes that nobody reaped yet (zombies) run no code."""
    return all(state in ("Z", "X") for state in states.values())


@pytest.fixture
def worker():
    """A fresh worker for a test that may kill it."""
    w = Worker(Limits())
    try:
        yield w
    finally:
        w.close()


@pytest.fixture
def basic_worker(monkeypatch):
    """A worker with the always-present layers only (process group, rlimits): no namespaces."""
    monkeypatch.setattr(isolation, "detect", lambda: isolation.Layers())
    w = Worker(Limits())
    try:
        yield w
    finally:
        w.close()


@pytest.fixture(scope="module")
def shared():
    """One worker for the tests that leave it running (each boot costs `import torch`)."""
    w = Worker(Limits())
    try:
        yield w
    finally:
        w.close()


# ----------------------------------------------------------------------------- talking

def test_a_fresh_worker_answers_hello(shared):
    reply = ask(shared, {"op": "hello"})
    assert isinstance(reply["value"]["pid"], int)
    assert isinstance(reply["value"]["torch"], str) and reply["value"]["torch"]
    assert reply["value"]["cuda"] in (True, False)
    if not NAMESPACES:                       # in a PID namespace the worker sees itself as pid 1
        assert reply["value"]["pid"] == shared.pid


def test_an_unknown_op_is_an_error_reply_and_the_worker_stays(shared):
    reply = ask(shared, {"op": "unpickle"})
    assert reply["error"]["type"] == "ProtocolError"
    assert "torch" in ask(shared, {"op": "hello"})["value"]


def test_student_exception_comes_back_as_a_plain_error(shared):
    load_module(shared, name="raiser", source="""
        def f(x):
            raise ValueError("bad input " + str(x))
    """)
    reply = call(shared, "f", 10, 3, module="raiser")
    assert reply["error"]["type"] == "ValueError"
    assert reply["error"]["message"] == "bad input 3"
    assert reply["error"]["file"] == "raiser.py" and reply["error"]["line"] == 3


def test_sys_exit_in_student_code_is_caught_and_the_worker_stays(shared):
    load_module(shared, name="quitter", source="""
        import sys

        def quit():
            sys.exit(4)
    """)
    reply = call(shared, "quit", 10, module="quitter")
    assert reply["error"]["type"] == "SystemExit"
    assert "torch" in ask(shared, {"op": "hello"})["value"]


def test_worker_environment_is_clean(shared):
    """Nothing of the grader's environment (credentials, PYTHONPATH) reaches student code."""
    load_module(shared, name="envprobe", source="""
        import os, sys

        def env():
            return {"keys": sorted(os.environ), "cwd": os.getcwd(),
                    "flags_isolated": sys.flags.isolated}
    """)
    info = call(shared, "env", 10, module="envprobe")["value"]
    assert set(info["keys"]) <= {"PATH", "HOME", "LANG", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                                 "PYTHONDONTWRITEBYTECODE", "PYTHONHASHSEED", "CUDA_VISIBLE_DEVICES",
                                 "LD_LIBRARY_PATH", "PWD", "SHLVL", "_", "LC_CTYPE", "TMPDIR",
                                 "TORCHINDUCTOR_CACHE_DIR"}
    assert Path(info["cwd"]).resolve() == shared.scratch.resolve()
    assert info["flags_isolated"] == 1


@pytest.mark.skipif(not NAMESPACES, reason="needs the mount-namespace layer (root, unshare)")
def test_with_namespaces_student_code_sees_neither_the_grader_package_nor_the_solutions(shared):
    solution = Path(__file__).resolve().parents[1] / "solutions" / "03_normalization" / "normalization.py"
    load_module(shared, name="peek", source=f"""
        def peek():
            seen = []
            try:
                import autograder.hidden.normalization
                seen.append("autograder")
            except ImportError:
                pass
            try:
                open({str(solution)!r}).read()
                seen.append("solution")
            except OSError:
                pass
            return seen
    """)
    assert call(shared, "peek", 30, module="peek")["value"] == []


# ----------------------------------------------------------------------------- limits and deaths

def test_request_past_its_timeout_raises_worker_timeout_and_kills_the_process_group(basic_worker):
    load_module(basic_worker, """
        import time

        def slow():
            time.sleep(60)
    """)
    pid = basic_worker.pid
    started = time.monotonic()
    with pytest.raises(WorkerTimeout):
        call(basic_worker, "slow", 0.5)
    assert time.monotonic() - started < 10
    assert basic_worker.dead
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)
    with pytest.raises(WorkerDied):                 # a dead worker refuses further requests
        ask(basic_worker, {"op": "hello"})


def test_worker_timeout_is_a_kind_of_worker_died():
    assert issubclass(WorkerTimeout, WorkerDied)


def test_os_exit_in_the_student_module_is_worker_died_naming_the_exit_status(worker):
    ask(worker, {"op": "write", "files": {"student.py": "import os\nos._exit(3)\n"}})
    with pytest.raises(WorkerDied) as info:
        ask(worker, {"op": "import", "module": "student"})
    assert not isinstance(info.value, WorkerTimeout)
    assert "status 3" in str(info.value)
    assert worker.dead


def test_a_segfault_names_the_signal(worker):
    load_module(worker, """
        import ctypes

        def crash():
            return ctypes.string_at(0)
    """)
    with pytest.raises(WorkerDied, match="SIGSEGV"):
        call(worker, "crash", 30)


def test_child_process_of_the_student_is_killed_with_the_worker(worker):
    token = f"{1000 + uuid.uuid4().int % 1000}.{uuid.uuid4().int % 10 ** 6}"
    load_module(worker, f"""
        import subprocess
        import time

        CHILDREN = []

        def spawn():
            CHILDREN.append(subprocess.Popen(["sleep", "{token}"]))
            return CHILDREN[-1].pid

        def hang():
            time.sleep(60)
    """)
    call(worker, "spawn", 10)
    assert eventually(lambda: any(s not in ("Z", "X") for s in processes_with(f"sleep {token}").values()))
    with pytest.raises(WorkerTimeout):
        call(worker, "hang", 0.5)
    assert eventually(lambda: nothing_runs(processes_with(f"sleep {token}"))), \
        processes_with(f"sleep {token}")
    # whatever the isolation layers, nothing of the worker's process group runs on
    assert eventually(lambda: nothing_runs(group_members(worker.pid))), group_members(worker.pid)


def test_printing_50_mb_stays_out_of_the_protocol_and_the_log_is_bounded(worker):
    load_module(worker, """
        import sys

        def shout():
            chunk = "x" * (1 << 20)
            for _ in range(50):
                print(chunk)
            sys.stdout.flush()
            return "done"
    """)
    limit = worker.limits.output_bytes
    try:
        reply = call(worker, "shout", 60)
    except WorkerDied as exc:                       # killed for writing past RLIMIT_FSIZE
        assert "SIGXFSZ" in str(exc) or "status" in str(exc)
    else:                                           # or the write failed inside the worker
        assert reply.get("value") != "done"
        assert reply["error"]["type"] == "OSError" or "File too large" in reply["error"]["message"]
        assert "torch" in ask(worker, {"op": "hello"})["value"]     # the protocol is intact
    log = worker.scratch / "output.log"
    assert 0 < log.stat().st_size <= limit
    assert worker.output_log(limit=100) == "x" * 100


def test_allocating_20_gb_is_a_memory_error_in_the_worker_not_a_grader_crash(shared):
    load_module(shared, name="hog", source="""
        import torch

        def hog_python():
            return len(bytearray(20 << 30))

        def hog_torch():
            return torch.empty(20 << 30, dtype=torch.uint8).numel()
    """)
    reply = call(shared, "hog_python", 60, module="hog")
    assert reply["error"]["type"] == "MemoryError"
    assert "MemoryError" in reply["error"]["types"]
    reply = call(shared, "hog_torch", 60, module="hog")
    assert "error" in reply
    assert "torch" in ask(shared, {"op": "hello"})["value"]            # still serving


def test_after_configure_the_first_meta_device_operation_is_already_warm(shared):
    # no other test runs anything on the meta device in the shared worker
    assert ask(shared, {"op": "configure", "threads": 1})["value"] == {"kernels": 0, "python": 0}
    load_module(shared, name="metaprobe", source="""
        import sys
        import torch

        def first_meta_op():
            before = len(sys.modules)
            x = torch.ones(4, 3, device="meta")
            (x - x.mean(0)) / torch.sqrt(x.var(0) + 1e-5)
            return len(sys.modules) - before
    """)
    assert call(shared, "first_meta_op", 60, module="metaprobe")["value"] < 50


# ----------------------------------------------------------------------------- lifecycle

def test_close_removes_the_scratch_folder_and_the_process():
    w = Worker(Limits())
    scratch, pid = w.scratch, w.pid
    assert (scratch / "runtime" / "worker.py").exists()
    assert (scratch / "runtime" / "wire.py").exists()
    w.close()
    assert w.dead
    assert not scratch.exists()
    assert proc_stat(pid) is None


def test_runtime_folder_holds_only_the_worker_runtime(shared):
    names = sorted(p.name for p in (shared.scratch / "runtime").iterdir() if p.name != "__pycache__")
    assert names == sorted(sandbox.RUNTIME_FILES)
    assert "reference.py" not in names and "grader.py" not in names


def test_worker_pool_hands_out_a_different_process_each_time():
    pool = WorkerPool(Limits(), spare=1)
    taken = []
    try:
        taken = [pool.take(), pool.take()]
        assert taken[0] is not taken[1]
        assert taken[0].pid != taken[1].pid
        assert taken[0].scratch != taken[1].scratch
        assert "torch" in ask(taken[0], {"op": "hello"})["value"]     # a working worker
    finally:
        for w in taken:
            w.close()
        pool.close()


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_sweeping_leftovers_spares_a_live_grader_and_removes_a_dead_ones(tmp_path, monkeypatch):
    """Two graders side by side: one's start-up sweep must not take the other's fresh folders."""
    monkeypatch.setattr(isolation, "SANDBOX_BASE", tmp_path / "sandbox")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    for d in ("sandbox", "tmp"):
        (tmp_path / d).mkdir()
    live_scratch = isolation.prepare_scratch(None)
    dead = _dead_pid()
    dead_dirs = [tmp_path / "sandbox" / f"w-{dead}-abc", tmp_path / "tmp" / f"ag_reference-{dead}-xyz"]
    live_dirs = [live_scratch, tmp_path / "sandbox" / f"w-{os.getpid()}-abc",
                 tmp_path / "tmp" / "ag-reference-oldlayout", tmp_path / "tmp" / f"unrelated-{dead}-x"]
    for d in dead_dirs + live_dirs:
        d.mkdir(exist_ok=True)
        (d / "file").write_text("x")
    isolation.sweep_leftovers()
    assert [d for d in dead_dirs if d.exists()] == []
    assert [d for d in live_dirs if not d.exists()] == []


@pytest.mark.skipif(not isolation.detect().cgroup, reason="needs writable cgroup v1 controllers")
def test_a_second_pool_does_not_remove_the_cgroup_of_a_worker_being_started():
    mine = isolation.CGroup(isolation.owned_prefix("w") + "starting", 1 << 30)
    orphan = isolation.CGroup(f"w-{_dead_pid()}-orphan", 1 << 30)
    try:
        pool = WorkerPool(Limits(), spare=1)          # sweeps at start
        pool.close()
        assert all(d.is_dir() for d in mine.dirs), "a live grader's empty cgroup was swept"
        assert not any(d.exists() for d in orphan.dirs), "a dead grader's cgroup was left"
    finally:
        mine.close()
        orphan.close()


# ----------------------------------------------------------------------------- the zygote

ZYGOTE = launch.use_zygote()


@pytest.mark.skipif(not ZYGOTE, reason="workers start by fork+exec on this host")
def test_a_forked_worker_holds_no_descriptor_of_the_zygote_or_the_grader(worker):
    load_module(worker, name="fds", source="""
        import os

        def fds():
            out = {}
            for name in os.listdir("/proc/self/fd"):
                try:
                    out[name] = os.readlink("/proc/self/fd/" + name)
                except OSError:
                    pass
            return out
    """)
    targets = list(call(worker, "fds", 10, module="fds")["value"].values())
    assert not [t for t in targets if t.startswith("socket:")], targets      # no control socket
    assert len([t for t in targets if t.startswith("pipe:")]) == 2, targets   # its own two pipes


@pytest.mark.skipif(not (ZYGOTE and isolation.detect().uid), reason="needs the uid and namespace layers")
def test_a_forked_worker_is_unprivileged_and_alone_in_its_namespaces(worker):
    load_module(worker, name="who", source="""
        import os

        def who():
            status = dict(line.split(":", 1) for line in open("/proc/self/status"))
            return {"uid": os.getuid(), "pid": os.getpid(),
                    "caps": status["CapEff"].strip(), "nnp": status["NoNewPrivs"].strip(),
                    "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit())}
    """)
    info = call(worker, "who", 10, module="who")["value"]
    assert info["uid"] >= isolation.FIRST_UID
    assert info["pid"] == 1 and info["pids"] == [1]        # the zygote and grader are out of sight
    assert info["caps"] == "0000000000000000" and info["nnp"] == "1"


@pytest.mark.skipif(not ZYGOTE, reason="workers start by fork+exec on this host")
def test_forked_workers_do_not_share_the_zygotes_random_sequence():
    source = "import random\n\ndef draw():\n    return random.random()\n"
    draws = []
    for _ in range(2):
        w = Worker(Limits())
        try:
            load_module(w, name="rnd", source=source)
            draws.append(call(w, "draw", 10, module="rnd")["value"])
        finally:
            w.close()
    assert draws[0] != draws[1]


@pytest.mark.skipif(not (ZYGOTE and NAMESPACES), reason="needs the zygote and the mount namespace")
def test_a_worker_whose_sandbox_cannot_be_set_up_never_runs(monkeypatch):
    """A required mount that fails stops the worker before any student code: no grading without
    the isolation the grader announced."""
    monkeypatch.setattr(isolation, "mount_plan",
                        lambda scratch, hide, blank_files=(): [["private", True], ["tmpfs", "/no/such/folder", "size=1m", True]])
    w = Worker(Limits())
    try:
        with pytest.raises(WorkerDied) as info:
            ask(w, {"op": "hello"}, timeout=30)
        assert "could not be set up" in str(info.value)
    finally:
        w.close()


def test_the_fork_exec_launcher_still_starts_an_isolated_worker(monkeypatch):
    monkeypatch.setenv("AG_ZYGOTE", "0")
    w = Worker(Limits())
    try:
        assert isinstance(w.proc, subprocess.Popen)
        load_module(w, name="uid", source="import os\n\ndef uid():\n    return [os.getuid(), os.getpid()]\n")
        uid, pid = call(w, "uid", 10, module="uid")["value"]
        if isolation.detect().uid:
            assert uid >= isolation.FIRST_UID and pid == 1
    finally:
        w.close()


@pytest.mark.skipif(not ZYGOTE, reason="workers start by fork+exec on this host")
def test_the_zygote_exits_when_the_grader_closes_it():
    zygote = launch.Zygote(sandbox._base_env(Limits()))
    w_pid = zygote.proc.pid
    zygote.close()
    assert zygote.proc.returncode is not None and proc_stat(w_pid) is None
    assert not zygote.folder.exists()


def _processes_of_uid(uid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid and (proc_stat(int(entry.name)) or ["Z"])[0] not in "ZX":
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


@pytest.mark.skipif(not isolation.detect().uid, reason="needs the uid layer to find the worker's processes")
def test_a_worker_that_leaves_its_process_group_still_dies_when_killed(worker):
    uid = worker.scratch.stat().st_uid
    load_module(worker, name="leave", source="""
        import os
        os.setsid()                      # out of the group the grader kills

        def spin():
            while True:
                pass
    """)
    assert _processes_of_uid(uid)
    with pytest.raises(WorkerTimeout):
        call(worker, "spin", 1, module="leave")
    assert eventually(lambda: not _processes_of_uid(uid)), _processes_of_uid(uid)


def test_sixty_workers_started_four_at_a_time_all_answer():
    """Workers asked for from several threads at once (a batch's jobs and its spare workers)
    each get their own process and answer: the zygote's replies go to the right caller, and
    no start-up race leaves a worker that never answers."""
    import concurrent.futures

    def start_and_ask(_):
        w = Worker(Limits())
        try:
            return "torch" in ask(w, {"op": "hello"}, timeout=60)["value"]
        except WorkerDied as exc:
            return str(exc)
        finally:
            w.close()

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(start_and_ask, range(60)))
    assert [a for a in answers if a is not True] == []
