"""What `grade` shows while a batch runs, one finished submission at a time.

    bar    a live bar on a terminal (tqdm): done/total, rate, time left, the last one graded
    lines  one plain line a submission, for logs: "[3/8] bob: 180 / 201 (2.1s)"
    json   one JSON object a line on stdout (a program's input); nothing on stderr
    quiet  nothing

`for_terminal` picks the bar when stderr is a terminal and plain lines otherwise.
grade_batch calls `start(n)` once and the Progress itself per finished submission
(under its lock, so calls never overlap).
"""
from __future__ import annotations

import json
import sys

MODES = ("bar", "lines", "json", "quiet")


class Progress:
    def __init__(self, mode: str, stream=None, out=None):
        if mode not in MODES:
            raise ValueError(f"progress mode {mode!r}; expected one of {', '.join(MODES)}")
        self.mode = mode
        self.stream = stream if stream is not None else sys.stderr   # bar and lines
        self.out = out if out is not None else sys.stdout            # json
        self.total: int | None = None
        self.done = 0
        self._bar = None

    def start(self, total: int) -> None:
        """The number of submissions this run will report (grade_batch's `total`)."""
        self.total = total
        if self.mode == "bar":
            from tqdm import tqdm                   # only here: Gradescope's image has no tqdm
            self._bar = tqdm(total=total, desc="grading", unit="submission", file=self.stream,
                             smoothing=0, dynamic_ncols=True, leave=True)

    def __call__(self, g) -> None:
        """One finished submission (a batch.Graded)."""
        self.done += 1
        if self.mode == "lines":
            print(line(g, self.done, self.total), file=self.stream, flush=True)
        elif self.mode == "json":
            print(json.dumps(record(g)), file=self.out, flush=True)
        elif self._bar is not None:
            if g.reused:                            # found, not graded: left out of the rate
                self._bar.initial += 1
            self._bar.set_postfix_str(f"{g.name} {_score(g.score.score)}/{_score(g.score.max_score)}",
                                      refresh=False)
            self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def for_terminal(quiet: bool = False, as_json: bool = False, stream=None) -> Progress:
    """--json, --quiet, else the bar on a terminal and plain lines in a log or a pipe."""
    stream = stream if stream is not None else sys.stderr
    if as_json:
        return Progress("json", stream)
    if quiet:
        return Progress("quiet", stream)
    isatty = getattr(stream, "isatty", None)
    return Progress("bar" if isatty is not None and isatty() else "lines", stream)


def line(g, done: int, total: int | None = None) -> str:
    state = "unchanged" if g.reused else f"{g.seconds:.1f}s"
    count = f"{done}/{total}" if total else f"{done}"
    return f"[{count}] {g.name}: {_score(g.score.score)} / {_score(g.score.max_score)} ({state})"


def record(g) -> dict:
    """The JSON line of one finished submission."""
    return {"name": g.name, "score": g.score.score, "max_score": g.score.max_score,
            "seconds": round(g.seconds, 3), "reused": g.reused,
            "topics": {t.topic: {"score": t.score, "max_score": t.max_score} for t in g.score.topics}}


def _score(x: float) -> str:
    return f"{x:g}"
