"""The supply-chain network as tables keyed by ID, loaded from a folder of CSV files.

Every table is declared once in :data:`TABLES`: its file, key, columns, units (in the
column names), defaults and the tables its columns refer to. Loading parses and checks
all of it and raises one :class:`~twin.errors.InputError` listing every problem with
its file, row and column. Past :func:`load_network`, code trusts the tables.

Sites (suppliers, plants, hubs, partners, markets) share one ID space so that a lane's
``origin`` and ``destination`` name a site unambiguously.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx
import pandas as pd

from twin.calendars import WEEKDAYS, FiscalCalendar
from twin.data.tables import Column, Kind, TableSpec, duplicate_keys, parse, read_csv, report, row_place
from twin.errors import InputError, Problem, choices

DEFAULT_FILL_RATE_TARGET = 0.95  # of a market or family whose table gives none
DEFAULT_PAYMENT_TERMS_DAYS = 30.0  # of a market, supplier or partner whose table gives none


def _id(name: str, description: str) -> Column:
    return Column(name, "id", description)


def _ref(name: str, *tables: str, description: str = "", required: bool = True) -> Column:
    return Column(name, "str", description or f"ID in {' or '.join(tables)}", required=required, ref=tables)


def _num(name: str, description: str, *, lo: float | None = 0.0, hi: float | None = None,
         required: bool = True, default: Any = None, kind: Kind = "float") -> Column:
    return Column(name, kind, description, required=required, default=default, min=lo, max=hi)


SITE_TABLES = ("suppliers", "plants", "hubs", "partners", "markets")
POLICIES = ("base_stock", "sS", "rQ")
OPENING_BALANCES = ("cash", "receivables", "payables")

TABLES: dict[str, TableSpec] = {
    t.name: t
    for t in (
        TableSpec("products", ("sku",), (
            _id("sku", "stock-keeping unit"),
            Column("name", "str", "product name"),
            Column("family", "str", "product family (forecasting and reporting level)"),
            _num("price_per_unit", "selling price"),
            _num("cost_per_unit", "standard cost, used to value inventory"),
            _num("shortage_cost_per_unit", "goodwill penalty per unit not shipped on time",
                 required=False, default=0.0),
        ), "what is sold"),
        TableSpec("families", ("family",), (
            _id("family", "product family, as products.csv names it"),
            Column("name", "str", "family name", required=False),
            _num("fill_rate_target", "target fill rate", hi=1.0, required=False, default=DEFAULT_FILL_RATE_TARGET),
        ), f"product families' service targets (a family without a row: {DEFAULT_FILL_RATE_TARGET:g})", optional=True),
        TableSpec("materials", ("material",), (
            _id("material", "purchased material"),
            Column("name", "str", "material name"),
            _num("cost_per_unit", "purchase price"),
        ), "what is bought"),
        TableSpec("suppliers", ("supplier",), (
            _id("supplier", "supplier site"),
            Column("name", "str", "supplier name"),
            _num("reliability", "probability that a weekly delivery leaves on time", hi=1.0),
            _num("late_days", "days a late delivery slips", required=False, default=0.0),
            _num("payment_terms_days", "days from a delivery's dispatch until it is paid", required=False,
                 default=DEFAULT_PAYMENT_TERMS_DAYS),
            _num("down_payment_share", "share of a delivery's value paid when it is dispatched, the rest after "
                 "the payment terms", hi=1.0, required=False, default=0.0),
        ), "who sells materials"),
        TableSpec("supplier_materials", ("supplier", "material"), (
            _ref("supplier", "suppliers"),
            _ref("material", "materials"),
            _num("capacity_units_per_week", "most the supplier ships per week"),
        ), "which supplier sells which material, and how much per week"),
        TableSpec("ports", ("port",), (
            _id("port", "sea port that lanes pass through"),
            Column("name", "str", "port name"),
        ), "ports, so that a port closure can close every lane via it"),
        TableSpec("plants", ("plant",), (
            _id("plant", "plant site"),
            Column("name", "str", "plant name"),
            _num("material_cover_days", "raw-material stock the plant orders up to, in days of use",
                 required=False, default=14.0),
        ), "where lines are"),
        TableSpec("lines", ("line",), (
            _id("line", "production line"),
            _ref("plant", "plants"),
            Column("name", "str", "line name"),
            _num("hours_per_week", "regular hours available per week", hi=168.0),
            _num("overtime_hours_per_week_max", "overtime cap per week", hi=168.0),
            _num("cost_per_hour", "cost of a regular hour"),
            _num("overtime_cost_per_hour", "cost of an overtime hour"),
            # at least an hour: a breakdown a second would be billions of events a year, not a line
            _num("mtbf_hours", "mean operating hours between breakdowns (empty: never breaks down)",
                 lo=1.0, required=False),
            _num("mttr_hours", "mean hours to repair", required=False, default=0.0),
        ), "production lines with their hours, costs and reliability"),
        TableSpec("routings", ("line", "sku"), (
            _ref("line", "lines"),
            _ref("sku", "products"),
            _num("hours_per_unit", "line hours per unit made", lo=1e-9),
        ), "which line can make which SKU, and how fast"),
        TableSpec("bom", ("sku", "material"), (
            _ref("sku", "products"),
            _ref("material", "materials"),
            _num("qty_per_unit", "material units per unit of SKU", lo=1e-9),
        ), "bill of materials"),
        TableSpec("hubs", ("hub",), (
            _id("hub", "distribution centre"),
            Column("name", "str", "hub name"),
            _num("storage_capacity_units", "most units the hub can hold"),
            _num("holding_cost_rate_per_year", "holding cost as a fraction of unit cost per year"),
            _num("review_period_days", "days between replenishment reviews", lo=1, kind="int"),
        ), "distribution centres"),
        TableSpec("hub_policies", ("hub", "sku"), (
            _ref("hub", "hubs"),
            _ref("sku", "products"),
            _ref("source", "plants", "hubs", "partners", description="site that replenishes this SKU here"),
            Column("policy", "choice", "inventory policy", choices=POLICIES),
            _num("initial_units", "on hand at the start"),
            _num("reorder_point_units", "s of (s,S), r of (r,Q)", required=False),
            _num("order_up_to_units", "S of (s,S) and of base-stock", required=False),
            _num("order_quantity_units", "Q of (r,Q)", required=False),
        ), "inventory policy per hub and SKU"),
        TableSpec("partners", ("partner",), (
            _id("partner", "outsourcing partner"),
            Column("name", "str", "partner name"),
            _num("capacity_units_per_week", "most units the partner makes per week"),
            _num("lead_time_days", "days from order to dispatch"),
            _num("payment_terms_days", "days from a dispatch until it is paid", required=False,
                 default=DEFAULT_PAYMENT_TERMS_DAYS),
        ), "outsourcing partners"),
        TableSpec("partner_skus", ("partner", "sku"), (
            _ref("partner", "partners"),
            _ref("sku", "products"),
            _num("cost_per_unit", "price the partner charges per unit"),
        ), "which partner can make which SKU, at what price"),
        TableSpec("markets", ("market",), (
            _id("market", "customer region"),
            Column("name", "str", "market name"),
            _ref("hub", "hubs", description="hub that serves the market"),
            Column("unmet_demand", "choice", "what happens to demand not served from stock",
                   choices=("backorder", "lost_sales")),
            _num("fill_rate_target", "target fill rate", hi=1.0, required=False, default=DEFAULT_FILL_RATE_TARGET),
            _num("payment_terms_days", "days from a delivery until the customer pays", required=False,
                 default=DEFAULT_PAYMENT_TERMS_DAYS),
            _num("down_payment_share", "share of a delivery's value the customer pays on the day it is delivered, "
                 "the rest after the payment terms", hi=1.0, required=False, default=0.0),
        ), "markets"),
        TableSpec("lanes", ("lane",), (
            _id("lane", "transport lane"),
            _ref("origin", "suppliers", "plants", "hubs", "partners"),
            _ref("destination", "plants", "hubs", "markets"),
            Column("mode", "choice", "transport mode", choices=("road", "rail", "sea", "air")),
            _num("lead_time_days", "mean transit days"),
            _num("lead_time_sd_days", "standard deviation of transit days", required=False, default=0.0),
            Column("lead_time_distribution", "choice", "transit-time distribution",
                   required=False, default="fixed", choices=("fixed", "lognormal")),
            _num("cost_per_unit", "transport cost per unit"),
            _num("capacity_units_per_week", "most units per week (empty: unlimited)", required=False),
            _ref("via", "ports", required=False, description="port the lane passes through"),
        ), "transport lanes between sites"),
        TableSpec("demand_history", ("sku", "market", "week"), (
            _ref("sku", "products"),
            _ref("market", "markets"),
            Column("week", "date", "Monday of the week, YYYY-MM-DD"),
            _num("qty", "units ordered in the week"),
        ), "weekly demand history per SKU and market"),
        TableSpec("promotions", ("sku", "market", "week"), (
            _ref("sku", "products"),
            _ref("market", "markets"),
            Column("week", "date", "Monday of the promoted week, YYYY-MM-DD"),
            _num("discount_pct", "price discount in percent", hi=100.0),
        ), "promotion calendar (past and planned)", optional=True),
        TableSpec("workforce", ("plant",), (
            _ref("plant", "plants"),
            _num("workers_initial", "workers employed at the start"),
            _num("hours_per_worker_per_week", "regular hours one worker works per week", lo=1e-9),
            _num("overtime_hours_per_worker_per_week_max", "overtime cap per worker per week"),
            _num("cost_per_worker_per_week", "regular wage per worker per week"),
            _num("hire_cost_per_worker", "cost of hiring one worker"),
            _num("layoff_cost_per_worker", "cost of laying off one worker"),
        ), "plant workforces the capacity plan may hire or lay off (a plant without a row: not modelled)",
            optional=True),
        TableSpec("budget", ("family", "month"), (
            Column("family", "str", "product family (products.csv)"),
            Column("month", "date", "the month's first day, YYYY-MM-DD"),
            _num("volume_units", "units budgeted to be delivered in the month"),
            _num("price_per_unit", "budgeted price per unit"),
            _num("cost_per_unit", "budgeted cost per unit delivered (the accounting costs: materials, hours, "
                 "outsourcing, transport, holding)"),
        ), "the budget per product family and calendar month, or fiscal period where fiscal_calendar.csv declares "
           "the calendar (month: the period's first day): the start of the bridge from budget to plan to outcome",
            optional=True),
        TableSpec("fiscal_calendar", ("year_end_month",), (
            _num("year_end_month", "the month the fiscal year ends in (1 to 12)", lo=1, hi=12, kind="int"),
            Column("week_ends_on", "choice", "the weekday every fiscal week (and year) ends on", choices=WEEKDAYS),
            Column("rule", "choice", "the year ends on the last such weekday of its month, or the one nearest the "
                   "month's end", required=False, default="last", choices=("last", "nearest")),
            Column("pattern", "choice", "weeks per period in each quarter (a 53rd week joins the year's last period)",
                   required=False, default="4-4-5", choices=("4-4-5", "4-5-4", "5-4-4")),
            Column("label", "choice", "a fiscal year is named after the calendar year it ends in or begins in",
                   required=False, default="end", choices=("end", "start")),
        ), "the company's 52-53-week fiscal calendar, one row (twin.calendars); without it, budgets are by "
           "calendar month", optional=True),
        TableSpec("opening_balances", ("balance",), (
            Column("balance", "choice", "which balance", choices=OPENING_BALANCES),
            _num("amount", "the balance at the horizon's start, from the books (cash below 0 is an overdraft)",
                 lo=None),
        ), "the books at the horizon's start (without a row: cash 0; receivables and payables as the twin's "
           "warm-up leaves them)", optional=True),
    )
}


def _fiscal(row: pd.Series) -> FiscalCalendar:
    return FiscalCalendar(year_end_month=int(row["year_end_month"]), week_ends_on=row["week_ends_on"],
                          rule=row["rule"], pattern=tuple(int(w) for w in row["pattern"].split("-")),
                          label=row["label"])


@dataclass(frozen=True)
class Network:
    """The network's tables, each indexed by its key. Built by :func:`load_network`."""

    products: pd.DataFrame
    families: pd.DataFrame
    materials: pd.DataFrame
    suppliers: pd.DataFrame
    supplier_materials: pd.DataFrame
    ports: pd.DataFrame
    plants: pd.DataFrame
    lines: pd.DataFrame
    routings: pd.DataFrame
    bom: pd.DataFrame
    hubs: pd.DataFrame
    hub_policies: pd.DataFrame
    partners: pd.DataFrame
    partner_skus: pd.DataFrame
    markets: pd.DataFrame
    lanes: pd.DataFrame
    demand_history: pd.DataFrame
    promotions: pd.DataFrame
    workforce: pd.DataFrame
    budget: pd.DataFrame
    opening_balances: pd.DataFrame
    fiscal_calendar: pd.DataFrame
    source: str = ""

    @property
    def fiscal(self) -> FiscalCalendar | None:
        """The fiscal calendar of ``fiscal_calendar.csv``; None: budgets are by calendar month."""
        if self.fiscal_calendar.empty:
            return None
        return _fiscal(self.fiscal_calendar.reset_index().iloc[0])

    def table(self, name: str) -> pd.DataFrame:
        return getattr(self, name)

    def family_targets(self) -> dict[str, float]:
        """Every product family's fill-rate target as ``families.csv`` gives it (the default
        for a family it does not list)."""
        given = self.families["fill_rate_target"]
        return {f: float(given.get(f, DEFAULT_FILL_RATE_TARGET)) for f in sorted(self.products["family"].unique())}

    def site_kind(self) -> dict[str, str]:
        """Map every site ID to its table name (``"plants"``, ``"hubs"``, …)."""
        return {sid: t for t in SITE_TABLES for sid in self.table(t).index}

    def lane_between(self, origin: str, destination: str) -> str | None:
        """The lane from ``origin`` to ``destination`` (the first by ID when several)."""
        hit = self.lanes.index[(self.lanes["origin"] == origin) & (self.lanes["destination"] == destination)]
        return str(sorted(hit)[0]) if len(hit) else None


