"""Shared helpers: a one-hub network written from a few numbers, for analytic tests, and a
report page opened in headless Chromium."""

from __future__ import annotations

import os
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "scenarios"
# published data inside another package's wheel, fetched by `make test` beside the venv's packages
SKTIME_WHEEL = Path(sys.prefix) / "wheels" / "sktime-1.2.0-py3-none-any.whl"


def sktime_data(member: str) -> pd.DataFrame:
    """A CSV shipped in sktime's wheel (``sktime/datasets/data/...``), read from the wheel."""
    if not SKTIME_WHEEL.exists():
        pytest.fail(f"{SKTIME_WHEEL} is missing: `make test` fetches it (pip download --no-deps sktime==1.2.0)")
    with zipfile.ZipFile(SKTIME_WHEEL) as wheel, wheel.open(f"sktime/datasets/data/{member}") as f:
        return pd.read_csv(f)

EMPTY = {
    "materials": "material,name,cost_per_unit",
    "suppliers": "supplier,name,reliability,late_days",
    "supplier_materials": "supplier,material,capacity_units_per_week",
    "bom": "sku,material,qty_per_unit",
    "ports": "port,name",
    "partners": "partner,name,capacity_units_per_week,lead_time_days",
    "partner_skus": "partner,sku,cost_per_unit",
}


