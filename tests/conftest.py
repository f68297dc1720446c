import os
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("MPLBACKEND", "Agg")
if str(ROOT / "tests") not in sys.path:
    sys.path.insert(0, str(ROOT / "tests"))

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.hookimpl(tryfirst=True)      # before xdist's, which reads the groups into node ids
def pytest_collection_modifyitems(config, items):
    for item in items:
        item.add_marker(pytest.mark.xdist_group(_group(item)))
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="no CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


def _group(item) -> str:
    """Which tests run in the same pytest-xdist worker (run.py test: -n 2 --dist loadgroup):
    a file's tests together, so its module fixtures (a graded batch, an export) are made
    once; the audit's by topic, so its seven audits spread over both workers."""
    module = item.module.__name__
    if module.endswith("test_audit"):
        params = getattr(getattr(item, "callspec", None), "params", {})
        topic = str(params.get("topic") or params.get("check_id") or "").split("/")[0]
        return f"audit-{topic}" if topic else "audit"
    return module


@pytest.fixture(params=DEVICES)
def device(request):
    return request.param