Overrides = dict[str, dict[str, dict[str, Any]]]


def load_network(folder: str | Path, overrides: Overrides | None = None,
                 overrides_file: str = "scenario") -> Network:
    """Read and check every table of a network folder.

    Parameters
    ----------
    folder : path
        Folder holding one ``<table>.csv`` per entry of :data:`TABLES`.
    overrides : dict, optional
        ``{table: {row_id: {column: value}}}`` patches applied before checking;
        composite keys are written ``"H1/SKU01"``. Problems in them are reported
        against ``overrides_file`` and their YAML path.
    overrides_file : str
        Name of the file the overrides came from, for messages.

    Raises
    ------
    InputError
        Listing every problem found, each with its file, row and column.
    """
    folder = Path(folder)
    problems: list[Problem] = []
    if not folder.is_dir():
        raise InputError([Problem(str(folder), "", "network folder not found")])
    raw: dict[str, pd.DataFrame] = {}
    for spec in TABLES.values():
        frame = read_csv(folder / spec.file, spec, problems)
        if frame is not None:
            raw[spec.name] = frame
    if problems:
        raise InputError(problems)
    overridden: dict[tuple[str, int, str], str] = {}
    if overrides:
        overridden = _apply_overrides(raw, overrides, overrides_file, problems)
    parsed = {name: parse(TABLES[name], frame, str(folder / TABLES[name].file), problems) for name, frame in raw.items()}
    if overridden:
        problems[:] = [_blame_override(p, folder, overridden) for p in problems]
    if problems:
        raise InputError(problems)
    _check_keys(parsed, folder, problems)
    _check_references(parsed, folder, problems)
    if problems:
        raise InputError(problems)
    _check_network(parsed, folder, problems)
    if problems:
        raise InputError(problems)
    tables = {n: df.set_index(list(TABLES[n].key)).sort_index() for n, df in parsed.items()}
    return Network(**tables, source=str(folder))


def _check_keys(parsed: dict[str, pd.DataFrame], folder: Path, problems: list[Problem]) -> None:
    for name, df in parsed.items():
        duplicate_keys(TABLES[name], df, str(folder / TABLES[name].file), problems)
    seen: dict[str, str] = {}
    for name in SITE_TABLES:
        for i, sid in parsed[name][TABLES[name].key[0]].items():
            if sid in seen and seen[sid] != name:
                problems.append(Problem(str(folder / TABLES[name].file), row_place(i, TABLES[name].key[0]),
                                        f"{sid!r} is already a site ID in {seen[sid]}.csv; site IDs must be unique"))
            seen.setdefault(sid, name)


def _check_references(parsed: dict[str, pd.DataFrame], folder: Path, problems: list[Problem]) -> None:
    ids = {n: set(parsed[n][TABLES[n].key[0]]) for n in TABLES if len(TABLES[n].key) == 1}
    for name, spec in TABLES.items():
        for col in spec.columns:
            if not col.ref:
                continue
            valid = set().union(*(ids[t] for t in col.ref))
            s = parsed[name][col.name]
            bad = s.notna() & ~s.isin(valid)
            if bad.any():
                report(problems, str(folder / spec.file), s.index[bad], col.name, s,
                        f"unknown ID in {' / '.join(col.ref)}; {choices(valid)}")


