"""The one place that wires the steps of a run (DESIGN.md §1):
load -> forecast -> timeline -> plan -> simulate -> summarise -> compare.

Every step takes plain tables and returns plain tables; this module turns the validated
scenario (``twin.scenario``) into what the steps take, so that past it nothing sees the
scenario's schema: the twin gets :class:`~twin.sim.SimInput` and a generator, the
optimizer :class:`~optimizer.PlanData`. The ``twin`` command is a thin caller of the
functions here, and so can a Python user be::

    from twin import pipeline

    if __name__ == "__main__":            # worker processes import this file again
        loaded = pipeline.load("scenarios/baseline.yaml")
        inputs, plan = pipeline.prepare(loaded)
        result = pipeline.simulate(inputs, replications=100, seed=1)

Long steps report to an optional ``progress(stage, message)`` callback (stages:
``scenario`` as a comparison starts each file, ``forecast`` before a forecast is made,
``plan`` when a plan is made, ``warning`` for what a planner must know (a solve cut off
at its time limit, a precision not reached), ``resume`` when a run continues on disk,
``precision`` when a run's intervals are as narrow as asked, ``sensitivity`` before the
runs that test a recommendation's assumptions, ``run`` when a run folder is finished); a
web page shows them, the command prints them.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from twin.errors import InputError, Problem
from twin.folders import check_out, check_room, mark, run_bytes
from twin.scenario import (MOST_REPLICATIONS, MOST_VARIANTS, LoadedScenario, Scenario, backtest_history_problems,
                           load_scenario, slug, validate_files, variants)
from twin.timeline import Axes, Timeline, compile_timeline

if TYPE_CHECKING:
    from optimizer import Plan, SolverOptions
    from reports.compare import Comparison
    from twin.demand.forecast import ForecastResult
    from twin.montecarlo import Executor, RunResult
    from twin.sim import SimInput
    from twin.sim.inputs import WeeklyForecast
    from twin.sim.rules import Rule
    from twin.sim.spikes import DetectorSettings

Progress = Callable[[str, str], None]

__all__ = ["load", "validate", "executor", "timelines", "forecast", "forecast_scenario", "sim_inputs", "prepare",
           "plan_scenario", "simulate", "run_scenario", "compare", "vary_assumptions", "report", "RunWritten",
           "PlanWritten", "ForecastWritten", "reconcile", "Reconciled", "MOST_REPLICATIONS", "MOST_VARIANTS"]

load = load_scenario
validate = validate_files


def executor(workers: int | None = None, cluster: str | None = None) -> Executor:
    """Where replications run: a Dask cluster (an address, or ``"local"``), else local processes."""
    from twin.montecarlo import executor_for

    return executor_for(workers, cluster)


def _say(progress: Progress | None, stage: str, message: str) -> None:
    if progress is not None:
        progress(stage, message)


# --- timeline ------------------------------------------------------------------------------


def first_day(sc: Scenario) -> dt.date:
    """The first simulated day: the horizon's start less its warm-up."""
    return sc.horizon.start - dt.timedelta(weeks=sc.horizon.warmup_weeks)


def timelines(loaded: LoadedScenario) -> tuple[Axes, Timeline, Timeline]:
    """The array axes, the timeline of every event (what happens) and the timeline of the
    events the plan knows of in advance (what is planned for)."""
    sc, net = loaded.scenario, loaded.network
    axes = Axes.of(net)
    start, days = first_day(sc), 7 * (sc.horizon.warmup_weeks + sc.horizon.weeks)
    actual = compile_timeline(sc.events, net, axes, start, days)
    known = compile_timeline([ev for ev in sc.events if ev.plan_knows], net, axes, start, days)
    return axes, actual, known


# --- forecast ------------------------------------------------------------------------------


def forecast(loaded: LoadedScenario, progress: Progress | None = None) -> ForecastResult | None:
    """The scenario's demand forecast (``demand.model: forecast``), made once a day per
    network and kept on disk (``twin.demand.cache``); None for the other demand models."""
    sc = loaded.scenario
    if sc.demand.model != "forecast":
        return None
    from twin.demand.forecast import remembered, scenario_forecast

    if not remembered(loaded.network, sc.horizon.end, sc.forecasting):
        _say(progress, "forecast", "Forecasting demand: a method per family by backtest (`twin forecast` shows "
                                   "the accuracy) ...")
    return scenario_forecast(loaded.network, sc.horizon.end, sc.forecasting, loaded.adjustments)


