"""Horizontal bar charts for the transparency report, drawn by templates as SVG."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    y: float
    width: float


ROW = 24.0
WIDTH = 260.0


def bars(series: list[tuple[str, int]]) -> list[Bar]:
    top = max((value for _label, value in series), default=0) or 1
    return [
        Bar(label=label, value=value, y=i * ROW, width=max(1.0, WIDTH * value / top) if value else 0.0)
        for i, (label, value) in enumerate(series)
    ]


def height(series: list[Bar]) -> float:
    return max(ROW, len(series) * ROW)
