"""What `grade` shows while a batch runs (autograder/progress.py): a bar on a terminal (a
real pseudo-terminal here), plain lines anywhere else, JSON lines, or nothing."""
from __future__ import annotations

import fcntl
import io
import json
import os
import pty
import select
import struct
import termios

from autograder.batch import Graded
from autograder.progress import Progress, for_terminal
from autograder.scoring import Score, TopicScore


def graded(name: str, points: float, seconds: float = 2.25, reused: bool = False) -> Graded:
    score = Score(points, 54.0, (TopicScore("normalization", points, 54.0),))
    return Graded(name, score, seconds, [], reused)


def test_plain_lines_when_stderr_is_not_a_terminal():
    stream = io.StringIO()
    progress = for_terminal(stream=stream)
    assert progress.mode == "lines"
    progress.start(2)
    progress(graded("bob", 32))
    progress(graded("erin", 0, reused=True))
    progress.close()
    assert stream.getvalue() == "[1/2] bob: 32 / 54 (2.2s)\n[2/2] erin: 0 / 54 (unchanged)\n"


def test_a_live_bar_with_done_total_rate_and_time_left_on_a_terminal():
    master, slave = terminal_of(100)
    with os.fdopen(slave, "w") as terminal:
        progress = for_terminal(stream=terminal)
        assert progress.mode == "bar"
        progress.start(3)
        progress(graded("bob", 32))
        progress(graded("carol", 34))
        progress.close()
        last = _last_line(master)
    assert "2/3" in last and "carol 34/54" in last
    assert "submission/s" in last or "s/submission" in last          # the rate
    assert "<00:" in last                                            # the time left


def test_reused_results_are_counted_but_not_in_the_rate():
    master, slave = terminal_of(100)
    with os.fdopen(slave, "w") as terminal:
        progress = for_terminal(stream=terminal)
        progress.start(4)
        progress(graded("alice", 54, reused=True))
        progress(graded("bob", 32, reused=True))
        progress.close()
        last = _last_line(master)
    assert "2/4" in last and "?" in last                  # nothing graded yet: no rate, no estimate


def test_json_prints_one_object_a_line_with_the_scores_per_topic():
    out, err = io.StringIO(), io.StringIO()
    progress = Progress("json", stream=err, out=out)
    progress.start(1)
    progress(graded("bob", 32))
    progress.close()
    assert err.getvalue() == ""
    assert [json.loads(line) for line in out.getvalue().splitlines()] == [
        {"name": "bob", "score": 32, "max_score": 54, "seconds": 2.25, "reused": False,
         "topics": {"normalization": {"score": 32, "max_score": 54}}}]


def test_quiet_prints_nothing():
    out, err = io.StringIO(), io.StringIO()
    progress = for_terminal(quiet=True, stream=err)
    progress.out = out
    progress.start(1)
    progress(graded("bob", 32))
    progress.close()
    assert out.getvalue() == err.getvalue() == ""


def terminal_of(columns: int) -> tuple[int, int]:
    """A pseudo-terminal (master, slave) that is `columns` wide, as a real one has a size."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    return master, slave


def _last_line(master: int) -> str:
    """What the terminal shows last (tqdm redraws its line after a carriage return)."""
    shown = b""
    while chunk := _read(master):
        shown += chunk
    os.close(master)
    return [part for part in shown.decode().replace("\n", "\r").split("\r") if part.strip()][-1]


def _read(fd: int) -> bytes:
    if not select.select([fd], [], [], 0.2)[0]:
        return b""
    return os.read(fd, 65536)
