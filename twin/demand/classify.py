"""Demand patterns: smooth, erratic, intermittent or lumpy.

Syntetos, Boylan & Croston (2005), "On the categorization of demand patterns",
*Journal of the Operational Research Society* 56(5): a series is classified by its
average inter-demand interval (ADI, periods per non-zero demand) and the squared
coefficient of variation of its non-zero demand sizes (CV^2), with the cut-offs
ADI = 1.32 and CV^2 = 0.49 at which Croston's method (or SBA) starts to beat simple
exponential smoothing:

==============  ===========  ==============
                CV^2 < 0.49  CV^2 >= 0.49
==============  ===========  ==============
ADI < 1.32      smooth       erratic
ADI >= 1.32     intermittent lumpy
==============  ===========  ==============
"""

from __future__ import annotations

import math

import numpy as np

ADI_CUTOFF, CV2_CUTOFF = 1.32, 0.49
PATTERNS = ("smooth", "erratic", "intermittent", "lumpy", "no demand")


def adi_cv2(series: np.ndarray) -> tuple[float, float]:
    """(ADI, CV^2) of a demand series: periods per non-zero demand, and the squared
    coefficient of variation (population) of the non-zero sizes. NaN without demand."""
    y = np.asarray(series, float)
    sizes = y[y > 0]
    if len(sizes) == 0:
        return float("nan"), float("nan")
    cv2 = float(np.var(sizes) / np.mean(sizes) ** 2)
    return len(y) / len(sizes), cv2


def pattern(series: np.ndarray) -> str:
    """The demand pattern of one series (module docstring)."""
    adi, cv2 = adi_cv2(series)
    if np.isnan(adi):
        return "no demand"
    if adi < ADI_CUTOFF:
        return "smooth" if cv2 < CV2_CUTOFF else "erratic"
    return "intermittent" if cv2 < CV2_CUTOFF else "lumpy"


SEASONAL_WINDOW = 11  # STL's seasonal smoother span, as R's forecast::mstl (and statsforecast's) use


def stl_jumps(period: int, seasonal: int = SEASONAL_WINDOW) -> dict[str, int]:
    """STL's loess jumps as R's ``stats::stl`` sets them by default: each smoother is
    evaluated at every ``ceiling(window / 10)``-th point and interpolated between
    (Cleveland et al., 1990, §3.3). statsmodels defaults to no jumps; for a year of weekly
    periods these make STL about six times faster and move the seasonal component by a
    few hundredths of a unit. The windows are statsmodels' (and R's) defaults."""
    trend = math.ceil(1.5 * period / (1 - 1.5 / seasonal))
    trend += trend % 2 == 0
    low_pass = period + (period % 2 == 0)
    return dict(seasonal_jump=math.ceil(seasonal / 10), trend_jump=math.ceil(trend / 10),
                low_pass_jump=math.ceil(low_pass / 10))


def seasonal_strength(series: np.ndarray, period: int) -> float:
    """Strength of seasonality F_S = max(0, 1 - Var(R) / Var(S + R)) of an STL
    decomposition into trend, seasonal S and remainder R (Wang, Smith & Hyndman, 2006;
    Hyndman & Athanasopoulos, *FPP* 3rd ed., §4.3), with the settings of the ``mstl``
    forecasting method. 0 for none, near 1 for strong; NaN with fewer than two full
    periods or no variation."""
    from statsmodels.tsa.seasonal import STL

    y = np.asarray(series, float)
    if len(y) < 2 * period or np.ptp(y) == 0:
        return float("nan")
    fit = STL(y, period=period, seasonal=SEASONAL_WINDOW, seasonal_deg=0, **stl_jumps(period)).fit()
    remainder = np.asarray(fit.resid)
    both = np.asarray(fit.seasonal) + remainder
    return float(max(0.0, 1.0 - remainder.var() / both.var())) if both.var() > 0 else 0.0