@dataclass(frozen=True)
class ForecastWritten:
    """A forecast folder written by :func:`forecast_scenario`."""

    folder: Path
    scenario: str
    result: ForecastResult
    seconds: float
    bucket: str  # "week" or "month"


def worst_skus(accuracy: pd.DataFrame, n: int = 4) -> list[str]:
    """SKUs with the most revenue-weighted error (share x WAPE of the chosen method)."""
    skus = accuracy[(accuracy["level"] == "sku") & (accuracy["method"] == "chosen")]
    return skus.assign(weight=skus["revenue_share"] * skus["wape"]).nlargest(n, "weight")["entity"].tolist()


def forecast_scenario(path: str | Path, out: str | Path, overwrite: bool = False, bucket: str = "week",
                      adjustments: str | Path | None = None) -> ForecastWritten:
    """Forecast a scenario's network to the end of its horizon (whatever its demand model)
    and write the forecast folder: forecasts, methods, backtests, accuracy, forecast value
    added, the adjustment log, the SKUs the total hides and a chart of the worst
    (``twin.results``). A forecast folder already in ``out`` is replaced only when
    ``overwrite``. ``adjustments``, an adjustment log, takes the place of the scenario's
    ``forecasting.adjustments``.

    ``bucket="month"`` forecasts in calendar months, from the daily demand of the
    reconciled layer the scenario's ``demand.history`` names (weeks do not add up to
    months, so a weekly CSV history cannot be read by month), with backtest windows of
    ``forecasting.window_weeks`` in whole months and no promotion calendar (it is kept by
    week). Monthly forecasts are made afresh: the cache keeps the weekly ones the plan reads.
    """
    from reports.figures import forecast_vs_actual, literal_text
    from twin.calendars import MONTH
    from twin.demand.forecast import (forecast_series, history_bucket, periods_to_forecast, scenario_forecast,
                                      series_frame)
    from twin.results import write_forecast

    check_out(out, overwrite)  # before the work: it is written only at the end
    loaded = load_scenario(path)
    sc, net = loaded.scenario, loaded.network
    short = backtest_history_problems(sc.forecasting, net, loaded.file)  # whatever its demand model: it forecasts here
    if short:
        raise InputError(short)
    log = loaded.adjustments
    if adjustments is not None:
        from twin.scenario import adjustment_log

        problems: list[Problem] = []
        log = adjustment_log(Path(adjustments), None, net, sc.horizon.end, sc.forecasting.window_weeks, problems)
        if problems:
            raise InputError(problems)
    if bucket == MONTH.name and sc.demand.history is None:
        raise InputError([Problem(loaded.file, "demand.history", "monthly buckets are made from a reconciled "
                                  "layer's daily demand: name the folder twin reconcile wrote here (the network's "
                                  "demand_history.csv is kept by week, and weeks do not add up to months)")])
    started = time.perf_counter()
    if bucket == MONTH.name:
        from twin.data.layer import demand_series

        monthly = demand_series(sc.demand.history, MONTH)
        last = monthly.index.get_level_values(MONTH.name).max()
        periods = MONTH.periods_until(last, sc.horizon.end)
        window = max(1, round(sc.forecasting.window_weeks * 7 / 30.44))
        result = forecast_series(series_frame(monthly, net.products["family"]), periods,
                                 net.products["price_per_unit"], fixed=dict(sc.forecasting.methods), h=window,
                                 windows=sc.forecasting.backtest_windows, refit_final=sc.forecasting.refit_final,
                                 adjustments=log)
    else:
        periods = periods_to_forecast(net, sc.horizon.end)
        result = scenario_forecast(net, sc.horizon.end, sc.forecasting, log)
    seconds = time.perf_counter() - started
    made = MONTH if bucket == MONTH.name else history_bucket(net)
    with literal_text():
        figure = forecast_vs_actual(result.holdout, worst_skus(result.accuracy),
                                    f"Worst revenue-weighted SKUs: actual vs forecast, holdout {made.name}s",
                                    per=made.name)
        write_forecast(out, result, figure, dict(scenario=sc.name, scenario_file=str(path), periods=periods,
                                                 bucket=made.name, seconds=round(seconds, 2),
                                                 sop_twin=version("sop-twin")), overwrite)
    return ForecastWritten(Path(out), sc.name, result, seconds, made.name)


