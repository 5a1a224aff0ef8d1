"""The ``twin`` command. Each subcommand is one call into the Python API."""

from __future__ import annotations

import argparse
import os
import sys
from importlib.metadata import version
from pathlib import Path

from twin.errors import DISK_FULL, NOT_WRITABLE, FolderBusy, InputError, Problem

EXIT_BAD_INPUT = 2

DESCRIPTION = """\
sop-twin: a digital twin of a manufacturing supply chain for S&OP.

  twin validate scenarios/*.yaml              check scenario files and their networks
  twin forecast scenarios/baseline.yaml        choose a forecasting method per family by backtest,
                                               forecast, and report accuracy honestly
  twin plan scenarios/baseline.yaml --out out  make the capacity plan (LP): production, overtime,
                                               outsourcing, shipments, costs, bottlenecks
  twin run scenarios/baseline.yaml --out out   plan, then simulate replications of the plan and
                                               write KPIs with 95% intervals
  twin compare scenarios/baseline.yaml scenarios/port_closure.yaml --out out/compare
                                               run scenarios, write the executive report
                                               (report.html, report.md, kpis.csv, figures)
  twin report out/a out/b --out out/report     rebuild a report from stored runs
  twin export-excel scenarios/baseline.yaml --out model.xlsx
                                               the network as a workbook (and a run's tables)
  twin import-excel model.xlsx --out mynet     the workbook back as a checked network folder
  twin reconcile scenarios/reference/extracts --out out/layer
                                               CRM, ERP, WMS and GL extracts as one layer (DuckDB,
                                               Parquet), every disagreement located in both files
"""
EXIT_NO_PLAN = 3
EXIT_REPLICATION_FAILED = 4
EXIT_CANNOT_WRITE = 73  # sysexits' EX_CANTCREAT: a full disk or a folder that became read-only during the work


def _validate(args: argparse.Namespace) -> int:
    from twin import pipeline

    bad = 0
    for file, problems in pipeline.validate(args.files, args.max_variants).items():
        if problems:
            bad += 1
            print(f"{file}: {len(problems)} problem(s)")
            for p in problems:
                print(f"  {p}")
        else:
            print(f"{file}: OK")
    return 1 if bad else 0


def _export_excel(args: argparse.Namespace) -> int:
    from twin import pipeline

    rows = pipeline.export_excel(args.source, args.out, args.overwrite)
    if not args.quiet:
        print(f"Wrote {args.out}: {len(rows)} sheets, {sum(rows.values()):,} rows")
    return 0


def _import_excel(args: argparse.Namespace) -> int:
    from twin import pipeline

    rows = pipeline.import_excel(args.workbook, args.out, args.overwrite)
    if not args.quiet:
        print(f"Wrote the network folder {args.out}/: {len(rows)} tables, {sum(rows.values()):,} rows, every check "
              "passed. Point a scenario's network: at it.")
    return 0


def _reconcile(args: argparse.Namespace) -> int:
    from twin import pipeline

    done = pipeline.reconcile(args.extracts, args.out, args.network, args.overwrite, progress=_progress(args))
    if args.quiet:
        return 0
    v = done.variances
    print(f"Wrote the layer {args.out}/ in {done.seconds:.1f} s: layer.duckdb and parquet/ ({len(done.rows)} tables, "
          f"{sum(done.rows.values()):,} rows); variances.csv, revenue_by_period.csv, sku_dictionary.csv")
    if v.empty:
        print("The sources agree: no variance.")
        return 0
    counts = v.groupby(["check", "severity"], sort=False).agg(variances=("key", "size"), first=("key", "first"))
    print(f"{len(v)} variance(s), each with both sources' files and lines in variances.csv:")
    print(counts.reset_index().to_string(index=False))
    r = done.revenue
    off = r[r["difference_cents"] != 0]
    print(f"GL revenue against ERP invoices: {len(r) - len(off)} of {len(r)} fiscal periods equal to the cent; "
          f"{len(off)} differ, every cent of it flagged" if (off["difference_cents"] == off["flagged_cents"]).all()
          else f"GL revenue against ERP invoices: {len(off)} periods differ by more than is flagged")
    return 0


