"""Figures as functions of tidy tables: a table in, a matplotlib Figure out."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure  # not pyplot: no global state, no screen, nothing left open


def forecast_vs_actual(holdout: pd.DataFrame, skus: list[str], title: str = "") -> Figure:
    """Weekly actual vs forecast (chosen method and seasonal naive) on the holdout window,
    one panel per SKU (summed over markets).

    ``holdout`` has ``sku, ds, y, chosen, seasonal_naive``."""
    n = max(len(skus), 1)
    cols = min(n, 2)
    rows = -(-n // cols)
    fig = Figure(figsize=(6.5 * cols, 2.8 * rows))
    axes = fig.subplots(rows, cols, squeeze=False, sharex=True)
    for ax, sku in zip(axes.ravel(), skus):
        g = holdout[holdout["sku"] == sku].groupby("ds")[["y", "chosen", "seasonal_naive"]].sum()
        ax.plot(g.index, g["y"], color="black", lw=1.8, label="actual")
        ax.plot(g.index, g["chosen"], color="tab:blue", lw=1.5, label="forecast (chosen method)")
        ax.plot(g.index, g["seasonal_naive"], color="tab:gray", lw=1, ls="--", label="seasonal naive")
        ax.set_title(sku, fontsize=10, loc="left")
        ax.set_ylabel("units / week")
        ax.grid(alpha=0.3)
    for ax in axes.ravel()[len(skus):]:
        ax.set_visible(False)
    axes.ravel()[0].legend(fontsize=8, loc="upper left")
    fig.suptitle(title or "Actual vs forecast, holdout weeks", fontsize=11)
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig
