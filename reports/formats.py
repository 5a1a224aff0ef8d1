"""Numbers as the reports print them: money in $k / $M, shares in %, differences in
points, with a true minus sign. One place, so the HTML, the Markdown and the
recommendation's sentences agree to the digit (the report test checks the HTML against
``kpis.csv`` through :func:`format_value`)."""

from __future__ import annotations

import math


def fmt_money(v: float) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    sign = "−" if v < 0 else ""
    a = abs(v)
    if a >= 1e6:
        return f"{sign}${a / 1e6:,.2f}M"
    if a >= 1e4:
        return f"{sign}${a / 1e3:,.0f}k"
    return f"{sign}${a:,.0f}"


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


def format_value(kind: str, v: float) -> str:
    """A KPI value as the report prints it (``kind`` as in :data:`reports.render.REPORT_KPIS`)."""
    return FORMATS[kind][0](float(v))


def format_delta(kind: str, v: float) -> str:
    return FORMATS[kind][1](float(v))