def _solver(args: argparse.Namespace) -> dict:
    """The solver options the command line gives (None: the scenario's)."""
    return dict(time_limit_seconds=args.time_limit, threads=args.threads, gap=args.gap, algorithm=args.algorithm)


def _progress(args: argparse.Namespace):
    """Where the pipeline's progress messages go: standard error; under -q, warnings only."""

    def show(stage: str, message: str) -> None:
        if stage == "warning":
            print(f"warning: {message}", file=sys.stderr)
        elif not args.quiet and stage != "plan":
            print(message, file=sys.stderr)

    return show


def _print_plan(plan, name: str, top: int = 5) -> None:
    from reports.summary import cost_table

    s, size = plan.seconds, plan.size
    print(f"{name}: plan {plan.status} in {sum(s.values()):.1f} s (build {s['build']:.1f} s, to HiGHS "
          f"{s['to_solver']:.1f} s, solve {s['solve']:.1f} s, read back {s['read_back']:.1f} s); "
          f"{size['rows']:,} rows x {size['columns']:,} columns, {size['nonzeros']:,} non-zeros\n")
    print(cost_table(plan.costs, plan.revenue).to_string(index=False))
    if len(plan.bottlenecks):
        print(f"\nBottlenecks, most valuable first ({min(top, len(plan.bottlenecks))} of {len(plan.bottlenecks)}):")
        for text in plan.bottlenecks["text"].head(top):
            print(f"  - {text}")


def _plan(args: argparse.Namespace) -> int:
    from twin import pipeline

    out = Path(args.out or Path("out") / "plan" / Path(args.scenario).stem)
    written = pipeline.plan_scenario(args.scenario, out, _solver(args), progress=_progress(args),
                                     overwrite=args.overwrite)
    if not args.quiet:
        _print_plan(written.plan, written.scenario, top=args.top)
        print(f"\nPlan in {out}/ (summary.json, costs.csv, bottlenecks.csv, production.csv, lines.csv, ...)")
    return 0


def _forecast(args: argparse.Namespace) -> int:
    from twin import pipeline

    out = Path(args.out or Path("out") / "forecast" / Path(args.scenario).stem)
    written = pipeline.forecast_scenario(args.scenario, out, args.overwrite, bucket=args.bucket,
                                         adjustments=args.adjustments)
    if not args.quiet:
        _print_forecast(written.result, written.scenario, written.seconds, written.bucket)
        print(f"\nForecast in {out}/ (forecasts.csv, methods.csv, accuracy.csv, fva.csv, adjustments.csv, "
              "hidden.csv, worst_skus.png)")
    return 0


def _print_forecast(result, name: str, seconds: float, bucket: str) -> None:
    from reports.summary import forecast_accuracy_table, fva_table

    acc = result.accuracy
    print(f"{name}: {len(result.patterns)} series forecast by {bucket} in {seconds:.1f} s\n")
    print("Accuracy on the last backtest window (which the choice never saw):\n")
    print(forecast_accuracy_table(acc, result.chosen).to_string(index=False))
    print("\nWhy each family's method (mean MASE on the selection windows):")
    for r in result.chosen.itertuples():
        print(f"  - {r.family}: {r.why}")
    weighted = acc[(acc["level"] == "revenue_weighted") & (acc["entity"] == "all")].set_index("method")
    print(f"\nRevenue-weighted WAPE over SKUs: {weighted.loc['chosen', 'wape']:.1f}% "
          f"(naive {weighted.loc['naive', 'wape']:.1f}%, seasonal naive {weighted.loc['seasonal_naive', 'wape']:.1f}%)")
    if len(result.hidden):
        print("\nWhat the total hides: SKUs with revenue and a high error")
        for r in result.hidden.itertuples():
            print(f"  - {r.sku}: {r.revenue_share:.1%} of revenue, WAPE {r.wape:.0f}% (total {r.total_wape:.0f}%)")
    log = result.adjustments
    accepted = int((log["status"] == "accepted").sum())
    print(f"\nForecast value added on the holdout (WAPE; a step's points are the error it removed): "
          f"{len(log)} adjustments logged, {accepted} accepted\n")
    print(fva_table(result.fva).to_string(index=False))