def write_single_hub(folder: Path, *, daily_mean: float = 4.0, lane_days: float = 3, base_stock: float = 20,
                     review_days: int = 1, unmet: str = "backorder", line_hours_per_week: float = 168,
                     hours_per_unit: float = 0.001, history_weeks: int = 60, lane_sd_days: float = 0.0,
                     mtbf_hours: str = "", mttr_hours: float = 0.0, overtime_hours_per_week: float = 0.0,
                     partner: dict | None = None, via_port: bool = False, material: dict | None = None,
                     market_terms_days: float | None = None) -> Path:
    """One SKU, one plant with one line, one hub, one market: the textbook single-stage system.

    The history is the same every week (7 x ``daily_mean``), so the demand models'
    mean per day is exactly ``daily_mean`` and the empirical model draws exactly that
    many units every week. ``partner=dict(capacity_units_per_week=..., cost_per_unit=...,
    lead_time_days=...)`` adds an outsourcing partner that ships to the hub in one day.
    ``via_port`` sends the plant-to-hub lane through port ``PORT``. ``material=dict(
    cost_per_unit=..., payment_terms_days=..., down_payment_share=..., lead_time_days=...)``
    makes each unit of A take one unit of material K from supplier S (always on time, no
    capacity limit to speak of); ``market_terms_days`` the customer's payment terms.
    """
    folder.mkdir(parents=True, exist_ok=True)
    tables = {
        "products": [dict(sku="A", name="Widget", family="F", price_per_unit=10, cost_per_unit=6,
                          shortage_cost_per_unit=1)],
        "plants": [dict(plant="P", name="Plant", material_cover_days=0)],
        "lines": [dict(line="L", plant="P", name="Line", hours_per_week=line_hours_per_week,
                       overtime_hours_per_week_max=overtime_hours_per_week, cost_per_hour=50, overtime_cost_per_hour=75,
                       mtbf_hours=mtbf_hours, mttr_hours=mttr_hours)],
        "routings": [dict(line="L", sku="A", hours_per_unit=hours_per_unit)],
        "hubs": [dict(hub="H", name="Hub", storage_capacity_units=1e9, holding_cost_rate_per_year=0.2,
                      review_period_days=review_days)],
        "hub_policies": [dict(hub="H", sku="A", source="P", policy="base_stock", initial_units=base_stock,
                              reorder_point_units="", order_up_to_units=base_stock, order_quantity_units="")],
        "markets": [dict(market="M", name="Market", hub="H", unmet_demand=unmet, fill_rate_target=0.95)],
        "lanes": [
            dict(lane="PH", origin="P", destination="H", mode="road", lead_time_days=lane_days,
                 lead_time_sd_days=lane_sd_days, lead_time_distribution="lognormal" if lane_sd_days else "fixed",
                 cost_per_unit=1, capacity_units_per_week="", via="PORT" if via_port else ""),
            dict(lane="HM", origin="H", destination="M", mode="road", lead_time_days=1, lead_time_sd_days=0,
                 lead_time_distribution="fixed", cost_per_unit=0.5, capacity_units_per_week="", via=""),
        ],
        "demand_history": [dict(sku="A", market="M", week=str((pd.Timestamp("2026-01-05")
                                                            - pd.Timedelta(weeks=history_weeks - i)).date()),
                                qty=7 * daily_mean) for i in range(history_weeks)],
    }
    if via_port:
        tables["ports"] = [dict(port="PORT", name="Port")]
    if market_terms_days is not None:
        tables["markets"][0]["payment_terms_days"] = market_terms_days
    if material:
        tables["materials"] = [dict(material="K", name="Resin", cost_per_unit=material["cost_per_unit"])]
        tables["suppliers"] = [dict(supplier="S", name="Supplier", reliability=1.0, late_days=0,
                                    payment_terms_days=material.get("payment_terms_days", 30),
                                    down_payment_share=material.get("down_payment_share", 0.0))]
        tables["supplier_materials"] = [dict(supplier="S", material="K", capacity_units_per_week=1e9)]
        tables["bom"] = [dict(sku="A", material="K", qty_per_unit=1.0)]
        tables["lanes"].append(dict(lane="SP", origin="S", destination="P", mode="road",
                                    lead_time_days=material.get("lead_time_days", 7), lead_time_sd_days=0,
                                    lead_time_distribution="fixed", cost_per_unit=0, capacity_units_per_week="",
                                    via=""))
    if partner:
        tables["partners"] = [dict(partner="X", name="Partner", capacity_units_per_week=partner["capacity_units_per_week"],
                                   lead_time_days=partner.get("lead_time_days", 7))]
        tables["partner_skus"] = [dict(partner="X", sku="A", cost_per_unit=partner["cost_per_unit"])]
        tables["lanes"].append(dict(lane="XH", origin="X", destination="H", mode="road", lead_time_days=1,
                                    lead_time_sd_days=0, lead_time_distribution="fixed", cost_per_unit=0,
                                    capacity_units_per_week="", via=""))
    for name, rows in tables.items():
        pd.DataFrame(rows).to_csv(folder / f"{name}.csv", index=False)
    for name, header in EMPTY.items():
        if name not in tables:
            (folder / f"{name}.csv").write_text(header + "\n")
    return folder


def write_scenario(path: Path, network_folder: Path, **fields) -> Path:
    """A scenario YAML file for a network folder; keyword arguments override or add top-level keys."""
    doc = {"name": "test", "network": str(network_folder), "supply": "policy",
           "horizon": {"start": "2026-01-05", "weeks": 52, "warmup_weeks": 4},
           "demand": {"model": "poisson", "history_weeks": 52}}
    doc.update(fields)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@pytest.fixture(scope="session")
def baseline():
    """The shipped baseline scenario, with its capacity plan made once per test session:
    ``(loaded, inputs with the plan attached, plan)``."""
    from twin.pipeline import prepare
    from twin.scenario import load_scenario

    loaded = load_scenario(SCENARIOS / "baseline.yaml")
    inp, plan = prepare(loaded)
    return loaded, inp, plan


@pytest.fixture
def single_hub(tmp_path: Path):
    """Factory: ``single_hub(scenario_fields..., network=dict(...))`` -> scenario path."""

    def make(network: dict | None = None, **fields) -> Path:
        net = write_single_hub(tmp_path / "net", **(network or {}))
        return write_scenario(tmp_path / "scenario.yaml", net, **fields)

    return make


