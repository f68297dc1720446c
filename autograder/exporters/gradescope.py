"""Gradescope: results.json (the autograder specification's schema) and the autograder
zip that Gradescope runs (setup.sh, run_autograder, the grader and its references)."""
from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

from ..i18n import _
from ..outcome import Outcome
from ..report import case_text
from ..scoring import Score


# Who sees a case on Gradescope: public checks at once (students run them anyway),
# hidden checks once the due date has passed. Top-level output stays visible.
PUBLIC_VISIBILITY = "visible"
HIDDEN_VISIBILITY = "after_due_date"
VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")


def results_json(outcomes: list[Outcome], total: Score, seconds: float, notes: list[str],
                 base_seed: int, hidden_visibility: str = HIDDEN_VISIBILITY) -> dict:
    """Gradescope's results.json. A device absent on this machine is one line of the
    output, not a 0/0 row per check."""
    tests = []
    skipped: dict[str, int] = {}
    for o in outcomes:
        if o.status == "skipped":
            skipped[o.device] = skipped.get(o.device, 0) + 1
            continue
        tests.append({
            "name": f"{o.title} [{o.device}]",
            "number": str(len(tests) + 1),
            "score": round(o.points, 6),
            "max_score": round(o.max_points, 6),
            "status": "passed" if o.status == "passed" else "failed",
            "output": case_text(o, base_seed, for_instructor=False) or _("Passed."),   # students read it
            "visibility": PUBLIC_VISIBILITY if o.public else hidden_visibility,
            "tags": [o.topic],
            "extra_data": {"check": o.check_id, "device": o.device, "outcome": o.status,
                           "public": o.public},
        })
    output = [_("Score {score:g} / {max_score:g}. Base seed {seed}.").format(
        score=total.score, max_score=total.max_score, seed=base_seed)]
    output += ["- " + _("{device}: not on the grading machine; its {n} case(s) were skipped and "
                        "count neither for nor against you.").format(device=device.upper(), n=n)
               for device, n in sorted(skipped.items())]
    output += [f"- {n}" for n in notes]
    return {
        "score": round(total.score, 6),
        "execution_time": int(round(seconds)),
        "output": "\n".join(output),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
        "extra_data": {"max_score": round(total.max_score, 6),
                       "topics": {t.topic: [t.score, t.max_score] for t in total.topics},
                       "skipped_devices": skipped},
    }


# ----------------------------------------------------------------------------- the autograder zip

SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope runs this once, while it builds the autograder's image (choose the
# Ubuntu 24.04 base image: its Python is 3.12). It installs PyTorch's CPU build,
# numpy and this grader into /autograder/venv.
set -euo pipefail
apt-get update
apt-get install -y --no-install-recommends python3 python3-venv python3-pip util-linux
python3 -m venv /autograder/venv
/autograder/venv/bin/pip install --no-cache-dir --index-url https://download.pytorch.org/whl/cpu torch==2.13.0
/autograder/venv/bin/pip install --no-cache-dir "numpy>=1.26" "nbformat>=5.9" "ipython>=8"
/autograder/venv/bin/pip install --no-cache-dir --no-deps /autograder/source
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this for every submission: grade the files in /autograder/submission
# and write /autograder/results/results.json. AG_PYTHON names another interpreter.
set -u
PY="${{AG_PYTHON:-/autograder/venv/bin/python}}"
cd /autograder/source
exec "$PY" -m autograder gradescope-run /autograder/submission \\
    --results /autograder/results/results.json --hidden-visibility {visibility}{course}
"""

# With a course file: its settings, and Gradescope's submission time for its late policy.
COURSE_ARGS = " \\\n    --course course.toml --metadata /autograder/submission_metadata.json"
COURSE_FILE = "course.toml"

# What the grader needs at /autograder/source: the engine, the checks, the references.
SHIPPED = ("autograder", "solutions", "pyproject.toml")


def autograder_zip(out: Path, root: Path, hidden_visibility: str = HIDDEN_VISIBILITY,
                   course: Path | None = None) -> list[str]:
    """Write Gradescope's autograder zip; returns the names it holds. course: a course.toml
    to ship (as /autograder/source/course.toml) and grade with."""
    if hidden_visibility not in VISIBILITIES:
        raise ValueError(f"visibility must be one of {', '.join(VISIBILITIES)}")
    names = []
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        def add_text(name: str, text: str, mode: int = 0o644) -> None:
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text)
            names.append(name)
        add_text("setup.sh", SETUP_SH, 0o755)
        add_text("run_autograder", RUN_AUTOGRADER.format(
            visibility=hidden_visibility, course=COURSE_ARGS if course is not None else ""), 0o755)
        if course is not None:
            add_text(COURSE_FILE, Path(course).read_text(encoding="utf-8"))
        for top in SHIPPED:
            path = root / top
            files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
            for file in files:
                if "__pycache__" in file.parts or file.suffix == ".pyc":
                    continue
                add_text(file.relative_to(root).as_posix(), file.read_text(encoding="utf-8"))
        # The reference's outputs for the hidden checks (reference.DiskCache), computed here once
        # instead of in every container: seconds of each run (the capstone's reference trains).
        for file in _reference_cache(root):
            info = zipfile.ZipInfo(file.relative_to(root).as_posix(), date_time=(2026, 1, 1, 0, 0, 0))
            info.external_attr = (0o100000 | 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, file.read_bytes())
            names.append(info.filename)
    return names


def unpack(zip_path: Path, home: Path) -> None:
    """Lay the zip out as Gradescope does: its files in home/source (modes kept) and
    run_autograder at home/run_autograder (for tests and benchmarks that run it)."""
    with zipfile.ZipFile(zip_path) as archive:
        for info in archive.infolist():
            target = home / "source" / info.filename
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.read(info))
            target.chmod((info.external_attr >> 16) & 0o777 or 0o644)
    shutil.copy(home / "source" / "run_autograder", home / "run_autograder")


def _reference_cache(root: Path) -> list[Path]:
    from ..config import Config
    from ..plans import hidden_plan
    from ..reference import fill_cache
    return fill_cache(root / "build" / "reference-cache", hidden_plan(), Config.base_seed, root)
