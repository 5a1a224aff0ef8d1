"""Forecasts kept on disk between runs.

A forecast takes seconds to minutes (every family backtested) and depends only on the
network's demand history, products and promotions, the forecasting settings and the
forecasting code, so a planner's second what-if on the same network reuses the first
one's. Each entry is a folder of Parquet tables named by a digest of all of those,
including the source of ``twin/demand`` and the versions of the forecasting libraries:
changing any of them is a new entry, never a stale one.

The folder is ``$SOP_TWIN_CACHE``, else ``$XDG_CACHE_HOME/sop-twin``, else
``~/.cache/sop-twin``; ``SOP_TWIN_CACHE=off`` turns the cache off. Deleting the folder is
always safe. Entries are written to a temporary folder and renamed into place, so an
interrupted write leaves nothing that looks complete; an entry that cannot be read is
deleted and recomputed; a cache that cannot be written is skipped.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pandas as pd

CACHE_ENV = "SOP_TWIN_CACHE"
LIBRARIES = ("numpy", "pandas", "statsforecast", "statsmodels", "mlforecast", "lightgbm")
COMPLETE = "complete"  # written last: an entry without it is not one


def root() -> Path | None:
    """The cache folder, or None when ``SOP_TWIN_CACHE=off``."""
    value = os.environ.get(CACHE_ENV, "")
    if value.lower() == "off":
        return None
    if value:
        return Path(value)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sop-twin"


@cache
def code_fingerprint() -> str:
    """Digest of the forecasting code and the versions of the libraries it calls."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.read_bytes())
    for name in LIBRARIES:
        try:
            digest.update(f"{name}={version(name)}".encode())
        except PackageNotFoundError:
            digest.update(f"{name}=none".encode())
    return digest.hexdigest()


def key(*parts: object) -> str:
    """An entry's name: a digest of ``parts`` (their ``str``) and :func:`code_fingerprint`."""
    digest = hashlib.sha256(code_fingerprint().encode())
    for part in parts:
        digest.update(str(part).encode())
    return "forecast-" + digest.hexdigest()[:32]


def has(name: str) -> bool:
    folder = root()
    return folder is not None and (folder / name / COMPLETE).exists()


def load(name: str) -> dict[str, pd.DataFrame] | None:
    """The tables of entry ``name``, or None if there is none (or it cannot be read)."""
    if not has(name):
        return None
    entry = root() / name
    try:
        return {path.stem: pd.read_parquet(path) for path in sorted(entry.glob("*.parquet"))}
    except (OSError, ValueError):  # damaged: drop it and let the caller recompute
        shutil.rmtree(entry, ignore_errors=True)
        return None


def save(name: str, tables: dict[str, pd.DataFrame]) -> None:
    """Keep ``tables`` as entry ``name``; quietly nothing if the cache cannot be written."""
    folder = root()
    if folder is None:
        return
    partial = folder / f"{name}.partial-{os.getpid()}"
    try:
        partial.mkdir(parents=True, exist_ok=True)
        for table, frame in tables.items():
            frame.to_parquet(partial / f"{table}.parquet")
        (partial / COMPLETE).touch()
        os.replace(partial, folder / name)
    except OSError:  # read-only or full disk, or another process wrote it first
        shutil.rmtree(partial, ignore_errors=True)
