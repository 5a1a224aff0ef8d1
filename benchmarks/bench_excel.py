"""Speed of the network as a workbook (run on demand: `.venv/bin/python benchmarks/bench_excel.py`).

Reports, with the machine it ran on, the reference network's ``twin export-excel`` (the
scenario loaded and checked, every table written) and ``twin import-excel`` (every sheet
read, checked as a network folder, written as CSV), each the median and fastest of
``--repeats`` runs in this process, and their sum against the goal of issue 19 (10 s).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

from bench_sim import machine

from twin.pipeline import export_excel, import_excel

ROOT = Path(__file__).resolve().parents[1]
GOAL_SECONDS = 10.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args()
    scenario = ROOT / "scenarios" / "baseline.yaml"
    export_s, import_s = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):
            book, folder = Path(tmp) / f"model{i}.xlsx", Path(tmp) / f"net{i}"
            started = time.perf_counter()
            rows = export_excel(scenario, book)
            export_s.append(time.perf_counter() - started)
            started = time.perf_counter()
            import_excel(book, folder)
            import_s.append(time.perf_counter() - started)
        size = book.stat().st_size
    figures = {
        "machine": machine(), "xlsxwriter": version("xlsxwriter"), "python-calamine": version("python-calamine"),
        "sheets": len(rows), "rows": sum(rows.values()), "workbook_mb": round(size / 2**20, 2),
        "export_s": {"median": round(statistics.median(export_s), 2), "fastest": round(min(export_s), 2)},
        "import_s": {"median": round(statistics.median(import_s), 2), "fastest": round(min(import_s), 2)},
    }
    total = figures["export_s"]["median"] + figures["import_s"]["median"]
    print(json.dumps(figures, indent=2))
    print(f"export + import, medians: {total:.2f} s (goal <= {GOAL_SECONDS:g} s: "
          f"{'met' if total <= GOAL_SECONDS else 'NOT met'})")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
