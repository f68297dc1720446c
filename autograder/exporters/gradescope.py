"""Gradescope's results.json (the autograder specification's schema)."""
from __future__ import annotations

from ..outcome import Outcome
from ..report import case_text
from ..scoring import Score


def results_json(outcomes: list[Outcome], total: Score, seconds: float, notes: list[str],
                 base_seed: int, visibility: str = "visible") -> dict:
    tests = []
    for number, o in enumerate(outcomes, 1):
        test = {
            "name": f"{o.title} [{o.device}]",
            "number": str(number),
            "score": round(o.points, 6),
            "max_score": round(o.max_points, 6),
            "output": case_text(o, base_seed) or "Passed.",
            "visibility": visibility,
            "tags": [o.topic],
            "extra_data": {"check": o.check_id, "device": o.device, "outcome": o.status,
                           "public": o.public},
        }
        if o.status != "skipped":          # Gradescope knows only passed / failed
            test["status"] = "passed" if o.status == "passed" else "failed"
        tests.append(test)
    output = [f"Score {total.score:g} / {total.max_score:g}. Base seed {base_seed}."]
    output += [f"- {n}" for n in notes]
    return {
        "score": round(total.score, 6),
        "execution_time": int(round(seconds)),
        "output": "\n".join(output),
        "visibility": visibility,
        "stdout_visibility": "hidden",
        "tests": tests,
        "extra_data": {"max_score": round(total.max_score, 6),
                       "topics": {t.topic: [t.score, t.max_score] for t in total.topics}},
    }