def _run_options(args: argparse.Namespace, brief: bool = False) -> dict:
    """``pipeline.run_scenario``'s options from the command line. ``brief``: no plan tables."""

    def on_plan(plan, name: str) -> None:
        if not args.quiet and not brief:
            _print_plan(plan, name, top=3)
            print()

    return dict(replications=args.replications, resume=args.resume, overwrite=args.overwrite,
                most_variants=args.max_variants,
                deterministic=getattr(args, "deterministic", False),
                explain_gap=min(args.replications or 20, 20) if getattr(args, "explain_gap", False) else 0,
                solver=_solver(args), precision=_precision(args.until_precision),
                most=args.max_replications, bars=not args.quiet and sys.stderr.isatty(), progress=_progress(args),
                on_plan=on_plan)


def _run(args: argparse.Namespace) -> int:
    from twin import pipeline

    executor = pipeline.executor(args.workers, args.cluster)
    try:
        written = pipeline.run_scenario(args.scenario, Path(args.out or Path("out") / Path(args.scenario).stem),
                                        executor, seed=args.seed, **_run_options(args))
    finally:
        executor.close()
    if not args.quiet:
        _print_runs([run.folder for run in written])
        if args.deterministic:
            _print_plan_vs_twin([run.folder for run in written])
        _print_gaps([run.folder for run in written])
    return 0


def _print_gaps(folders: list[Path]) -> None:
    """Each run's plan-to-twin gap split by source (``gap.csv``, ``twin run --explain-gap``)."""
    import pandas as pd

    from reports.summary import gap_sentence

    for folder in folders:
        if (folder / "gap.csv").exists():
            print(f"\nWhy the twin differs from the plan (common random numbers; {folder}/gap.csv): "
                  f"{gap_sentence(pd.read_csv(folder / 'gap.csv'))}")


def _print_plan_vs_twin(folders: list[Path]) -> None:
    """The horizon's totals of each plan_vs_twin.csv: where the deterministic twin and the plan differ."""
    import pandas as pd

    for folder in folders:
        table = pd.read_csv(folder / "plan_vs_twin.csv")
        total = table[table["period"] == "horizon"].groupby("kpi", sort=False)[["plan", "twin", "difference"]].sum()
        print(f"\nThe plan against the deterministic twin, over the horizon ({folder}/plan_vs_twin.csv has every "
              "week and entity):\n")
        print(total.round(0).astype(int).reset_index().to_string(index=False))


def _compare(args: argparse.Namespace) -> int:
    from twin import pipeline

    out = Path(args.out or Path("out") / "compare")
    executor = pipeline.executor(args.workers, args.cluster)
    try:
        written = pipeline.compare(args.scenarios, out, executor, seed=args.seed, sensitivity=not args.no_sensitivity,
                                   **_run_options(args, brief=True))
    finally:
        executor.close()
    # the comparison's own runs are in out: it was checked before they ran
    return _print_report([run.folder for run in written], out, args.quiet, overwrite=True)


def _report(args: argparse.Namespace) -> int:
    return _print_report([Path(f) for f in args.runs], Path(args.out), args.quiet, args.overwrite)


def _print_report(folders: list[Path], out: Path, quiet: bool, overwrite: bool) -> int:
    from twin import pipeline

    comparison, page = pipeline.report(folders, out, overwrite)
    if not quiet:
        from reports.compare import recommendation

        print("\nRecommendation:\n")
        for sentence in recommendation(comparison):
            print(f"  {sentence}")
        print(f"\nReport: {page} (open it in a browser; report.md, kpis.csv, risks.csv, figures/ beside it)")
    return 0


