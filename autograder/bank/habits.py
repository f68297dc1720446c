"""Harmless habits: the reference of every topic with lines that real notebooks and
student modules carry. Each must earn full marks.

None of these reach a forbidden built-in, so none may cost a point: the grade rests
on what the grader observes (outputs, exit status of the worker), not on banning
Python features in the source. Seen in student work: the Colab switch
(`"google.colab" in sys.modules`), logging set-up, warnings filters, prints at import,
`gc.collect()` between experiments, `inspect` for a helper's own file, a recursion
limit raised for a recursive helper, `functools.lru_cache`, dataclasses for settings,
`importlib.import_module` for optional packages, and a `__main__` self-test.
"""
from autograder.variants import Correct
from autograder.topics import TOPICS

ANCHOR = "from __future__ import annotations\n"

HABITS = ANCHOR + '''
import dataclasses as _dc
import functools as _ft
import gc as _gc
import importlib as _il
import inspect as _inspect
import logging as _logging
import sys as _sys
import warnings as _warnings

IN_COLAB = "google.colab" in _sys.modules              # the Colab switch
_log = _logging.getLogger(__name__)
_logging.basicConfig(level=_logging.INFO)
_log.info("loading %s", __name__)
_warnings.filterwarnings("ignore", category=UserWarning)
_sys.setrecursionlimit(max(_sys.getrecursionlimit(), 3000))
print("loaded", __name__, "(colab)" if IN_COLAB else "(local)")
_gc.collect()
_OBJECTS_AT_IMPORT = len(_gc.get_objects())
_HERE = _inspect.getsourcefile(_inspect.currentframe()) if _inspect.currentframe() else None
_CALLER = _sys._getframe(0).f_code.co_name
_TORCH_MODULES = sorted(name for name in _sys.modules if name.startswith("torch."))[:3]
_NUMPY = _il.import_module("numpy")


@_ft.lru_cache(maxsize=None)
def _cached_square(n):
    return n * n


@_dc.dataclass
class _Settings:
    verbose: bool = False
    seed: int = 0


SETTINGS = _Settings()
_ = _cached_square(3)

if __name__ == "__main__":                              # a self-test students run by hand
    print("self-test:", _cached_square(4))
'''

VARIANTS = [
    Correct(f"{topic}-harmless-habits", topic, ((ANCHOR, HABITS),),
            "sys.modules, gc, inspect, logging, warnings, prints, caching, dataclasses: "
            "ordinary Python that must cost nothing")
    for topic in TOPICS
]