@pytest.fixture(scope="session", autouse=True)
def forecast_cache(tmp_path_factory):
    """Forecasts kept on disk in a folder of this test session's own (inherited by the
    commands tests start), so no test reads a forecast an earlier session or the user's
    own runs left behind."""
    from twin.demand.cache import CACHE_ENV

    mp = pytest.MonkeyPatch()
    mp.setenv(CACHE_ENV, str(tmp_path_factory.mktemp("forecast-cache")))
    yield
    mp.undo()


def _chromium() -> str:
    path = os.environ.get("SOP_TWIN_CHROMIUM", "/usr/bin/chromium")
    if not Path(path).exists():
        pytest.fail(f"Chromium is not at {path}: `make test` installs Debian's chromium package")
    return path


PRINT_WIDTH = 1032  # CSS px of an A4 landscape page less the report's 12 mm margins (273 mm at 96 px per inch)
PRINT_HEIGHT = 703  # 186 mm


def open_in_chromium(page_file: Path, screenshot: Path | None = None, pdf: Path | None = None) -> dict:
    """Load a file in headless Chromium; return what the page did: console messages, page
    errors, requests, dialogs, and facts read off the rendered page; optionally save a
    full-page screenshot and print the page to PDF, as a user's "Save as PDF" does."""
    from playwright.sync_api import sync_playwright

    seen: dict = {"console": [], "errors": [], "requests": [], "dialogs": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.on("console", lambda m: seen["console"].append((m.type, m.text)))
            page.on("pageerror", lambda e: seen["errors"].append(str(e)))
            page.on("request", lambda r: seen["requests"].append(r.url))
            page.on("dialog", lambda d: (seen["dialogs"].append(d.message), d.dismiss()))
            page.goto(page_file.resolve().as_uri(), wait_until="load")
            seen["images"] = page.eval_on_selector_all(
                "figure img",
                "els => els.map(e => [e.complete && e.naturalWidth > 0, e.getBoundingClientRect().width])")
            seen["kpi_rows"] = page.locator("#kpi-table tbody tr").count()
            seen["kpi_visible"] = page.locator("#kpi-table").is_visible()
            seen["scripts"] = page.locator("script").count()
            seen["headers"] = page.locator("#kpi-table thead th").all_inner_texts()
            seen["title"] = page.title()
            seen["assumption_rows"] = page.locator("#assumption-table tbody tr").count()
            seen["tornado_visible"] = page.locator("#assumptions #figure-tornado img").is_visible()
            if screenshot is not None:
                page.screenshot(path=str(screenshot), full_page=True)
            if pdf is not None:
                page.pdf(path=str(pdf), prefer_css_page_size=True, print_background=True)
                # the page laid out as printed: A4 landscape less the 12 mm margins is 273 mm = 1032 CSS px
                page.emulate_media(media="print")
                page.set_viewport_size({"width": PRINT_WIDTH, "height": 700})
                seen["print"] = page.evaluate("""() => ({
                    width: document.documentElement.scrollWidth,
                    figures: [...document.querySelectorAll('figure img')].map(e => {
                        const r = e.getBoundingClientRect(); return [e.alt, r.width, r.height]; }),
                    delta_cells: document.querySelectorAll('#kpi-table .delta').length,
                    delta_intervals: [...document.querySelectorAll('#kpi-table .delta-ci')]
                        .filter(e => e.getBoundingClientRect().height > 0).map(e => e.innerText),
                })""")
        finally:
            browser.close()
    return seen


def competition_frame(series: list, family: str, end: str) -> pd.DataFrame:
    """Competition series as the forecaster's long table, each ending on the month ``end``
    (their own dates play no part in the competitions' scoring)."""
    parts = [pd.DataFrame({"unique_id": s.sn, "sku": s.sn, "market": "all", "family": family,
                           "ds": pd.date_range(end=end, periods=s.n, freq="MS"), "y": np.asarray(s.x, float)})
             for s in series]
    return pd.concat(parts, ignore_index=True)