def _print_runs(folders: list[Path]) -> None:
    """The headline KPIs, the lines and the decision log of run folders, as a planner reads them."""
    import pandas as pd

    from reports.summary import decision_summary, headline_table, line_table

    summary = pd.concat([pd.read_csv(f / "summary.csv") for f in folders], ignore_index=True)
    decisions = pd.concat([pd.read_csv(f / "decisions.csv", parse_dates=["date", "due"]) for f in folders],
                          ignore_index=True)
    one = len(folders) == 1
    table = headline_table(summary)
    print(table.drop(columns="scenario").to_string(index=False) if one else table.to_string(index=False))
    print("\nLines, busiest first (utilisation = hours worked / regular hours available):\n")
    lines = line_table(summary)
    print(lines.drop(columns="scenario").to_string(index=False) if one else lines.to_string(index=False))
    log = decision_summary(decisions, int(summary["n"].max()))
    if len(log):
        print("\nDecision log of the touchless rules (decisions for a person first; every firing in "
              "decisions.csv):\n")
        print(log.drop(columns="scenario").to_string(index=False) if one else log.to_string(index=False))
    else:
        print("\nNo touchless rule fired.")
    planned = any((f / "plan").is_dir() for f in folders)
    print(f"\nResults in {', '.join(f'{f}/' for f in folders)} (kpis.csv, summary.csv, decisions.csv, results/ "
          "in Parquet" + (", plan/)" if planned else ")"))


