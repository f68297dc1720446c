"""Red-team attacks through the nbgrader and otter-grader paths (docs/SECURITY.md, "nbgrader and
otter-grader").

    python tools/platform_attacks.py [WORK_DIR]

Each attack of tests/redteam/attacks.py named below becomes a student notebook: the
reference solution in the solution cells and the attack in a cell the student added
(the red-team preamble, the snippet, the postamble that spoils every output once the
attack found anything). It is then graded three ways:

- kernel: as nbgrader's and otter's own grading would run it, in a process of the grader's
  user with the submission's folder as working directory (a plain `python`, as a Jupyter
  kernel is); what the attack reports finding is listed. Attacks that would really do
  harm unsandboxed (kill every process, rewrite the venv, plant files in /tmp) are not
  run this way.
- nbgrader: `nbgrader autograde` with autograder.on_nbgrader (one course, one student an attack);
- otter: `otter run` with autograder.on_otter.

For the last two an attack is contained when its score lies in its bounds (a reading attack
keeps full marks only if it found nothing) and it left no file or process named after its
token. Prints a Markdown table.
"""
from __future__ import annotations

import ast
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from autograder.cli import main as cli_main                          # noqa: E402
from autograder.exporters import cells                               # noqa: E402
from autograder.topics import TOPICS                                 # noqa: E402
from redteam.attacks import BY_NAME                                  # noqa: E402
import test_redteam as rt                                            # noqa: E402

TOPIC = TOPICS["normalization"]
BIN = Path(sys.executable).parent
ATTACKS = ["read_solutions_absolute", "read_solutions_relative", "read_hidden_by_import",
           "read_output_folder", "read_parent_environ", "read_grader_home", "network_access",
           "write_into_the_repository", "daemon_left_behind", "fake_result_files", "kill_the_grader",
           "modify_the_venv"]
UNSAFE_IN_A_KERNEL = {"fake_result_files", "kill_the_grader", "modify_the_venv", "write_into_the_repository"}
RUN = uuid.uuid4().hex[:8]
ENV = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def values(name: str, out: Path, port: int) -> dict:
    return {"token": f"{RUN}-{name}", "root": str(ROOT), "home": str(Path.home()),
            "home_keep": rt._keep_names(Path.home()), "root_keep": rt._keep_names(ROOT),
            "out": str(out), "name": name, "port": port}


def attack_cell(name: str, out: Path, port: int) -> str:
    """The added cell: everything after the reference in the red-team submission."""
    full = BY_NAME[name].source("", values(name, out, port))
    return full.lstrip("\n")


def with_attack(nb: dict, name: str, out: Path, port: int, id_key: bool) -> dict:
    nb = json.loads(json.dumps(nb))
    units = cells.unit_sources(TOPIC.solution_path().read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        try:                                   # the cell that defines a unit holds that unit
            names = {getattr(n, "name", None) for n in ast.parse("".join(cell["source"])).body}
        except SyntaxError:
            continue
        for unit in names & set(units):
            cell["source"] = units[unit]
    added = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
             "source": attack_cell(name, out, port)}
    if id_key:
        added["id"] = "attack"
    nb["cells"].append(added)
    return nb


def leftovers(token: str) -> list[str]:
    found = []
    for base in (ROOT, Path("/tmp"), Path("/var/tmp"), Path("/dev/shm"), Path.home()):
        try:
            found += [str(p) for p in base.glob(f"*{token}*")]
            found += [str(p) for p in base.glob(f"*/*{token}*")]
        except OSError:
            pass
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if token in cmd and "platform_attacks" not in cmd:
                found.append(f"process {pid}: {cmd[:80]}")
                try:
                    os.kill(int(pid), 9)           # this run's own leftover, by its pid
                except OSError:
                    pass
    return found


def in_a_kernel(name: str, folder: Path, port: int) -> list[str]:
    """What the attack finds when run as nbgrader's or otter's kernel would run it."""
    if name in UNSAFE_IN_A_KERNEL:
        return ["(not run unsandboxed)"]
    code = (TOPIC.solution_path().read_text() + "\n" + attack_cell(name, folder, port)
            + "\nprint('FOUND=' + repr(_RT_FOUND))\n")
    script = folder / f"kernel-{name}.py"
    script.write_text(code)
    log = folder / f"kernel-{name}.log"          # a file, not a pipe: a daemon keeps a pipe open
    with open(log, "w") as fh:
        proc = subprocess.run([sys.executable, str(script)], cwd=folder, stdout=fh, stderr=subprocess.STDOUT,
                              text=True, timeout=120, env=ENV)
    output = log.read_text()
    log.unlink()
    for line in output.splitlines():
        if line.startswith("FOUND="):
            return eval(line[6:], {"__builtins__": {}}) or []       # our own script's output
    return [f"(exit {proc.returncode}: {output.strip().splitlines()[-1:] or ''})"]


