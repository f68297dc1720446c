"""What a batch grades, and what decides whether an earlier result still stands.

A plan is {topic: TopicChecks}: the hidden checks (autograder/hidden/) or a course's
public ones (assignments/*/public_checks.py). A submission's fingerprint changes when
its files, the plan's checks and points, the seed, the devices, the feedback's language
or the grader itself (its code and the reference solutions) change.
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
from pathlib import Path

from . import i18n
from . import submission as submissions
from .checks import TopicChecks, collect
from .config import Config
from .topics import ROOT, TOPICS


def hidden_plan(topics: tuple[str, ...] = ()) -> dict[str, TopicChecks]:
    plan = {}
    for name in topics or TOPICS:
        try:
            module = importlib.import_module(TOPICS[name].hidden_module)
        except ModuleNotFoundError:
            continue                        # a topic with no hidden checks yet
        plan[name] = collect(module)
    return plan


def public_plan(topics: tuple[str, ...] = (), root: Path = ROOT) -> dict[str, TopicChecks]:
    plan = {}
    for name in topics or TOPICS:
        path = TOPICS[name].assignment_dir(root) / "public_checks.py"
        if not path.exists():
            continue
        spec = importlib.util.spec_from_file_location(f"ag_public_{name}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        plan[name] = collect(module)
    return plan


def grader_digest(root: Path = ROOT) -> str:
    """Changes whenever the grader, its checks or the reference solutions change."""
    h = hashlib.sha256()
    paths = sorted((root / "autograder").rglob("*.py")) + sorted((root / "solutions").rglob("*.py"))
    for path in paths:
        h.update(path.read_bytes())
    return h.hexdigest()


def fingerprint(sub: submissions.Submission, plan: dict[str, TopicChecks], config: Config,
                digest: str = "") -> str:
    h = hashlib.sha256(digest.encode())
    for name, text in sorted(sub.files.items()):
        h.update(name.encode() + b"\0" + text.encode() + b"\0")
    for topic_checks in plan.values():
        for c in topic_checks.checks:
            h.update(f"{c.id}:{c.points}".encode())
    h.update(repr((config.base_seed, config.devices, sorted(plan))).encode())
    lang = i18n.current()
    if lang != "en":                    # feedback in another language: its catalog's text counts
        h.update(f"lang:{lang}".encode())
        for domain_file in sorted((i18n.LOCALE / lang).rglob("*.po")):
            h.update(domain_file.read_bytes())
    return h.hexdigest()[:16]