def _precision(specs: list[str] | None) -> dict[str, tuple[float, bool]] | None:
    """``["fill_rate=0.002", "margin=1%"]`` -> {kpi: (target, relative)}."""
    if not specs:
        return None
    from twin.sim.kpis import TOTAL_KPIS

    out = {}
    for spec in specs:
        kpi, _, target = spec.partition("=")
        relative = target.endswith("%")
        try:
            value = float(target.rstrip("%")) / (100 if relative else 1)
        except ValueError:
            value = -1.0
        if kpi not in TOTAL_KPIS or value <= 0:
            raise InputError([Problem("--until-precision", spec, "expected KPI=HALF_WIDTH (e.g. fill_rate=0.002 "
                                      f"or margin=1%) with a positive width; KPIs: {', '.join(TOTAL_KPIS)}")])
        out[kpi] = (value, relative)
    return out


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="twin", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {version('sop-twin')}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("validate", help="check scenario files and the networks they name",
                       description="Check scenario files: schema, extends chain, network tables and IDs. "
                                   "Lists every problem with its file and place; exits 1 if any file is bad.")
    p.add_argument("files", nargs="+", metavar="FILE", help="scenario YAML files")
    _variants_argument(p)
    p.set_defaults(func=_validate)

    p = sub.add_parser("forecast", help="choose forecasting methods per family, forecast, report accuracy",
                       description="Classify every SKU x market demand series, backtest candidate methods on "
                                   "rolling origins per product family, choose the best per family on every "
                                   "window but the last (unless the scenario's forecasting.methods fixes it), "
                                   "forecast to the end of the scenario's horizon, and report accuracy on the "
                                   "last window per series, SKU, family and in total (plain and revenue-"
                                   "weighted) against naive and seasonal naive, with the SKUs the total hides.")
    p.add_argument("scenario", metavar="SCENARIO", help="scenario YAML file")
    p.add_argument("--bucket", choices=("week", "month"), default="week",
                   help="forecast in weeks (default: the plan's buckets) or calendar months, for the monthly "
                        "demand review; months need the scenario's demand from a reconciled layer "
                        "(demand.history), whose daily demand they sum")
    p.add_argument("--adjustments", metavar="CSV",
                   help="the planner's adjustment log (in place of the scenario's forecasting.adjustments): "
                        "sku, market, start, end, adjusted_qty, status, source, reason, rationale, who, "
                        "logged_on per row; accepted rows change the forecast, spread over the weeks in "
                        "proportion to the statistical forecast, and those on the holdout window are scored "
                        "as forecast value added")
    p.add_argument("--out", metavar="DIR", help="output folder (default: out/forecast/<scenario file name>)")
    _overwrite_argument(p)
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    p.set_defaults(func=_forecast)

    p = sub.add_parser("plan", help="make the capacity plan of a scenario (LP, HiGHS)",
                       description="Solve the scenario's capacity-allocation LP over its horizon in weekly "
                                   "buckets: production on regular time and overtime per line, outsourcing, "
                                   "shipments and rerouting, inventory, backlog. Prints the cost breakdown and "
                                   "the bottlenecks (the value of one more hour per line), and writes the plan "
                                   "tables and summary.json to the output folder. Exits 3 when no plan meets "
                                   "the scenario's requirements, naming them.")
    p.add_argument("scenario", metavar="SCENARIO", help="scenario YAML file")
    p.add_argument("--out", metavar="DIR", help="output folder (default: out/plan/<scenario file name>)")
    _overwrite_argument(p)
    p.add_argument("--top", type=int, default=5, metavar="N", help="bottlenecks to print (default 5)")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    _solver_arguments(p)
    p.set_defaults(func=_plan)

    p = sub.add_parser("run", help="plan, then simulate replications of a scenario and write its KPIs",
                       description="Make the scenario's capacity plan (for supply: plan, the default), then "
                                   "simulate replications of it on local worker processes, print the headline "
                                   "KPIs with 95 % confidence intervals and the decision log of the touchless "
                                   "rules, and write tidy results (kpis.csv, summary.csv, decisions.csv, "
                                   "Parquet, the plan) to the output folder. A scenario with a competitor entry "
                                   "runs once per pricing strategy, each into a subfolder named after it.")
    p.add_argument("scenario", metavar="SCENARIO", help="scenario YAML file")
    p.add_argument("--out", metavar="DIR", help="output folder (default: out/<scenario file name>)")
    _overwrite_argument(p)
    p.add_argument("--deterministic", action="store_true",
                   help="one replication with demand as forecast, lead times at their means and breakdowns as the "
                        "lines' expected availability, as the plan assumes; writes plan_vs_twin.csv (plan, twin "
                        "and difference per KPI, entity and week)")
    _explain_gap_argument(p)
    _monte_carlo_arguments(p)
    _solver_arguments(p)
    p.set_defaults(func=_run)

    p = sub.add_parser("compare", help="run scenarios and write the executive comparison report",
                       description="Plan and simulate each scenario (a competitor entry once per pricing "
                                   "strategy) with one seed, so replication i of every scenario sees the same "
                                   "random demand and breakdowns, then write the report: report.html (one "
                                   "self-contained file), report.md, kpis.csv with 95 % intervals and paired "
                                   "differences from the first scenario (the baseline), risks.csv, figures/ "
                                   "and the run folders under runs/.")
    p.add_argument("scenarios", nargs="+", metavar="SCENARIO", help="scenario YAML files; the first is the baseline")
    p.add_argument("--out", metavar="DIR", help="output folder (default: out/compare)")
    _overwrite_argument(p)
    _explain_gap_argument(p)
    p.add_argument("--no-sensitivity", action="store_true",
                   help="skip the runs that test the recommendation's assumptions: by default each key assumption "
                        "of each competitor entry's strategies and of the two worst risks (share loss, elasticity, "
                        "a spike's size, a closure's length) is run at both ends of its range (the scenario's "
                        "`ranges:`, else ±50 %%), and again at each break-even found, for the tornado chart and "
                        "the break-even (two to four runs per assumption and strategy it moves; the report says "
                        "how many)")
    _monte_carlo_arguments(p)
    _solver_arguments(p)
    p.set_defaults(func=_compare)

    p = sub.add_parser("report", help="rebuild a comparison report from stored run folders",
                       description="Write the comparison report (as twin compare does) from finished run folders "
                                   "(twin run --out, or twin compare's runs/*) without running anything. The first "
                                   "folder is the baseline.")
    p.add_argument("runs", nargs="+", metavar="RUN_DIR", help="run folders; the first is the baseline")
    p.add_argument("--out", metavar="DIR", required=True, help="output folder of the report")
    _overwrite_argument(p)
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    p.set_defaults(func=_report)

    p = sub.add_parser("export-excel", help="write a scenario's network, or a folder's tables, as an Excel workbook",
                       description="For a scenario file: every table of its network as a sheet of the same name "
                                   "(numbers, dates and text typed as the network declares them, a drop-down of "
                                   "the valid values on each choice column), a `columns` sheet of each column's "
                                   "kind, description, limits and valid values, and the scenario's overrides and "
                                   "events (to read: the scenario file stays their source). For a folder (a run's, "
                                   "a plan's, a forecast's, a report's): each CSV in it as a sheet. Edit the "
                                   "network in Excel and bring it back with twin import-excel.")
    p.add_argument("source", metavar="SCENARIO_OR_FOLDER", help="scenario YAML file, or a folder of CSV tables")
    p.add_argument("--out", metavar="FILE.xlsx", required=True, help="the workbook to write")
    p.add_argument("--overwrite", action="store_true",
                   help="replace a workbook an earlier twin export-excel wrote (edits made in it since are lost); a "
                        "file sop-twin did not write is refused whatever the flags")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    p.set_defaults(func=_export_excel)

    p = sub.add_parser("import-excel", help="write a workbook's network sheets back as a checked CSV folder",
                       description="Read the network sheets of a workbook (as twin export-excel writes it; the "
                                   "columns, overrides and events sheets are not read), check them exactly as a "
                                   "network folder is checked, and write one CSV per sheet into the output "
                                   "folder. Every problem is listed with its sheet, row, column and cell, and "
                                   "then nothing is written.")
    p.add_argument("workbook", metavar="FILE.xlsx", help="the workbook")
    p.add_argument("--out", metavar="DIR", required=True, help="the network folder to write")
    _overwrite_argument(p)
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    p.set_defaults(func=_import_excel)

    p = sub.add_parser("reconcile", help="reconcile CRM, ERP, WMS and GL extracts into one layer",
                       description="Read the extracts of a folder (crm_orders.csv, erp_shipments.csv, "
                                   "erp_invoices.csv, wms_onhand.csv, gl_postings.csv and the others the README "
                                   "lists), map every system's codes to the network's SKUs and hubs (by rule, or by "
                                   "a confirmed row of aliases.csv; look-alikes are suggested, never merged), and "
                                   "write one layer: layer.duckdb (open it with DuckDB, pandas or a BI tool), a "
                                   "Parquet file per table, and variances.csv, where every disagreement between "
                                   "the sources names both files and lines, its size and a likely cause. A bad "
                                   "extract is reported with its file, row and column, and then nothing is written.")
    p.add_argument("extracts", metavar="EXTRACTS", help="the folder of extracts")
    p.add_argument("--out", metavar="DIR", required=True, help="the layer folder to write")
    p.add_argument("--network", metavar="FOLDER", help="the network whose SKUs and markets the extracts name "
                                                       "(default: the extracts folder's parent)")
    _overwrite_argument(p)
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    p.set_defaults(func=_reconcile)
    return parser