def main() -> int:
    work = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="platform-attacks-"))
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    course = work / "course"
    assert cli_main(["export", "nbgrader", str(course), "--topic", "normalization"]) == 0
    subprocess.run(["nbgrader", "generate_assignment", "ps1"], cwd=course, env=ENV, check=True,
                   capture_output=True)
    release = json.loads((course / "release/ps1/normalization.ipynb").read_text())
    masters = work / "otter"
    assert cli_main(["export", "otter", str(masters), "--topic", "normalization"]) == 0
    subprocess.run(["otter", "assign", f"{TOPIC.folder}/normalization.ipynb", "dist"], cwd=masters,
                   env=ENV, check=True, capture_output=True)
    student = json.loads((masters / "dist/student/normalization.ipynb").read_text())
    zip_path = next((masters / "dist/autograder").glob("*.zip"))

    kernel = {}
    for name in ATTACKS:
        folder = course / "submitted" / name / "ps1"
        folder.mkdir(parents=True)
        (folder / "normalization.ipynb").write_text(json.dumps(with_attack(release, name, course, port, True)))
        kernel[name] = in_a_kernel(name, folder, port)
        for path in folder.glob("kernel-*.py"):
            path.unlink()
        kernel[name] += leftovers(f"{RUN}-{name}")
    kernel_reached = _accept_all(listener)
    started = time.time()
    nb_run = subprocess.run(["nbgrader", "autograde", "ps1"], cwd=course, env=ENV, capture_output=True, text=True)
    nb_seconds = time.time() - started
    nb_scores = {}
    for name in ATTACKS:
        path = course / "autograder_results/ps1" / name / "normalization/results.json"
        nb_scores[name] = json.loads(path.read_text())["score"] if path.exists() else None
    nb_left = {name: leftovers(f"{RUN}-{name}") for name in ATTACKS}

    def otter_run(name: str):
        sub = work / "otter-subs" / name / "normalization.ipynb"
        sub.parent.mkdir(parents=True)
        sub.write_text(json.dumps(with_attack(student, name, work / "otter-out" / name, port, False)))
        out = work / "otter-out" / name
        out.mkdir(parents=True)
        proc = subprocess.run(["otter", "run", "-a", str(zip_path), str(sub), "-o", str(out)], env=ENV,
                              capture_output=True, text=True, timeout=600)
        path = out / "results.json"
        if not path.exists():
            return None, proc.returncode
        data = json.loads(path.read_text())
        return next(t["score"] for t in data["tests"] if t["name"] == "normalization"), proc.returncode
    with ThreadPoolExecutor(2) as pool:
        otter_scores = dict(zip(ATTACKS, pool.map(otter_run, ATTACKS)))
    otter_left = {name: leftovers(f"{RUN}-{name}") for name in ATTACKS}
    reached = _accept_all(listener)

    print(f"nbgrader autograde: exit {nb_run.returncode}, {nb_seconds:.0f} s for {len(ATTACKS)} notebooks; "
          f"connections to a port listening on 127.0.0.1: {kernel_reached} from the kernel runs, "
          f"{reached} from the graded ones\n")
    print("| attack | in a kernel (nbgrader's or otter's own path): what it found | nbgrader + GradeWithAutograder "
          "| otter + plugin |")
    print("|---|---|---|---|")
    contained = {"nbgrader": 0, "otter": 0}
    for name in ATTACKS:
        attack = BY_NAME[name]
        low, high = (attack.low or attack.high), attack.high
        ok = {}
        for path, score, left in (("nbgrader", nb_scores[name], nb_left[name]),
                                  ("otter", otter_scores[name][0], otter_left[name])):
            within = score is not None and _bound(low) - 1e-6 <= score <= _bound(high) + 1e-6
            ok[path] = (within and not left, score, left)
            contained[path] += ok[path][0]
        found = "; ".join(kernel[name][:3]) or "nothing"
        print(f"| `{name}` | {found[:160]} | " + " | ".join(
            f"{'contained' if o[0] else 'NOT contained'} ({o[1]:g} / {rt.FULL:g})" if o[1] is not None else
            "no result" for o in (ok["nbgrader"], ok["otter"])) + " |")
    print(f"\ncontained: nbgrader {contained['nbgrader']} / {len(ATTACKS)}, otter {contained['otter']} / {len(ATTACKS)}")
    return 0


def _accept_all(listener: socket.socket) -> int:
    listener.setblocking(False)
    count = 0
    try:
        while True:
            listener.accept()[0].close()
            count += 1
    except BlockingIOError:
        return count


def _bound(expr: str) -> float:
    if expr.startswith("control:"):
        return rt.FULL                       # not used by the attacks above
    return float(eval(expr, {"__builtins__": {}}, {"full": rt.FULL, "LNB": rt.LNB, "LNL": rt.LNL,
                                                   "BNF": rt.BNF, "BUILT": rt.BUILT}))


if __name__ == "__main__":
    sys.exit(main())
