"""Numbers as the reports print them: money in $k / $M, shares in %, differences in
points, with a true minus sign. One place, so the HTML, the Markdown and the
recommendation's sentences agree to the digit (the report test checks the HTML against
``kpis.csv`` through :func:`format_value`)."""

from __future__ import annotations

import math


def _money_scale(a: float) -> tuple[float, str, int]:
    """Divisor, suffix and decimals for an amount of size ``a``: $M, $k or $."""
    if a >= 1e6:
        return 1e6, "M", 2
    if a >= 1e4:
        return 1e3, "k", 0
    return 1.0, "", 0


def _money_in(v: float, scale: tuple[float, str, int]) -> str:
    divisor, suffix, digits = scale
    shown = round(abs(v) / divisor, digits)
    return f"{'−' if v < 0 and shown else ''}${shown:,.{digits}f}{suffix}"


def fmt_money(v: float) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return _money_in(v, _money_scale(abs(v)))


def fmt_money_range(low: float, high: float, delta: bool = False) -> str:
    """"$7,515 to $13k" is read wrong: both ends in the unit of the larger one ("$8k to $13k";
    "−$1.20M to −$0.95M"), with signs for a ``delta``."""
    if any(v is None or math.isnan(v) for v in (low, high)):
        return "–"
    scale = _money_scale(max(abs(low), abs(high)))
    if scale[1] == "k" and max(abs(low), abs(high)) < 1e5:
        scale = (1e3, "k", 1)  # "$0.4k to $13.0k": the small end does not read as nothing
    ends = [_money_in(v, scale) for v in (low, high)]
    if delta:
        ends = [("+" if not e.startswith("−") else "") + e for e in ends]
    return f"{ends[0]} to {ends[1]}"


def fmt_money2(v: float) -> str:
    """A price-like amount to the cent: "$12.34"; never "−$0.00"."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    cents = round(v, 2)
    return f"{'−' if cents < 0 else ''}${abs(cents):,.2f}"


def fmt_delta_money2(v: float) -> str:
    return ("+" if round(v, 2) >= 0 else "") + fmt_money2(v)


def fmt_delta_money(v: float) -> str:
    return ("+" if v >= 0 else "") + fmt_money(v)


def fmt_pct(v: float, digits: int = 1) -> str:
    return "–" if v is None or math.isnan(v) else f"{v * 100:.{digits}f} %"


def fmt_delta_pt(v: float, digits: int = 2) -> str:
    if v is None or math.isnan(v):
        return "–"
    points = round(v * 100, digits)  # the sign of what is printed: never "−0.00 pt"
    return f"{'+' if points >= 0 else '−'}{abs(points):.{digits}f} pt"


def fmt_units(v: float) -> str:
    return "–" if math.isnan(v) else f"{v:,.0f}".replace("-", "−")


def fmt_delta_units(v: float) -> str:
    return "–" if math.isnan(v) else ("+" if v >= 0 else "") + fmt_units(v)


FORMATS = {  # format -> (value, delta)
    "pct2": (lambda v: fmt_pct(v, 2), fmt_delta_pt),
    "pct1": (lambda v: fmt_pct(v, 1), fmt_delta_pt),
    "money": (fmt_money, fmt_delta_money),
    "money2": (fmt_money2, fmt_delta_money2),
    "units": (fmt_units, fmt_delta_units),
}


def format_range(kind: str, low: float, high: float, delta: bool = False) -> str:
    """An interval as the report prints it: "A to B", money in one unit (:func:`fmt_money_range`)."""
    if kind == "money":
        return fmt_money_range(float(low), float(high), delta)
    show = format_delta if delta else format_value
    return f"{show(kind, low)} to {show(kind, high)}"


def format_value(kind: str, v: float) -> str:
    """A KPI value as the report prints it (``kind`` as in :data:`reports.render.REPORT_KPIS`)."""
    return FORMATS[kind][0](float(v))


def format_delta(kind: str, v: float) -> str:
    return FORMATS[kind][1](float(v))
