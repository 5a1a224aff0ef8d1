"""Speed of the data load (run on demand: `.venv/bin/python benchmarks/bench_reconcile.py`).

Reports, with the machine it ran on, ``twin reconcile`` of the reference's extracts
(``scenarios/reference/extracts``, 17 files) and of extracts ten times larger: every
transaction file (orders, deliveries, invoices, postings, movements, purchase orders and
goods receipts) holds ten copies of its rows under distinct document numbers, and the
MES's daily production ten times its quantities (the hubs receive ten copies of it), so
the cross-checks agree where the reference's do and its planted disagreements come up to ten
times (the daily and month-end stock files and the downtime log keep their size: they
are per day or per event, not per transaction). Each figure is the median and fastest of
``--repeats`` runs, split into reading the files, reconciling, and writing the layer
(DuckDB, Parquet, CSV).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

import pandas as pd
from bench_sim import machine

from twin.data.layer import write_layer
from twin.data.reconcile import read_extracts, reconcile
from twin.network import load_network

ROOT = Path(__file__).resolve().parents[1]
EXTRACTS = ROOT / "scenarios" / "reference" / "extracts"
# per transaction file, the document-number columns a copy suffixes (references keep their "/line")
NUMBERED = {"crm_orders.csv": ("order_id",), "erp_shipments.csv": ("delivery_id", "order_id"),
            "erp_invoices.csv": ("invoice_id", "order_id"), "gl_postings.csv": ("journal_id", "document"),
            "wms_movements.csv": ("movement_id", "reference"), "erp_purchase_orders.csv": ("po_id",),
            "erp_receipts.csv": ("receipt_id", "po_id")}
SCALED = {"mes_production.csv": "qty_good_units"}  # per day and line: the quantity grows, not the rows


def larger(folder: Path, times: int) -> None:
    """The reference's extracts in ``folder``, each transaction file ``times`` copies of itself."""
    shutil.copytree(EXTRACTS, folder, ignore=shutil.ignore_patterns("*.py", "*.md"))
    for file, columns in NUMBERED.items():
        frame = pd.read_csv(EXTRACTS / file, dtype=str, keep_default_na=False)
        copies = []
        for k in range(times):
            copy = frame.copy()
            for c in columns:
                copy[c] = copy[c].str.replace(r"^([^/]+)", rf"\1-{k}", regex=True) if k else copy[c]
            copies.append(copy)
        pd.concat(copies).to_csv(folder / file, index=False)
    for file, column in SCALED.items():
        frame = pd.read_csv(EXTRACTS / file, dtype=str, keep_default_na=False)
        frame[column] = (frame[column].astype(int) * times).astype(str)
        frame.to_csv(folder / file, index=False)


def timed(folder: Path, out: Path, net) -> dict[str, float]:
    started = time.perf_counter()
    x, files = read_extracts(folder)
    read = time.perf_counter()
    layer = reconcile(x, files, net)
    built = time.perf_counter()
    out.mkdir()
    write_layer(layer.tables, out)
    done = time.perf_counter()
    return {"rows": sum(len(f) for f in x.values()), "variances": len(layer.variances), "read_s": read - started,
            "reconcile_s": built - read, "write_s": done - built, "total_s": done - started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--times", type=int, default=10, help="how many times larger the second set is")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args()
    net = load_network(ROOT / "scenarios" / "reference")
    figures = {"machine": machine(), "duckdb": version("duckdb"), "pandas": version("pandas")}
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big"
        larger(big, args.times)
        for label, folder in (("reference", EXTRACTS), (f"{args.times}x", big)):
            runs = [timed(folder, Path(tmp) / f"{label}-{i}", net) for i in range(args.repeats)]
            figures[label] = {"rows": runs[0]["rows"], "variances": runs[0]["variances"]} | {
                k: {"median": round(statistics.median(r[k] for r in runs), 2), "fastest": round(min(r[k] for r in runs), 2)}
                for k in ("read_s", "reconcile_s", "write_s", "total_s")}
    print(json.dumps(figures, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