def _check_network(p: dict[str, pd.DataFrame], folder: Path, problems: list[Problem]) -> None:
    """Checks across tables: what the model needs to run at all."""

    def err(table: str, i: int | None, column: str, message: str) -> None:
        problems.append(Problem(str(folder / TABLES[table].file), row_place(i, column) if i is not None else "", message))

    kind = {sid: t for t in SITE_TABLES for sid in p[t][TABLES[t].key[0]]}
    lanes = p["lanes"]
    lane_pairs = set(zip(lanes["origin"], lanes["destination"]))
    for i, row in lanes.iterrows():
        o, d = kind[row["origin"]], kind[row["destination"]]
        allowed = {"suppliers": {"plants"}, "plants": {"hubs"}, "partners": {"hubs"},
                   "hubs": {"hubs", "markets"}}[o]
        if d not in allowed:
            err("lanes", i, "destination", f"a lane from a {o[:-1]} cannot go to a {d[:-1]}; "
                f"it may go to: {', '.join(sorted(allowed))}")
        if row["lead_time_distribution"] == "lognormal" and row["lead_time_sd_days"] > 0 and row["lead_time_days"] <= 0:
            err("lanes", i, "lead_time_days", "a lognormal lead time needs a positive mean")

    families = set(p["products"]["family"])
    for table in ("families", "budget"):
        for i, family in p[table]["family"].items():
            if family not in families:
                err(table, i, "family", f"{family!r}: no product is of this family; {choices(families)}")
    if len(p["fiscal_calendar"]) > 1:
        err("fiscal_calendar", 1, "year_end_month", "one fiscal calendar only: the file has "
            f"{len(p['fiscal_calendar'])} rows")
    fiscal = _fiscal(p["fiscal_calendar"].iloc[0]) if len(p["fiscal_calendar"]) == 1 else None
    for i, month in p["budget"]["month"].items():
        if pd.isna(month):
            continue
        if fiscal is None and month.day != 1:
            err("budget", i, "month", f"{month:%Y-%m-%d} is not a month's first day (e.g. {month:%Y-%m}-01)")
        elif fiscal is not None and (start := fiscal.period_start_on_or_before(month.date())) != month.date():
            err("budget", i, "month", f"{month:%Y-%m-%d} is not a fiscal period's first day (fiscal_calendar.csv): "
                f"the period it falls in begins on {start:%Y-%m-%d}")
    for i, row in p["opening_balances"].iterrows():
        if row["balance"] in ("receivables", "payables") and row["amount"] < 0:
            err("opening_balances", i, "amount", f"{row['amount']:g}: {row['balance']} cannot be below 0")

    made_by = p["routings"].groupby("sku")["line"].apply(set).to_dict()
    line_plant = dict(zip(p["lines"]["line"], p["lines"]["plant"]))
    partner_makes = set(zip(p["partner_skus"]["partner"], p["partner_skus"]["sku"]))
    for i, sku in p["products"]["sku"].items():
        if sku not in made_by:
            err("products", i, "sku", f"{sku!r}: no line can make this SKU (add it to routings.csv)")

    supplied = set(p["supplier_materials"]["material"])
    material_suppliers = p["supplier_materials"].groupby("material")["supplier"].apply(set).to_dict()
    for i, m in p["bom"]["material"].items():
        if m not in supplied:
            err("bom", i, "material", f"{m!r}: no supplier sells this material (add it to supplier_materials.csv)")
    bom_materials = p["bom"].groupby("sku")["material"].apply(set).to_dict()
    for i, r in p["routings"].iterrows():
        plant = line_plant[r["line"]]
        for m in sorted(bom_materials.get(r["sku"], ())):
            if not any((s, plant) in lane_pairs for s in material_suppliers.get(m, ())):
                err("routings", i, "line", f"{r['line']} makes {r['sku']}, which needs {m}, but no lane brings "
                    f"{m} to plant {plant} from a supplier of it ({', '.join(sorted(material_suppliers.get(m, ())))})")

    policies = p["hub_policies"]
    stocked = set(zip(policies["hub"], policies["sku"]))
    for i, r in policies.iterrows():
        src, hub, sku = r["source"], r["hub"], r["sku"]
        if (src, hub) not in lane_pairs:
            err("hub_policies", i, "source", f"no lane from {src} to {hub} (add one to lanes.csv)")
        if kind[src] == "plants" and not any(line_plant[l] == src for l in made_by.get(sku, ())):
            err("hub_policies", i, "source", f"plant {src} has no line that makes {sku}")
        if kind[src] == "partners" and (src, sku) not in partner_makes:
            err("hub_policies", i, "source", f"partner {src} does not make {sku} (see partner_skus.csv)")
        if kind[src] == "hubs" and (src, sku) not in stocked:
            err("hub_policies", i, "source", f"hub {src} does not stock {sku}")
        if src == hub:
            err("hub_policies", i, "source", f"hub {hub} cannot replenish itself")
        needs = {"base_stock": ("order_up_to_units",), "sS": ("reorder_point_units", "order_up_to_units"),
                 "rQ": ("reorder_point_units", "order_quantity_units")}[r["policy"]]
        for c in needs:
            if pd.isna(r[c]):
                err("hub_policies", i, c, f"policy {r['policy']} needs {', '.join(needs)}")
        if r["policy"] == "sS" and not pd.isna(r["reorder_point_units"]) and not pd.isna(r["order_up_to_units"]) \
                and r["reorder_point_units"] >= r["order_up_to_units"]:
            err("hub_policies", i, "order_up_to_units", "S must be greater than s in an (s,S) policy")
        if r["policy"] == "rQ" and r["order_quantity_units"] == 0:
            err("hub_policies", i, "order_quantity_units", "Q must be positive in an (r,Q) policy")

    market_hub = dict(zip(p["markets"]["market"], p["markets"]["hub"]))
    for i, r in p["markets"].iterrows():
        if (r["hub"], r["market"]) not in lane_pairs:
            err("markets", i, "hub", f"market {r['market']} is unreachable: no lane from its hub {r['hub']} to it")
    demanded = p["demand_history"].groupby(["market", "sku"]).size().index
    reported: set[tuple[str, str]] = set()
    for market, sku in demanded:
        hub = market_hub[market]
        if (hub, sku) not in stocked and (hub, sku) not in reported:
            reported.add((hub, sku))
            err("hub_policies", None, "", f"hub {hub} serves market {market}, which has demand for {sku}, "
                f"but has no policy for {sku}")
    # every hub's supply chain must end at a maker, not loop between hubs
    g = nx.DiGraph((r["source"], r["hub"]) for _, r in policies.iterrows() if kind[r["source"]] == "hubs")
    for cycle in nx.simple_cycles(g):
        err("hub_policies", None, "source", f"hubs replenish each other in a loop: {' -> '.join(cycle + cycle[:1])}")