def _overwrite_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--overwrite", action="store_true",
                   help="replace what an earlier sop-twin command wrote in the output folder (it stays until the new "
                        "output is complete); without it such a folder is refused. A folder sop-twin did not write "
                        "is refused whatever the flags")


def _explain_gap_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--explain-gap", action="store_true",
                   help="also split the gap between the plan's promised fill rate and the twin's into bucketing, "
                        "demand error, lead times and breakdowns (exact Shapley values over 8 runs of up to 20 "
                        "replications each, common random numbers) into gap.csv of each run folder; the report "
                        "shows it")


def _variants_argument(p: argparse.ArgumentParser) -> None:
    from twin import pipeline

    p.add_argument("--max-variants", type=int, default=pipeline.MOST_VARIANTS, metavar="N",
                   help=f"refuse a scenario file whose competitor entries' pricing strategies make more than N "
                        f"scenario variants, each a run of its own (default {pipeline.MOST_VARIANTS})")


def _monte_carlo_arguments(p: argparse.ArgumentParser) -> None:
    _variants_argument(p)
    p.add_argument("-n", "--replications", type=int, metavar="REPS",
                   help="replications (default: the scenario's montecarlo.replications)")
    p.add_argument("--seed", type=int, metavar="S", help="seed (default: the scenario's montecarlo.seed)")
    p.add_argument("--workers", type=int, metavar="W",
                   help="local worker processes, or workers of --cluster local (default: all cores)")
    p.add_argument("--cluster", metavar="ADDRESS",
                   help="run on a Dask cluster: a scheduler address (tcp://host:8786) or `local` to start one "
                        "here; needs pip install 'sop-twin[cluster]'")
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted run in the output folder (or add replications to a finished "
                        "one); only the replications not on disk run")
    p.add_argument("--until-precision", action="append", metavar="KPI=WIDTH",
                   help="keep adding replications until the 95%% interval of KPI is within +-WIDTH (absolute, "
                        "or relative with %%: margin=1%%); repeat for several KPIs")
    p.add_argument("--max-replications", type=int, default=10_000, metavar="N",
                   help="stop --until-precision at N replications (default 10000)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar and no table")


