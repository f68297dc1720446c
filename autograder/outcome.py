"""The result of one check on one device: plain data, passed between stages."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

Status = Literal["passed", "failed", "not_implemented", "error", "timeout", "forbidden", "skipped"]


@dataclass(frozen=True)
class Outcome:
    check_id: str          # "normalization/batch_norm_train"
    device: str            # "cpu", "cuda", "meta"
    topic: str
    title: str             # what the check checks, in a sentence
    status: Status
    points: float          # earned
    max_points: float      # 0 for a skipped case
    message: str = ""      # for the student; "" when passed
    detail: str = ""       # for the instructor: traceback, worker output
    public: bool = False
    seed: int | None = None

    @property
    def case_id(self) -> str:
        return f"{self.check_id}[{self.device}]"

    def to_dict(self) -> dict:
        return asdict(self)
