"""Run folders on disk: tidy tables a planner can open, written so a partial folder never looks complete.

Layout of a run folder::

    kpis.csv                   one row per scenario x replication x KPI (tidy)
    summary.csv                per scenario x KPI: n, mean, se, 95 % interval, P5/P50/P95
    results/kpis.parquet       the same rows as kpis.csv, typed
    results/timeseries.parquet scenario, replication, day, entity, metric, value
    run.json                   what was run: scenario file, seed, replications, versions, timing

Everything is written into ``<folder>.partial`` first and renamed into place at the end.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd

from reports.summary import summarise
from twin.montecarlo import RunResult


def write_run(folder: str | Path, result: RunResult, meta: dict[str, Any]) -> pd.DataFrame:
    """Write a run folder and return its summary table."""
    folder = Path(folder)
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    (partial / "results").mkdir(parents=True)
    summary = summarise(result.kpis)
    result.kpis.to_csv(partial / "kpis.csv", index=False)
    summary.to_csv(partial / "summary.csv", index=False)
    result.kpis.to_parquet(partial / "results" / "kpis.parquet", index=False)
    result.series.to_parquet(partial / "results" / "timeseries.parquet", index=False)
    (partial / "run.json").write_text(json.dumps(meta, indent=2, default=str) + "\n")
    if folder.exists():
        shutil.rmtree(folder)
    partial.rename(folder)
    return summary