def export_excel(source: str | Path, out: str | Path, overwrite: bool = False) -> dict[str, int]:
    """A scenario file's network (``twin.workbook.export_scenario``), or a folder's CSV
    tables (``export_tables``), as the workbook ``out``; rows per sheet."""
    from twin import workbook

    source = Path(source)
    if source.is_dir():
        return workbook.export_tables(source, out, overwrite)
    workbook.check_workbook_out(out, overwrite)  # before the work
    return workbook.export_scenario(load_scenario(source), out, overwrite)


def import_excel(book: str | Path, out: str | Path, overwrite: bool = False) -> dict[str, int]:
    """The workbook's network sheets as the checked network folder ``out``
    (``twin.workbook.import_workbook``); rows per table."""
    from twin.workbook import import_workbook

    return import_workbook(book, out, overwrite)


@dataclass(frozen=True)
class Reconciled:
    """A reconciled layer written to ``folder``: rows per table, its variances and its
    revenue check per fiscal period (``twin.data.layer.LAYER``)."""

    folder: Path
    rows: dict[str, int]
    variances: pd.DataFrame
    revenue: pd.DataFrame
    seconds: float


def reconcile(extracts: str | Path, out: str | Path, network: str | Path | None = None, overwrite: bool = False,
              progress: Progress | None = None) -> Reconciled:
    """Reconcile the CRM, ERP, WMS and GL extracts of folder ``extracts`` against the
    network's SKUs and markets (``network``: by default the extracts folder's parent) into
    the layer folder ``out``: ``layer.duckdb``, ``parquet/`` and the variances as CSV
    (``twin.data.reconcile``). Nothing is written unless every extract reads cleanly; a
    layer already in ``out`` is replaced only when ``overwrite``."""
    import shutil

    from twin.data.layer import write_layer
    from twin.data.reconcile import read_extracts
    from twin.data.reconcile import reconcile as build_layer
    from twin.folders import replace_folder, start_partial
    from twin.network import load_network

    extracts, out = Path(extracts), Path(out)
    network = Path(network) if network is not None else extracts.parent
    check_out(out, overwrite)  # before the work
    if not extracts.is_dir():
        raise InputError([Problem(str(extracts), "", "extracts folder not found")])
    if not (network / "products.csv").is_file():
        raise InputError([Problem(str(network), "", "holds no network (no products.csv): give --network, the network "
                                                    "folder whose SKUs and markets the extracts name")])
    started = time.perf_counter()
    net = load_network(network)
    _say(progress, "read", f"reading the extracts in {extracts}")
    x, files = read_extracts(extracts)
    _say(progress, "reconcile", f"reconciling {sum(len(f) for f in x.values()):,} rows of {len(x)} extracts")
    layer = build_layer(x, files, net)
    partial = start_partial(out, overwrite)
    try:
        rows = write_layer(layer.tables, partial)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)  # ours: nothing half-written stays
        raise
    replace_folder(partial, out)
    return Reconciled(out, rows, layer.variances, layer.tables["revenue_by_period"], time.perf_counter() - started)


