"""Beyond one machine: a batch cut into shards and merged, and a roster for the gradebook.

The bundled examples are graded once, and again in 3 shards (as 3 machines of a
Kubernetes Indexed Job or a Slurm array would: `grade --shard K/3`); `merge` of the
shards' folders must give the same gradebook, the same tables and the same results.
The roster maps submission names to the identities a learning platform imports.
"""
from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.batch import grade_batch, merge, shard_of
from autograder.config import Config
from autograder.gradebook import IDENTITY, RosterError, read_roster
from autograder.topics import ROOT

EXAMPLES = ROOT / "examples" / "submissions"
CONFIG = Config(devices=("cpu",), topics=("dropout",), jobs=2)


def table(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def results(out: Path) -> dict[str, tuple]:
    """What each submission's results.json tells the student: score, output, every case."""
    found = {}
    for path in sorted(out.glob("*/results.json")):
        data = json.loads(path.read_text())
        found[path.parent.name] = (data["score"], data["output"], [
            (t["name"], t["score"], t["max_score"], t["status"], t["output"]) for t in data["tests"]])
    return found


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("shards")
    one = grade_batch([EXAMPLES], root / "one", CONFIG, regrade=True)
    shards = [grade_batch([EXAMPLES], root / f"shard{k}", CONFIG, regrade=True, shard=(k, 3))
              for k in (1, 2, 3)]
    merged = merge([root / f"shard{k}" for k in (1, 2, 3)], root / "merged")
    return root, one, shards, merged


@pytest.mark.slow
def test_three_shards_merge_to_the_same_gradebook_as_one_run(runs):
    root, one, shards, merged = runs
    assert sum(len(s) for s in shards) == len(one) == len(merged) == 8
    names = [{g.name for g in s} for s in shards]
    assert set().union(*names) == {g.name for g in one}
    assert sum(len(n) for n in names) == 8                     # each submission in one shard only
    for table_name in ("gradebook.csv", "scores.csv"):
        assert (root / "merged" / table_name).read_text() == (root / "one" / table_name).read_text()
    assert results(root / "merged") == results(root / "one")


def test_the_split_is_stable_and_uses_every_shard():
    names = [f"student{i:03d}" for i in range(300)]
    split = [shard_of(n, 3) for n in names]
    assert split == [shard_of(n, 3) for n in names]            # the same on every machine
    assert {1, 2, 3} == set(split) and min(split.count(k) for k in (1, 2, 3)) > 60


def test_merge_refuses_a_submission_graded_in_two_shards(tmp_path):
    for shard in ("a", "b"):
        folder = tmp_path / shard / "bob"
        folder.mkdir(parents=True)
        (folder / "resume.json").write_text(json.dumps({"fingerprint": "x", "outcomes": []}))
    with pytest.raises(ValueError, match="bob was graded in two shards"):
        merge([tmp_path / "a", tmp_path / "b"], tmp_path / "merged")


def test_the_cli_grades_a_shard_and_merges(tmp_path):
    def cli(*args):
        return subprocess.run([sys.executable, "-m", "autograder", *map(str, args)], cwd=ROOT,
                              capture_output=True, text=True, timeout=300)
    subs = tmp_path / "subs"
    for name in ("ann", "ben"):
        (subs / name).mkdir(parents=True)
        (subs / name / "dropout.py").write_text("def dropout(x:\n")   # quick to grade
    outs = []
    for k in (1, 2):
        out = tmp_path / f"out{k}"
        done = cli("grade", subs, "--out", out, "--shard", f"{k}/2", "--topic", "dropout", "--device", "cpu")
        assert done.returncode == 0, done.stderr
        assert f"shard {k} of 2" in done.stdout
        outs.append(out)
    done = cli("merge", *outs, "--into", tmp_path / "all")
    assert done.returncode == 0, done.stderr
    assert sorted(r["submission"] for r in table(tmp_path / "all" / "gradebook.csv")) == ["ann", "ben"]
    bad = cli("grade", subs, "--out", tmp_path / "x", "--shard", "3/2")
    assert bad.returncode == 2 and "K must be between 1 and N" in bad.stderr


# ----------------------------------------------------------------------------- roster

def write_roster(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join(["submission,student_id,email,name,section", *rows]) + "\n")
    return path


def test_a_roster_gives_the_gradebook_the_platforms_identity_columns(tmp_path, runs):
    root, one, _, _ = runs
    roster = read_roster(write_roster(tmp_path / "roster.csv", [
        "alice,s001,alice@uni.example,Alice A.,A1",
        "bob,s002,bob@uni.example,Bob B.,A1",
        "zed,s099,zed@uni.example,Zed Z.,B2",            # no submission
    ]))
    merge([root / "one"], tmp_path / "book", roster)
    rows = {r["Student"]: r for r in table(tmp_path / "book" / "gradebook.csv")}
    header = list(next(iter(rows.values())))
    assert header[:len(IDENTITY)] == list(IDENTITY) and "score" in header and "dropout" in header
    assert "percent" not in header and "notes" not in header and "max_score" not in header
    assert rows["Alice A."]["SIS User ID"] == "s001" and rows["Alice A."]["Email"] == "alice@uni.example"
    alice = next(g for g in one if g.name == "alice")
    assert float(rows["Alice A."]["score"]) == alice.score.score > 0
    assert rows["Zed Z."]["score"] == ""                       # no submission: no grade, not a zero
    assert rows["carol"]["SIS User ID"] == ""                  # no roster row: its own name
    scores = {r["submission"]: r for r in table(tmp_path / "book" / "scores.csv")}
    assert scores["zed"]["notes"] == "no submission"


def test_a_submission_missing_from_the_roster_is_told_in_its_results(tmp_path):
    sub = tmp_path / "subs" / "nobody"
    sub.mkdir(parents=True)
    (sub / "dropout.py").write_text("def dropout(x:\n")
    roster = read_roster(write_roster(tmp_path / "roster.csv", ["alice,s001,a@x,Alice,A"]))
    grade_batch([tmp_path / "subs"], tmp_path / "out", CONFIG, regrade=True, roster=roster)
    data = json.loads((tmp_path / "out" / "nobody" / "results.json").read_text())
    assert "matches no row of the roster" in data["output"]


@pytest.mark.parametrize("text,why", [
    ("student_id,email\ns1,a@x\n", "no 'submission' column"),
    ("submission,student_id\n,s1\n", "line 2: the submission column is empty"),
    ("submission,student_id\nann,s1\nann,s2\n", "submission 'ann' appears twice"),
])
def test_a_roster_that_cannot_be_used_says_why(tmp_path, text, why):
    path = tmp_path / "roster.csv"
    path.write_text(text)
    with pytest.raises(RosterError, match=why):
        read_roster(path)
