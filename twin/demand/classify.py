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


def seasonal_strength(series: np.ndarray, period: int) -> float:
    """Strength of seasonality F_S = max(0, 1 - Var(R) / Var(S + R)) of an STL (MSTL)
    decomposition into trend, seasonal S and remainder R (Wang, Smith & Hyndman, 2006;
    Hyndman & Athanasopoulos, *FPP* 3rd ed., §4.3). 0 for none, near 1 for strong; NaN with
    fewer than two full periods or no variation."""
    from statsforecast.mstl import mstl

    y = np.asarray(series, float)
    if len(y) < 2 * period or np.ptp(y) == 0:
        return float("nan")
    parts = mstl(y, period)
    remainder = parts["remainder"].to_numpy()
    both = parts["seasonal"].to_numpy() + remainder
    return float(max(0.0, 1.0 - remainder.var() / both.var())) if both.var() > 0 else 0.0
