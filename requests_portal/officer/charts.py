"""Server-side SVG charts: geometry computed here, drawn by templates (no JavaScript library)."""

import datetime as dt
from dataclasses import dataclass

from workflow.calendar import jalali


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    shown: str  # the value as printed
    x: float
    y: float
    width: float
    height: float


WIDTH, HEIGHT, BASELINE = 360.0, 150.0, 125.0


def month_bars(series: list[tuple[dt.date, int]], *, persian: bool) -> list[Bar]:
    """Vertical bars of orders per month, labelled with the Jalali or Gregorian month."""
    if not series:
        return []
    top = max(count for _, count in series) or 1
    slot = WIDTH / len(series)
    bars = []
    for i, (month, count) in enumerate(series):
        height = (BASELINE - 15) * count / top
        label = jalali(month, digits="fa")[2:7] if persian else month.strftime("%m/%y")
        if len(series) > 8 and (len(series) - 1 - i) % 2:
            label = ""  # every other month is labelled: twelve labels do not fit side by side
        bars.append(
            Bar(
                label=label,
                value=count,
                shown=str(count),
                x=i * slot + slot * 0.15,
                y=BASELINE - height,
                width=slot * 0.7,
                height=height,
            )
        )
    return bars


def duration_bars(series: list[tuple[str, float]], labels: dict[str, str]) -> list[Bar]:
    """Horizontal bars of mean days per state."""
    if not series:
        return []
    top = max(days for _, days in series) or 1
    row = 22.0
    bars = []
    for i, (state, days) in enumerate(series):
        bars.append(
            Bar(
                label=labels.get(state, state),
                value=days,
                shown=f"{days:.1f}",
                x=0,
                y=i * row,
                width=max(2.0, 200 * days / top),
                height=row * 0.65,
            )
        )
    return bars
