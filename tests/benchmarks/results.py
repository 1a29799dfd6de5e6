"""Figures with their targets, the outcome of one benchmark, and the statistics they share."""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Comparison = Literal["<=", "==", ">="]


class BenchmarkFailure(Exception):
    """Something the benchmark depends on went wrong (a migration failed, a server did not start).

    Unlike a missed target, this makes the bench exit non-zero.
    """


@dataclass(frozen=True)
class Figure:
    """One measured value; judged against ``target`` when there is one, else informational."""

    key: str
    label: str
    value: float
    unit: str
    target: float | None = None
    comparison: Comparison = "<="
    note: str = ""

    @property
    def passed(self) -> bool | None:
        if self.target is None:
            return None
        if self.comparison == "==":
            return self.value == self.target
        if self.comparison == ">=":
            return self.value >= self.target
        return self.value <= self.target

    @property
    def outcome(self) -> str:
        return {None: "info", True: "PASS", False: "MISS"}[self.passed]

    @property
    def value_text(self) -> str:
        return format_value(self.value, self.unit)

    @property
    def target_text(self) -> str:
        if self.target is None:
            return "-"
        symbol = {"<=": "≤", "==": "=", ">=": "≥"}[self.comparison]
        return f"{symbol} {format_value(self.target, self.unit)}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "value": round(self.value, 3),
            "unit": self.unit,
            "target": self.target,
            "comparison": self.comparison if self.target is not None else None,
            "outcome": self.outcome,
            "note": self.note,
        }


@dataclass
class BenchOutcome:
    """What one benchmark produced: its figures, raw details, and the error if it crashed."""

    name: str
    title: str
    figures: list[Figure] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    error: str | None = None  # the traceback when the benchmark crashed
    error_summary: str | None = None
    duration_s: float = 0.0

    def add(self, figure: Figure) -> Figure:
        self.figures.append(figure)
        return figure

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "duration_s": round(self.duration_s, 2),
            "error": self.error_summary,
            "traceback": self.error,
            "notes": self.notes,
            "figures": [f.as_dict() for f in self.figures],
            "details": self.details,
        }


def format_value(value: float, unit: str) -> str:
    if unit == "count":
        return f"{value:.0f}"
    if unit == "bytes":
        return f"{value:.0f} bytes"
    if unit == "x":
        return f"{value:.2f} x"
    if unit == "s":
        return f"{value:.2f} s"
    return f"{value:.1f} {unit}"


def p50(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def p95(values: Sequence[float]) -> float:
    """The 95th percentile, linearly interpolated between the closest ranks."""
    if len(values) < 2:
        return float(values[0])
    return float(statistics.quantiles(values, n=20, method="inclusive")[18])


def elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def elapsed_s(started: float) -> float:
    return time.perf_counter() - started


def rounded(values: Sequence[float], digits: int = 2) -> list[float]:
    return [round(v, digits) for v in values]