def weekly_forecast(result: ForecastResult, loaded: LoadedScenario, axes: Axes, start: dt.date,
                    days: int) -> WeeklyForecast:
    """The forecast as the twin draws from it: weekly demand from ``start`` (the history for
    simulated weeks it still covers, else the forecast), which weeks are history, and each
    series' backtest errors."""
    from twin.demand.forecast import history_frame
    from twin.sim.inputs import WeeklyForecast

    market_at, sku_at = axes.at("markets"), axes.at("skus")
    starts = pd.date_range(start, periods=-(-days // 7), freq="7D")
    week_of = {d: i for i, d in enumerate(starts)}
    expected = np.zeros((len(starts), len(axes.markets), len(axes.skus)))
    history = history_frame(loaded.network).rename(columns={"ds": "week", "y": "qty"})
    for table in (result.forecasts, history):  # the history, where it reaches, overrides the forecast
        week = table["week"].map(week_of)
        t = table[week.notna()]
        expected[week.dropna().astype(int).to_numpy(), t["market"].map(market_at).to_numpy(),
                 t["sku"].map(sku_at).to_numpy()] = t["qty"].to_numpy()
    e = result.errors.assign(k=result.errors.groupby(["sku", "market"]).cumcount())
    errors = np.zeros((int(e["k"].max()) + 1, len(axes.markets), len(axes.skus)))
    errors[e["k"].to_numpy(), e["market"].map(market_at).to_numpy(), e["sku"].map(sku_at).to_numpy()] = \
        e["error"].to_numpy()
    return WeeklyForecast(expected=expected, known=np.asarray(starts.isin(history["week"].unique())), errors=errors)


# --- the twin's inputs and the plan --------------------------------------------------------


def detector_settings(sc: Scenario) -> DetectorSettings:
    """The scenario's ``spike_detector:`` as the twin uses it."""
    from twin.sim.spikes import DetectorSettings

    return DetectorSettings(**sc.spike_detector.model_dump())


def sim_rules(sc: Scenario) -> tuple[Rule, ...]:
    """The scenario's touchless rules as the twin checks them (owners and due days resolved)."""
    from twin.sim.rules import Rule

    return tuple(Rule(**r.model_dump(exclude={"owner", "due_days"}), owner=r.owner_name, due_days=r.due)
                 for r in sc.policies)


def sim_inputs(loaded: LoadedScenario, result: ForecastResult | None = None,
               progress: Progress | None = None) -> SimInput:
    """The twin's inputs for a scenario, without a plan: network, timelines, demand model,
    forecast (made here unless given) and rules."""
    from twin.sim import compile_inputs
    from twin.sim.demand import DemandModel
    from twin.sim.spikes import calibrate

    sc = loaded.scenario
    axes, actual, known = timelines(loaded)
    weekly = None
    if sc.demand.model == "forecast":
        result = result if result is not None else forecast(loaded, progress)
        weekly = weekly_forecast(result, loaded, axes, actual.first_day, actual.days)
    d = sc.demand
    inp = compile_inputs(loaded.network, axes, actual, known, name=sc.name, start=sc.horizon.start,
                         demand=DemandModel(d.model, d.cv, d.dispersion, d.scale), history_weeks=d.history_weeks,
                         supply=sc.supply, rules=sim_rules(sc), forecast=weekly)
    if any(r.trigger == "demand_spike" for r in inp.rules):
        inp = replace(inp, spike_detector=calibrate(inp, detector_settings(sc)))
    return inp


def prepare(loaded: LoadedScenario, options: SolverOptions | None = None, result: ForecastResult | None = None,
            progress: Progress | None = None) -> tuple[SimInput, Plan | None]:
    """The twin's inputs; for ``supply: plan``, the capacity plan too, attached to them.

    ``options`` default to the scenario's ``planning:`` section; ``result`` is the
    forecast (made here unless given)."""
    from twin.agreement import warmed_state
    from twin.finance.ledger import plan_ledger
    from twin.planning import plan_data, plan_schedule, solver_options

    inp = sim_inputs(loaded, result, progress)
    if loaded.scenario.supply != "plan":
        return inp, None
    from optimizer import make_plan

    start = warmed_state(inp)  # the plan starts where the warm-up leaves the network
    options = options or solver_options(loaded.scenario.planning)
    data = plan_data(loaded, inp, start)
    if progress is None:
        plan = make_plan(data, options)
    else:  # a plan cut off at its time limit warns; the warning goes to the caller's progress instead
        from optimizer import PlanTimeLimitWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PlanTimeLimitWarning)
            plan = make_plan(data, options)
        for message in plan.warnings:
            _say(progress, "warning", message)
    plan = replace(plan, ledger=plan_ledger(plan, data))
    _say(progress, "plan", f"{loaded.scenario.name}: plan {plan.status}")
    return replace(inp, plan=plan_schedule(plan, inp, start)), plan


@dataclass(frozen=True)
class PlanWritten:
    """A plan folder written by :func:`plan_scenario`."""

    folder: Path
    scenario: str
    plan: Plan


def plan_scenario(path: str | Path, out: str | Path, solver: dict | None = None,
                  progress: Progress | None = None, overwrite: bool = False) -> PlanWritten:
    """Make a scenario's capacity plan (whatever its ``supply:``) and write the plan folder;
    ``solver`` overrides keys of its ``planning:`` section. A plan folder already in ``out``
    is replaced only when ``overwrite``."""
    from twin.planning import solver_options
    from twin.results import write_plan

    check_out(out, overwrite)  # before the work: it is written only at the end
    loaded = load_scenario(path).updated(supply="plan")
    _, plan = prepare(loaded, solver_options(loaded.scenario.planning, **(solver or {})), progress=progress)
    write_plan(out, plan, dict(scenario=loaded.scenario.name, scenario_file=str(path), sop_twin=version("sop-twin")),
               overwrite)
    return PlanWritten(Path(out), loaded.scenario.name, plan)


# --- simulate ------------------------------------------------------------------------------


def simulate(inp: SimInput, replications: int, seed: int, executor: Executor | None = None,
             progress: bool = False) -> RunResult:
    """``replications`` replications of prepared inputs, in memory (``twin.montecarlo.run``)."""
    from twin.montecarlo import run

    return run(inp, replications, seed, executor, progress)


def plan_against_twin(loaded: LoadedScenario, options: SolverOptions | None = None, seed: int = 0,
                      result: ForecastResult | None = None) -> tuple[Plan, pd.DataFrame]:
    """Make the plan, run the deterministic twin on it once (``twin.agreement``) and lay the
    two side by side: the plan and the table ``plan_vs_twin.csv`` holds."""
    from twin.agreement import deterministic, deterministic_against_plan

    inp, plan = prepare(loaded.updated(supply="plan"), options, result)
    return plan, deterministic_against_plan(plan, deterministic(inp), seed)


def explain_gap(loaded: LoadedScenario, replications: int = 20, seed: int | None = None,
                executor: Executor | None = None, solver: dict | None = None) -> pd.DataFrame:
    """Where the plan's promised fill rate and the twin's differ, and why: the gap split into
    bucketing and each source of randomness (``twin.agreement.explain_gap``: exact Shapley
    values under common random numbers, ``2^3`` runs of ``replications``), with the twin's
    95 % interval as rows ``twin_ci_low`` and ``twin_ci_high``. ``solver`` overrides keys of
    the scenario's ``planning:`` section."""
    from twin.planning import solver_options

    inp, plan = prepare(loaded.updated(supply="plan"), solver_options(loaded.scenario.planning, **(solver or {})))
    seed = seed if seed is not None else loaded.scenario.montecarlo.seed
    return _gap(plan, inp, replications, seed, executor)


def _gap(plan: Plan, inp: SimInput, replications: int, seed: int, executor: Executor | None) -> pd.DataFrame:
    """:func:`twin.agreement.explain_gap`'s parts and the twin's 95 % interval (rows
    ``twin_ci_low``, ``twin_ci_high``): ``gap.csv`` of a run folder."""
    from reports.summary import summarise
    from twin.agreement import explain_gap as split

    gap, kpis = split(plan, inp, replications, seed, executor)
    row = summarise(kpis[(kpis["kpi"] == "fill_rate") & (kpis["scope"] == "total")]).iloc[0]
    interval = pd.DataFrame({"part": ["twin_ci_low", "twin_ci_high"], "value": [row["ci_low"], row["ci_high"]]})
    return pd.concat([gap, interval], ignore_index=True)


@dataclass(frozen=True)
class RunWritten:
    """A run folder written by :func:`run_scenario`: one per scenario variant."""

    folder: Path
    scenario: str
    replications: int
    seed: int
    seconds: float
    plan: Plan | None


def run_scenario(path: str | Path, out: str | Path, executor: Executor, *, replications: int | None = None,
                 seed: int | None = None, resume: bool = False, overwrite: bool = False, solver: dict | None = None,
                 precision: dict[str, tuple[float, bool]] | None = None, most: int = 10_000,
                 bars: bool = False, progress: Progress | None = None, deterministic: bool = False,
                 explain_gap: int = 0, on_plan: Callable[[Plan, str], None] | None = None,
                 most_variants: int = MOST_VARIANTS) -> list[RunWritten]:
    """Plan and simulate one scenario file into run folders (``twin.results``): once per
    pricing strategy of a competitor entry, each into a subfolder named after it.

    ``replications`` and ``seed`` default to the scenario's ``montecarlo`` section;
    ``resume`` continues or extends the runs already in ``out``, ``overwrite`` replaces them
    (each stays until its new run is complete; without either, ``out`` must be new or empty);
    ``solver`` overrides keys of its ``planning:`` section (``time_limit_seconds``, ...: part
    of what ``resume`` checks, since they make the plan);
    ``precision`` adds replications until those KPIs' intervals are narrow enough (up to
    ``most``); ``bars`` shows a progress bar per run; ``on_plan(plan, name)`` sees each
    plan as soon as it is made. ``deterministic`` runs one replication of the
    deterministic twin (``twin.agreement``: demand as forecast, lead times at their means,
    breakdowns as expected availability) and writes ``plan_vs_twin.csv`` beside the KPIs.
    ``explain_gap`` (replications per run, 0: not) splits the gap between the plan's
    promised fill rate and the twin's by source into ``gap.csv`` (:func:`explain_gap`).
    More variants than ``most_variants`` are refused before any run.
    """
    from twin.weak_points import single_points_of_failure

    loaded = load_scenario(path)
    runs = variants(loaded, most_variants)  # one per pricing strategy of a competitor entry, else the scenario
    mc = loaded.scenario.montecarlo
    n = 1 if deterministic else replications or mc.replications
    seed = seed if seed is not None else mc.seed
    weak_points = single_points_of_failure(loaded.network)
    folders = [Path(out) if len(runs) == 1 else Path(out) / slug(v.scenario.name.split(": ", 1)[-1]) for v in runs]
    for folder_path in folders:  # every variant's folder before the first runs (a folder of each strategy)
        if resume:
            check_room(folder_path, run_bytes(n))
        else:
            check_out(folder_path, overwrite, resumable=True, need=run_bytes(n))
    written = []
    for variant, folder_path in zip(runs, folders):
        written.append(_run_variant(
            variant, folder_path, executor, file=str(path), group=loaded.scenario.name,
            strategy=variant.scenario.name.split(": ", 1)[1] if len(runs) > 1 else None, replications=n, seed=seed,
            resume=resume, overwrite=overwrite, solver=solver, precision=precision, most=most, bars=bars,
            progress=progress, deterministic=deterministic, explain_gap=explain_gap, on_plan=on_plan,
            weak_points=weak_points))
    return written


def _run_variant(variant: LoadedScenario, folder_path: Path, executor: Executor, *, file: str, group: str,
                 strategy: str | None, replications: int, seed: int, resume: bool = False, overwrite: bool = False,
                 solver: dict | None = None, precision: dict[str, tuple[float, bool]] | None = None,
                 most: int = 10_000, bars: bool = False, progress: Progress | None = None,
                 deterministic: bool = False, explain_gap: int = 0,
                 on_plan: Callable[[Plan, str], None] | None = None, weak_points: pd.DataFrame | None = None,
                 moved: dict | None = None) -> RunWritten:
    """Plan and simulate one scenario (a variant of a file) into one run folder
    (:func:`run_scenario` says what the options do); ``moved`` is what ``twin.sensitivity``
    changed in it, recorded in ``run.json``."""
    from twin.agreement import plan_fill_rate
    from twin.balance import balance_tables
    from twin.finance.budget import budget_for, bridge_table, outcome_by_family, plan_by_family
    from twin.planning import solver_options
    from twin.results import RunFolder, fingerprint, precision_reached, run_to_folder
    from twin.weak_points import single_points_of_failure

    sc = variant.scenario
    given = {k: v for k, v in (solver or {}).items() if v is not None}  # solver options that make the plan
    started = time.perf_counter()
    identity = ({"fingerprint": fingerprint(variant), "seed": seed} | ({"solver": given} if given else {})
                | ({"deterministic": True} if deterministic else {}))
    folder = RunFolder(folder_path, identity, resume=resume, overwrite=overwrite)
    try:
        if folder.done:
            _say(progress, "resume", f"{sc.name}: resuming {folder.partial}, {len(folder.done)} replications "
                                     "already done")
        try:
            result = forecast(variant, progress)
            inp, plan = prepare(variant, solver_options(sc.planning, **(solver or {})), result, progress)
        except BaseException:
            folder.abandon()
            raise
        if plan is not None and on_plan is not None:
            on_plan(plan, sc.name)
        tables = {}
        if deterministic:
            from twin.agreement import deterministic as expected_world, deterministic_against_plan

            inp = expected_world(inp)
            if plan is not None:  # the same replication the run folder gets, kept whole here
                tables["plan_vs_twin"] = deterministic_against_plan(plan, inp, seed)
        total = run_to_folder(inp, folder, replications, seed, executor, progress=bars, precision=precision,
                              most=most)
        reached = precision_reached(folder, precision) if precision else None
        if reached is not None:
            _say_precision(progress, sc.name, reached, total, most)
        families = variant.network.products["family"].to_dict()
        tables |= balance_tables(plan, folder.partial, sc.horizon.start, families)
        if plan is not None and len(variant.network.budget):
            budget = budget_for(variant.network.budget, sc.horizon.start, 7 * sc.horizon.weeks, variant.network.fiscal)
            tables["bridge"] = bridge_table(budget, plan_by_family(plan, families), outcome_by_family(folder.kpis()))
        if explain_gap and plan is not None and not deterministic:
            _say(progress, "gap", f"{sc.name}: splitting the plan-to-twin gap by source ({explain_gap} "
                                  "replications x 8 runs)")
            tables["gap"] = _gap(plan, inp, explain_gap, seed, executor)
        seconds = time.perf_counter() - started
        meta = dict(scenario=sc.name, description=sc.description, scenario_file=file, group=group, strategy=strategy,
                    start=str(sc.horizon.start), supply=sc.supply, seed=seed, deterministic=deterministic,
                    solver=given or None, executor=executor.where, workers=executor.workers,
                    seconds=round(seconds, 3),
                    until_precision={r.kpi: {"asked": precision[r.kpi][0], "relative": precision[r.kpi][1],
                                             "target": r.target, "half_width": r.half_width, "met": bool(r.met)}
                                     for r in reached.itertuples()} if reached is not None else None,
                    fill_rate_targets=variant.network.markets["fill_rate_target"].to_dict(),
                    family_fill_rate_targets=variant.network.family_targets(),
                    plan_fill_rate=plan_fill_rate(plan) if plan is not None else None,
                    sensitivity=moved, sop_twin=version("sop-twin"))
        if weak_points is None:
            weak_points = single_points_of_failure(variant.network)
        folder.finish(meta, plan, result, weak_points, tables)
    finally:
        folder.release()  # the next process may write it, whether this run finished or not
    planned = f"plan {plan.status}, " if plan is not None else ""
    _say(progress, "run", f"{sc.name}: {planned}{total} replication{'s' if total != 1 else ''}, seed {seed}, "
                          f"{seconds:.1f} s on {executor.workers} worker(s), {executor.where}")
    return RunWritten(folder_path, sc.name, total, seed, seconds, plan)


def _say_precision(progress: Progress | None, name: str, reached: pd.DataFrame, total: int, most: int) -> None:
    """Whether ``--until-precision`` reached its targets, and if not why it stopped."""
    widths = ", ".join(f"{r.kpi} ±{r.half_width:.4g} (asked ±{r.target:.4g})" for r in reached.itertuples())
    if reached["met"].all():
        _say(progress, "precision", f"{name}: precision reached with {total} replications: {widths}")
    else:
        _say(progress, "warning", f"{name}: precision not reached: stopped at the most replications allowed, "
                                  f"{most:,} (--max-replications), with {widths}; raise --max-replications or "
                                  "ask for a wider interval")


def _check_before_comparing(paths: list[str | Path], most_variants: int) -> None:
    """Every file's problems, and names two scenarios share, in one error before the first
    run: not after an hour of runs."""
    problems: list[Problem] = []
    files: dict[str, list[str]] = {}
    for path in paths:
        try:
            for variant in variants(load_scenario(path), most_variants):
                files.setdefault(variant.scenario.name, []).append(str(path))
        except InputError as exc:
            problems += exc.problems
    for name, where in files.items():
        if len(where) > 1:
            problems.append(Problem(", ".join(where), "name", f"{name!r}: the name of more than one scenario; a "
                                    "comparison tells them apart by name: rename all but one"))
    if problems:
        raise InputError(problems)


def compare(paths: list[str | Path], out: str | Path, executor: Executor, *, seed: int | None = None,
            sensitivity: bool = True, **options) -> list[RunWritten]:
    """Run every scenario file into ``out/runs/<file name>`` with one seed (the first file's
    unless given): replication i of every scenario sees the same demand draws and
    breakdowns (common random numbers), so the differences from the first, the baseline,
    are paired. Then, unless not ``sensitivity``, the runs that move each assumption the
    recommendation rests on (:func:`vary_assumptions`), into ``out/sensitivity``.
    ``options`` go to :func:`run_scenario`."""
    stems = [Path(p).stem for p in paths]
    if len(set(stems)) < len(stems):
        raise InputError([Problem(" ".join(map(str, paths)), "", "each scenario file once, please: the runs are "
                                  "stored by file name under runs/")])
    _check_before_comparing(paths, options.get("most_variants", MOST_VARIANTS))
    first = load_scenario(paths[0]).scenario.montecarlo
    seed = seed if seed is not None else first.seed
    # before any work: the runs go under it, the report into it
    out = check_out(out, options.get("overwrite", False) or options.get("resume", False), resumable=True,
                    need=len(paths) * run_bytes(options.get("replications") or first.replications))
    out.mkdir(parents=True, exist_ok=True)
    mark(out)
    written: list[RunWritten] = []
    for i, (path, stem) in enumerate(zip(paths, stems), 1):
        _say(options.get("progress"), "scenario", f"Scenario {i} of {len(paths)}: {path}")
        written += run_scenario(path, Path(out) / "runs" / stem, executor, seed=seed, **options)
    if sensitivity:
        written += vary_assumptions(paths, written, Path(out) / "sensitivity", executor,
                                    **{k: options[k] for k in ("resume", "overwrite", "solver", "bars", "progress")
                                       if k in options})
    return written


def vary_assumptions(paths: list[str | Path], written: list[RunWritten], out: Path, executor: Executor,
                     **options) -> list[RunWritten]:
    """The runs that test what the comparison of ``written`` (the first the baseline)
    recommends (``twin.sensitivity``): each key assumption of each choice and named risk at
    both ends of its range, then at each break-even found; each with the seed and
    replications of the run it varies, into ``out/<scenario>/<assumption>-<value>``.
    ``options`` (resume, overwrite, solver, bars, progress) as for :func:`run_scenario`."""
    from optimizer import PlanError
    from reports.compare import break_even_results, compare as compare_runs, subjects
    from twin.sensitivity import first_points, refinements

    # the runs it varies have run: their variants passed the cap already
    loaded = {v.scenario.name: (v, str(path)) for path in paths for v in variants(load_scenario(path), sys.maxsize)}
    baseline_events = tuple(load_scenario(paths[0]).scenario.events)
    base = {w.scenario: w for w in written}
    progress = options.get("progress")

    def run_points(points) -> list[RunWritten]:
        if points:
            _say(progress, "sensitivity", f"Testing the recommendation's assumptions: {len(points)} more run"
                                          f"{'s' if len(points) > 1 else ''} of {base[points[0].of].replications} "
                                          "replications each (--no-sensitivity skips them)")
        done = []
        for point in points:
            variant, file = loaded[point.of]
            moved = point.assumption.at(variant, point.value)
            folder = out / slug(point.of) / slug(f"{point.assumption.label} {point.assumption.text(point.value)}")
            try:
                done.append(_run_variant(moved, folder, executor, file=file, group=moved.scenario.name, strategy=None,
                                         replications=base[point.of].replications, seed=base[point.of].seed,
                                         moved=point.meta, **options))
            except PlanError as exc:  # an assumption at an extreme of its range may have no plan: the rest stands
                _say(progress, "warning", f"{moved.scenario.name}: no plan ({exc}); the tornado and the break-even "
                                          "go without this value")
        return done

    variants_of = {name: v for name, (v, _) in loaded.items()}
    first = run_points(first_points(subjects(compare_runs([w.folder for w in written])), variants_of,
                                    baseline_events))
    c = compare_runs([w.folder for w in written + first])
    done = {(r.of, r.assumption, float(r.value)) for r in c.sensitivity.itertuples()}
    return first + run_points(refinements(variants_of, break_even_results(c), done))


def report(folders: list[Path], out: str | Path, overwrite: bool = False) -> tuple[Comparison, Path]:
    """The comparison of finished run folders (the first is the baseline) and the report
    folder written from it (a report already in ``out`` is replaced only when
    ``overwrite``); returns both, the report's page last."""
    from reports.compare import compare as compare_runs
    from reports.render import write_report

    comparison = compare_runs(folders)
    return comparison, write_report(comparison, Path(out), overwrite=overwrite)