def _blame_override(problem: Problem, folder: Path, overridden: dict[tuple[str, int, str], str]) -> Problem:
    """Point a problem in a cell that a scenario set at the scenario's YAML path as well."""
    for (table, i, column), source in overridden.items():
        if problem.file == str(folder / TABLES[table].file) and problem.where == row_place(i, column):
            return Problem(problem.file, problem.where, f"{problem.message} (value set by {source})")
    return problem


def _apply_overrides(raw: dict[str, pd.DataFrame], overrides: Overrides, file: str,
                     problems: list[Problem]) -> dict[tuple[str, int, str], str]:
    """Patch rows by ID; return the cells patched, each with the scenario place that set it."""
    patched: dict[tuple[str, int, str], str] = {}
    for table, rows in overrides.items():
        where = f"overrides.{table}"
        if table not in raw:
            problems.append(Problem(file, where, f"unknown table; {choices(TABLES)}"))
            continue
        spec, frame = TABLES[table], raw[table]
        keys = frame[list(spec.key)].agg("/".join, axis=1)
        position = {k: i for i, k in zip(frame.index, keys)}
        names = {c.name for c in spec.columns} - set(spec.key)
        for row_id, patch in rows.items():
            if row_id not in position:
                problems.append(Problem(file, f"{where}.{row_id}", f"unknown {'/'.join(spec.key)}; {choices(keys)}"))
                continue
            for column, value in patch.items():
                if column not in names:
                    problems.append(Problem(file, f"{where}.{row_id}.{column}", f"unknown column; {choices(names)}"))
                    continue
                frame.loc[position[row_id], column] = "" if value is None else str(value)
                patched[(table, position[row_id], column)] = f"{file}: {where}.{row_id}.{column}"
    return patched


def expected_columns(table: str) -> list[str]:
    """Column names of a table, in file order (for writers of network folders)."""
    return [c.name for c in TABLES[table].columns]

