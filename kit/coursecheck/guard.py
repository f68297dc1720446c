"""The student side blocks nothing at run time: your code runs in your own process.

The course grader's worker makes each topic's forbidden built-ins unreachable
(its guard.py); here they are only found by reading your source (forbidden.py),
so a check that passes here with a forbidden built-in still earns nothing when graded.
worker.py, shared with the grader, imports this module; `install` is never called here.
"""


def install(spec: dict) -> list:
    return []
