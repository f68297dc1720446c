"""Pure: outcomes in, scores out."""
from __future__ import annotations

from dataclasses import dataclass

from .outcome import Outcome


@dataclass(frozen=True)
class TopicScore:
    topic: str
    score: float
    max_score: float


@dataclass(frozen=True)
class Score:
    score: float
    max_score: float
    topics: tuple[TopicScore, ...]

    @property
    def percent(self) -> float:
        return 100.0 * self.score / self.max_score if self.max_score else 0.0


def score(outcomes: list[Outcome]) -> Score:
    by_topic: dict[str, list[float]] = {}
    for o in outcomes:
        earned, total = by_topic.setdefault(o.topic, [0.0, 0.0])
        by_topic[o.topic] = [earned + o.points, total + o.max_points]
    topics = tuple(TopicScore(t, round(s, 6), round(m, 6)) for t, (s, m) in by_topic.items())
    return Score(round(sum(t.score for t in topics), 6), round(sum(t.max_score for t in topics), 6), topics)


def with_late(total: Score, late: dict | None) -> Score:
    """The total after a late policy's multiplier (results.json's extra_data.late, or None);
    the topics keep what they were graded (course.py)."""
    if not late or late.get("multiplier", 1.0) == 1.0:
        return total
    return Score(round(total.score * float(late["multiplier"]), 6), total.max_score, total.topics)