def _solver_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("solver (default: the scenario's planning: section)")
    g.add_argument("--time-limit", type=float, metavar="SECONDS", help="HiGHS time limit; the best plan found is kept")
    g.add_argument("--threads", type=int, metavar="N", help="HiGHS threads")
    g.add_argument("--gap", type=float, metavar="G", help="relative optimality gap (MIP: integer workforce)")
    g.add_argument("--algorithm", choices=("auto", "simplex", "ipm"), help="HiGHS LP algorithm")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    for name in ("replications", "workers", "threads", "top", "max_replications"):
        if getattr(args, name, None) is not None and getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    for name in ("time_limit", "gap"):
        if getattr(args, name, None) is not None and getattr(args, name) <= 0:
            parser.error(f"--{name.replace('_', '-')} must be positive")
    from twin import pipeline

    for name in ("replications", "max_replications"):  # the scenario file's own limit
        if (getattr(args, name, None) or 0) > pipeline.MOST_REPLICATIONS:
            parser.error(f"--{name.replace('_', '-')} must be at most {pipeline.MOST_REPLICATIONS:,}")
    if getattr(args, "seed", None) is not None and args.seed < 0:
        parser.error("--seed must be 0 or more (numpy's SeedSequence takes no negative seed)")
    cores = os.cpu_count() or 1
    if (getattr(args, "threads", None) or 0) > cores:
        parser.error(f"--threads must be at most {cores}, the cores of this machine")
    try:
        return args.func(args)
    except InputError as exc:
        print(f"twin {args.command}: the input has {len(exc.problems)} problem(s):", file=sys.stderr)
        for p in exc.problems:
            print(f"  {p}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("twin: interrupted; no partial output was left looking complete"
              + ("; finished batches are kept: run again with --resume to continue"
                 if args.command in ("run", "compare") else ""),
              file=sys.stderr)
        return 130
    except Exception as exc:
        results = sys.modules.get("twin.results")
        if isinstance(exc, FolderBusy) or (results is not None and isinstance(exc, (results.RunInProgress,
                                                                                     results.RunMismatch))):
            print(f"twin {args.command}: {exc}", file=sys.stderr)
            return EXIT_BAD_INPUT
        if results is not None and isinstance(exc, results.KPIsNotFinite):
            print(f"twin {args.command}: {exc}", file=sys.stderr)
            return EXIT_REPLICATION_FAILED
        montecarlo = sys.modules.get("twin.montecarlo")
        if montecarlo is not None and isinstance(exc, montecarlo.ReplicationFailed):
            print(f"twin {args.command}: {exc}. The other replications are saved; --resume runs only the failed "
                  "ones again (run with --debug for a traceback)", file=sys.stderr)
            return EXIT_REPLICATION_FAILED
        solve = sys.modules.get("optimizer.solve")  # imported only when a plan was attempted
        if solve is not None and isinstance(exc, solve.PlanError):  # the scenario asks the impossible
            print(f"twin {args.command}: {exc}", file=sys.stderr)
            return EXIT_NO_PLAN
        if isinstance(exc, OSError) and exc.errno in DISK_FULL + NOT_WRITABLE:  # the user's disk, not a bug
            print(f"twin {args.command}: cannot write {exc.filename or 'the output'}: {exc.strerror}: "
                  + ("free some space" if exc.errno in DISK_FULL else "make it writable")
                  + ", or give another --out; what was written is in a .partial folder, never taken for finished"
                  + ("; finished batches are kept: run again with --resume to continue"
                     if args.command in ("run", "compare") else ""), file=sys.stderr)
            return EXIT_CANNOT_WRITE
        # a bug, not bad input: one line for the user, the traceback on request
        if args.debug:
            raise
        print(f"twin {args.command}: internal error: {type(exc).__name__}: {exc} "
              "(run with --debug for the traceback and please report it)", file=sys.stderr)
        return 70


def console() -> None:
    """Entry point of the ``twin`` console script."""
    sys.exit(main())
