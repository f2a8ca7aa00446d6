"""What every precision search shares (the tuner, the generator bit-width search, the trigger search):
a budget of time or trials, the trials logged as they are judged, and one rule for the answer: the
cheapest candidate that passes, else the closest one, saved with a clear message."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["SearchBudget", "TrialLog", "choose"]

T = TypeVar("T")


class SearchBudget:
    """Spent after ``time_budget_s`` seconds or ``max_trials`` trials, whichever comes first (counts make a
    search reproducible where seconds depend on the machine)."""

    def __init__(self, time_budget_s: float, max_trials: int | None = None,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.time_budget_s, self.max_trials, self.clock = time_budget_s, max_trials, clock
        self.start = clock()

    @property
    def elapsed(self) -> float:
        return self.clock() - self.start

    def spent(self, trials_run: int) -> bool:
        if self.max_trials is not None and trials_run >= self.max_trials:
            return True
        return self.elapsed >= self.time_budget_s


class TrialLog:
    """Appends each judged trial (a dataclass) to a JSON-lines file and hands it to ``on_trial``."""

    def __init__(self, path: Path, on_trial: Callable[[Any], None] | None = None) -> None:
        self.path, self.on_trial = path, on_trial
        self.trials: list[Any] = []
        path.unlink(missing_ok=True)

    def record(self, trial: T) -> T:
        self.trials.append(trial)
        with self.path.open("a") as fh:
            fh.write(json.dumps(asdict(trial)) + "\n")  # type: ignore[call-overload]
        if self.on_trial:
            self.on_trial(trial)
        return trial


def choose(trials: Sequence[T], *, passed: Callable[[T], bool], cost: Callable[[T], Any],
           closeness: Callable[[T], Any]) -> tuple[T, bool]:
    """(the lowest-cost passing trial, True), else (the closest trial, False)."""
    if not trials:
        raise ValueError("a search judged no candidate")
    passing = [t for t in trials if passed(t)]
    if passing:
        return min(passing, key=cost), True
    return min(trials, key=closeness), False
