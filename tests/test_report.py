"""The executive comparison report (`twin compare`, `twin report`): rendered in a real
headless Chromium, escaped, and every number traced back to the raw results."""

from __future__ import annotations

import html
import json
import math
import re
import unicodedata
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import SCENARIOS, open_in_chromium, write_scenario, write_single_hub

from reports.compare import PER_UNIT, chance_bounds, quantile_bounds
from reports.formats import fmt_delta_money, fmt_delta_pt, fmt_money, fmt_money_range, fmt_pct, format_value
from reports.render import CASH_ROWS, REPORT_KPIS
from reports.summary import KEYS, paired_deltas, summarise
from twin.cli import main
from twin.finance.accounts import BY_NAME, CASH_KPIS
from twin.finance.variances import COMPONENTS

# a scenario name a spreadsheet, a browser, Markdown and Matplotlib would each run as code
HOSTILE = ('=HYPERLINK("https://evil.example/x") <script>alert(1)</script> Cut to $9 from $12, '
           'Plan $\\undefinedmacro$ B [Approve here](https://evil.example/x) www.evil.com *now*')
HOSTILE_DESCRIPTION = ('<img src=x onerror="alert(2)"> ![pixel](https://evil.example/p.png) '
                       '<https://evil.example/auto> admin@evil.example')


@pytest.fixture(scope="module")
def shipped_report(tmp_path_factory) -> Path:
    """`twin compare` on the baseline, the port closure and the competitor's three
    strategies, 4 replications each. Without the runs that test the recommendation's
    assumptions (a plan each, 150 s here): test_sensitivity renders those on a small
    competitor instance."""
    out = tmp_path_factory.mktemp("compare")
    files = [str(SCENARIOS / f) for f in ("baseline.yaml", "port_closure.yaml", "new_competitor.yaml")]
    assert main(["compare", *files, "-n", "4", "--workers", "2", "--out", str(out), "--explain-gap",
                 "--no-sensitivity", "-q"]) == 0
    return out


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory) -> Path:
    """A comparison whose second scenario's name and description are HTML."""
    root = tmp_path_factory.mktemp("hostile")
    net = write_single_hub(root / "net", daily_mean=20, base_stock=150, overtime_hours_per_week=20)
    base = write_scenario(root / "base.yaml", net, name="Base", supply="plan")
    bad = write_scenario(root / "bad.yaml", net, name=HOSTILE, description=HOSTILE_DESCRIPTION,
                         supply="plan", extends="base.yaml")
    assert main(["compare", str(base), str(bad), "-n", "3", "--workers", "1", "--out", str(root / "out"),
                 "-q"]) == 0
    return root / "out"


def test_report_renders_in_headless_chromium_with_no_errors_and_no_requests(shipped_report):
    shot, pdf = shipped_report / "screenshot.png", shipped_report / "report.pdf"
    seen = open_in_chromium(shipped_report / "report.html", shot, pdf)
    assert seen["errors"] == [] and [m for m in seen["console"] if m[0] in ("error", "warning")] == []
    # the page itself and nothing else: no CDN, no font, no tracker
    assert seen["requests"] == [(shipped_report / "report.html").resolve().as_uri()]
    assert seen["kpi_visible"] and seen["kpi_rows"] == len(REPORT_KPIS)
    figures = sorted(p.stem for p in (shipped_report / "figures").glob("*.png"))
    assert figures == ["backlog", "bridge", "cash", "costs", "inventory", "line_utilisation", "service",
                       "working_capital"]
    assert len(seen["images"]) == len(figures) and all(ok and width > 300 for ok, width in seen["images"])
    assert seen["headers"][1:] == ["Baseline", "Port closure", "New competitor: Hold price",
                                   "New competitor: Match at -8 %", "New competitor: Premium +5 %"]
    assert shot.stat().st_size > 100_000  # a full page, not a blank one
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf.read_bytes()))
    assert 4 <= pages <= 24, pages  # printed on A4 landscape pages, not one endless strip (21 with the finance section)


def test_the_report_reads_on_paper(shipped_report, tmp_path):
    """Issue 18, printed: no table wider than the page (Chromium would shrink every page to
    fit it: a heat map at 40 % of the width); every figure the page's width or its height;
    every heading on the same page as the start of what it introduces; the difference's
    interval printed, not only on hover."""
    from pypdf import PdfReader

    from conftest import PRINT_HEIGHT, PRINT_WIDTH

    pdf = tmp_path / "report.pdf"
    seen = open_in_chromium(shipped_report / "report.html", pdf=pdf)["print"]
    assert seen["width"] <= PRINT_WIDTH, f"the page is {seen['width']} px wide: printed, it shrinks to fit"
    for alt, width, height in seen["figures"]:
        assert width >= 0.9 * PRINT_WIDTH or height >= 0.95 * 160 / 186 * PRINT_HEIGHT, (alt, width, height)
    assert seen["delta_cells"] > 0 and len(seen["delta_intervals"]) == seen["delta_cells"]
    assert all(" to " in text for text in seen["delta_intervals"])
    pages = [unicodedata.normalize("NFKC", page.extract_text() or "") for page in PdfReader(pdf).pages]
    page_html = (shipped_report / "report.html").read_text()
    parts = re.split(r"(<h[23][^>]*>.*?</h[23]>)", page_html, flags=re.S)
    page, checked = 0, 0
    for heading, after in zip(parts[1::2], parts[2::2]):
        heading = _text(heading)
        while heading not in _lines(pages[page]):  # the headings come in order: from the last one's page on
            page += 1
        # what the heading introduces: a table's first column, a figure's caption, the recommendation
        found = re.search(r'<th[^>]*>(.*?)</th>|<figcaption>(.*?)</figcaption>|class="recommendation">\s*<p>(.*?)</p>'
                          r'|<summary>(.*?)</summary>', after, re.S)
        if found is None:
            continue
        start = " ".join(_text(next(g for g in found.groups() if g is not None)).split()[:3])
        lines = _lines(pages[page])
        rest = lines[lines.index(heading) + 1:]
        assert start in " ".join(rest), \
            f"{heading!r} on page {page + 1}, and what it introduces ({start!r}) on the next"
        checked += 1
    assert checked > 8


def _text(fragment: str) -> str:
    return unicodedata.normalize("NFKC", html.unescape(re.sub(r"<[^>]+>", "", fragment))).strip()


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def test_figures_stay_legible_with_many_scenarios():
    """Nine scenarios: one small panel each on one scale (not nine lines on one chart), the
    baseline's median in each other panel; utilisation on a scale from 0 that shows every
    line (a 39 % line is not the scale's floor), the others as changes from the baseline,
    and a scenario that changes nothing named instead of drawn."""
    from reports import figures

    days = np.arange(0, 364, 7)
    names = ["Base"] + [f"S{i}" for i in range(1, 9)]
    bands = pd.concat([pd.DataFrame({"scenario": n, "metric": m, "day": days, "p10": 90.0 + i, "p50": 100.0 + i,
                                     "p90": 110.0 + i}) for i, n in enumerate(names)
                       for m in ("inventory_units", "backlog_units")])
    with figures.literal_text():
        fig = figures.over_time(bands, "inventory_units", "On hand", "Base", "2027-01-04")
        panels = [ax for ax in fig.axes if ax.get_visible()]
        assert len(panels) == 9 and all(len(ax.get_lines()) <= 2 for ax in panels)
        assert [len(ax.get_lines()) for ax in panels] == [1] + [2] * 8  # the scenario, and the baseline dashed
        weeks = pd.DataFrame([(n, line, d, u) for n in ("Base", "Busy", "Same") for line, base in (("L1", 0.39), ("L2", 1.1))
                              for d in days for u in [base + (0.2 if n == "Busy" and line == "L1" else 0.0)]],
                             columns=["scenario", "line", "day", "utilisation"])
        fig = figures.utilisation_heatmap(weeks, "Base", "2027-01-04")
        maps = [ax for ax in fig.axes if ax.get_visible() and ax.images]
        assert len(maps) == 2, "the baseline and the one scenario that changes a line"
        level, change = maps[0].images[0], maps[1].images[0]
        assert level.norm.vmin == 0 and level.norm.vmax >= 110
        assert change.get_array().max() == pytest.approx(20) and change.norm.vmin == -change.norm.vmax
        assert "Same" in fig.texts[0].get_text() and "Busy" not in fig.texts[0].get_text()
        assert "Same" not in " ".join(ax.get_title(loc="left") for ax in maps)


def test_intervals_print_both_ends_in_one_unit():
    """"$7,515 to $13k" read as a range from seven thousand to thirteen: both ends in one unit."""
    from reports.formats import fmt_money_range, format_range

    assert fmt_money_range(7_515, 13_000) == "$7.5k to $13.0k"
    assert fmt_money_range(-1.2e6, -950e3) == "−$1.20M to −$0.95M"
    assert fmt_money_range(-29_000, 2_300, delta=True) == "−$29.0k to +$2.3k"
    assert fmt_money_range(-965e3, 12) == "−$965k to $0k"
    assert format_range("pct2", 0.951, 0.962) == "95.10 % to 96.20 %"


def test_text_from_scenario_files_is_escaped(hostile_report):
    page = (hostile_report / "report.html").read_text()
    assert HOSTILE not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page and 'onerror="alert' not in page
    markdown = (hostile_report / "report.md").read_text()
    assert HOSTILE not in markdown and "<img" not in markdown
    seen = open_in_chromium(hostile_report / "report.html")
    assert seen["dialogs"] == [] and seen["scripts"] == 0 and seen["errors"] == []
    assert HOSTILE in seen["headers"]  # shown as text, the way it was written


def test_markdown_shows_scenario_text_without_links_or_images(hostile_report):
    """report.md read by markdown-it with GitHub's extensions and linkify, as an editor's
    preview reads it: the scenario's name and description make no link, no autolink and no
    image (the report's own figures are the only images), and read as they were written."""
    from markdown_it import MarkdownIt

    page = MarkdownIt("gfm-like").render((hostile_report / "report.md").read_text())
    assert "<a " not in page
    assert set(re.findall(r'<img src="([^"]*)"', page)) == {f"figures/{p.name}"
                                                           for p in (hostile_report / "figures").glob("*.png")}
    assert "<em>now</em>" not in page and html.escape(HOSTILE) in page and html.escape(HOSTILE_DESCRIPTION) in page


def test_no_csv_cell_runs_as_a_spreadsheet_formula(hostile_report):
    """A name that starts like a formula (=HYPERLINK...) is written with a leading ', which
    spreadsheets show as text, in every CSV of the report and its runs; the figures drew it
    (mathtext would have stopped the report at $\\undefinedmacro$)."""
    tables = sorted(hostile_report.rglob("*.csv"))
    assert len(tables) > 10
    for table in tables:
        frame = pd.read_csv(table, dtype=str, keep_default_na=False)
        for column in frame:
            text = frame[column][pd.to_numeric(frame[column], errors="coerce").isna()]
            assert not text.str.match(r"[=+\-@\t\r]").any(), (table, column)
    kpis = pd.read_csv(hostile_report / "kpis.csv")
    assert "'" + HOSTILE in set(kpis["scenario"])
    assert len(list((hostile_report / "figures").glob("*.png"))) >= 3


class _Cells(HTMLParser):
    """The KPI table's cells: (scenario, kpi) -> (data-value, the mean as printed)."""

    def __init__(self):
        super().__init__()
        self.cells: dict[tuple[str, str], tuple[float, str]] = {}
        self._cell: tuple | None = None
        self._in_mean = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "td" and "data-kpi" in a:
            self._cell = (a["data-scenario"], a["data-kpi"], float(a["data-value"]))
        self._in_mean = tag == "span" and a.get("class") == "mean" and self._cell is not None

    def handle_data(self, data):
        if self._in_mean:
            scenario, kpi, value = self._cell
            self.cells[(scenario, kpi)] = (value, data.strip())
            self._in_mean = False


def test_every_number_in_the_kpi_table_is_traceable_to_kpis_csv(shipped_report):
    """kpis.csv is recomputed here from the raw Parquet results of the runs (mean, interval,
    percentiles, paired deltas), and every mean in the HTML table is kpis.csv's, printed."""
    runs = sorted((shipped_report / "runs").rglob("run.json"))
    raw = []
    for meta in runs:
        folder = meta.parent
        name = pd.read_json(meta, typ="series")["scenario"]
        raw.append(pd.read_parquet(folder / "results" / "kpis").assign(scenario=name))
    raw = pd.concat(raw, ignore_index=True)
    raw["kpi"], raw["scope"], raw["entity"] = (raw[c].astype(str) for c in ("kpi", "scope", "entity"))
    table = pd.read_csv(shipped_report / "kpis.csv", keep_default_na=False, na_values=[""])
    key = table.set_index(KEYS)

    again = summarise(raw).set_index(KEYS)
    for column in ("n", "mean", "se", "ci_low", "ci_high", "p5", "p50", "p95"):
        np.testing.assert_allclose(key.loc[again.index, column], again[column], rtol=1e-9, atol=1e-9,
                                   err_msg=column)
    deltas = paired_deltas(raw, "Baseline").set_index(KEYS)
    for column in ("delta", "delta_low", "delta_high"):
        np.testing.assert_allclose(key.loc[deltas.index, column], deltas[column], rtol=1e-9, atol=1e-6,
                                   err_msg=column)
    assert key.loc[deltas.index, "separated"].astype(bool).tolist() == deltas["separated"].tolist()

    parser = _Cells()
    parser.feed((shipped_report / "report.html").read_text())
    kinds = {kpi: kind for kpi, _, kind, _ in REPORT_KPIS}
    assert len(parser.cells) == len(REPORT_KPIS) * 5
    for (scenario, kpi), (value, printed) in parser.cells.items():
        mean = key.loc[(scenario, kpi, "total", "all"), "mean"]
        assert math.isclose(value, mean, rel_tol=1e-12, abs_tol=1e-12), (scenario, kpi)
        assert printed == format_value(kinds[kpi], mean), (scenario, kpi)

    # the risk register, recomputed: share of replications under the 95 % target, worst 5 % margin
    risks = pd.read_csv(shipped_report / "risks.csv").set_index("scenario")
    total = raw[raw["scope"] == "total"].pivot_table(index=["scenario", "replication"], columns="kpi",
                                                     values="value")
    for scenario, t in total.groupby(level="scenario"):
        assert risks.loc[scenario, "p_below_target"] == pytest.approx((t["fill_rate"] < 0.95).mean())
        assert risks.loc[scenario, "margin_cvar5"] == pytest.approx(t["margin"].min())  # 4 reps: the worst one
        assert risks.loc[scenario, "tail_replications"] == 1 and risks.loc[scenario, "tail_rough"]
        # and the cost per unit delivered the cost rows are judged by
        assert key.loc[(scenario, "cost_per_unit_delivered", "total", "all"), "mean"] == \
            pytest.approx((t["cost_total"] / t["shipped_units"]).mean())


def test_recommendation_names_the_best_strategy_with_its_margin(shipped_report):
    """The recommended strategy is the competitor response with the highest mean margin
    (none misses the service target here), and the paragraph quotes kpis.csv's numbers."""
    table = pd.read_csv(shipped_report / "kpis.csv")
    margin = table[(table["kpi"] == "margin") & (table["scope"] == "total")].set_index("scenario")["mean"]
    strategies = margin[margin.index.str.startswith("New competitor: ")]
    best = strategies.idxmax().split(": ", 1)[1]
    markdown = (shipped_report / "report.md").read_text()
    paragraph = markdown.split("## Recommendation\n", 1)[1].split("##", 1)[0]
    assert f"choose “{best}”" in paragraph
    assert format_value("money", strategies.max()) in paragraph


def test_report_rebuilds_from_stored_runs_without_running(shipped_report, tmp_path, capsys):
    runs = [shipped_report / "runs" / "baseline", shipped_report / "runs" / "port_closure",
            *sorted((shipped_report / "runs" / "new_competitor").iterdir())]
    assert main(["report", *map(str, runs), "--out", str(tmp_path / "again"), "-q"]) == 0
    for name in ("kpis.csv", "risks.csv", "bottlenecks.csv", "decisions.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(shipped_report / name), pd.read_csv(tmp_path / "again" / name))
    assert not (tmp_path / "again" / ".report.partial").exists()
    # a folder that is not a finished run: exit 2, named, no traceback
    assert main(["report", str(tmp_path), "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "not a finished run folder" in err and str(tmp_path) in err and "Traceback" not in err


def test_kpi_cells_mark_only_separated_deltas(shipped_report):
    """A delta is highlighted exactly when kpis.csv says its interval excludes zero; a cost's
    when its change per unit delivered does."""
    page = (shipped_report / "report.html").read_text()
    table = pd.read_csv(shipped_report / "kpis.csv").set_index(KEYS)
    for match in re.finditer(r'data-scenario="([^"]+)" data-kpi="([^"]+)"[^>]*>(.*?)</td>', page, re.S):
        scenario, kpi, body = match.groups()
        scenario = scenario.replace("&#34;", '"')
        if scenario == "Baseline":
            assert "delta" not in body
            continue
        marked = "●" in body
        judged = PER_UNIT.get(kpi, kpi)  # a cost by its change per unit delivered
        assert marked == bool(table.loc[(scenario, judged, "total", "all"), "separated"]), (scenario, kpi)


def test_a_report_of_the_baseline_alone(hostile_report, tmp_path):
    """One run: no differences to show, and still a whole report."""
    assert main(["report", str(hostile_report / "runs" / "base"), "--out", str(tmp_path), "-q"]) == 0
    table = pd.read_csv(tmp_path / "kpis.csv")
    assert set(table["scenario"]) == {"Base"} and table["delta"].isna().all()
    assert "Δ" not in (tmp_path / "report.html").read_text().split('id="kpi-table"', 1)[1].split("</table>", 1)[0]


def test_the_balance_adds_up_to_the_kpis_and_to_the_plan(shipped_report):
    """balance_weekly.csv per run: the twin's flows summed over families and weeks are the
    run's KPI totals (mean over replications), the plan's are the plan's own tables;
    balance.csv is its months (flows summed, stocks at the last week); the report's tables
    print balance.csv's numbers."""
    for meta in sorted((shipped_report / "runs").rglob("run.json")):
        folder = meta.parent
        weekly = pd.read_csv(folder / "balance_weekly.csv")
        monthly = pd.read_csv(folder / "balance.csv")
        summary = pd.read_csv(folder / "summary.csv")
        total = summary[summary["scope"] == "total"].set_index("kpi")["mean"]
        twin = weekly.groupby("measure")["twin_mean"].sum()
        rounding = 0.005 * weekly.groupby("measure").size().max()  # the CSV keeps hundredths of a unit
        for measure, kpi in (("demand", "demand_units"), ("served", "shipped_units"),
                             ("lost", "lost_sales_units"), ("outsourcing", "outsourced_units")):
            assert twin[measure] == pytest.approx(total[kpi], rel=1e-9, abs=rounding), (folder, measure)
        lines = summary[(summary["scope"] == "line") & (summary["kpi"] == "produced_units")]["mean"].sum()
        assert twin["production"] == pytest.approx(lines, rel=1e-9, abs=rounding)
        assert twin["supply"] == pytest.approx(twin["production"] + twin["outsourcing"], abs=rounding)

        plan = weekly.groupby("measure")["plan"].sum()
        markets = pd.read_csv(folder / "plan" / "markets.csv")
        production = pd.read_csv(folder / "plan" / "production.csv")
        assert plan["demand"] == pytest.approx(markets["demand_units"].sum(), abs=rounding)
        assert plan["served"] == pytest.approx(markets["delivered_units"].sum(), abs=rounding)
        assert plan["production"] == pytest.approx(
            (production["regular_units"] + production["overtime_units"]).sum(), abs=rounding)

        weekly["month"] = weekly["period"].str[:7]
        flows = weekly[~weekly["measure"].isin(["inventory", "backlog"])]
        again = flows.groupby(["family", "month", "measure"])[["plan", "twin_mean"]].sum()
        stocks = weekly[weekly["measure"].isin(["inventory", "backlog"])].sort_values("period")
        again = pd.concat([again, stocks.groupby(["family", "month", "measure"])[["plan", "twin_mean"]].last()])
        month = monthly.set_index(["family", "period", "measure"])[["plan", "twin_mean"]]
        np.testing.assert_allclose(month.loc[again.index].to_numpy(), again.to_numpy(), atol=0.005 * 6)

    balance = pd.read_csv(shipped_report / "balance.csv")
    page = (shipped_report / "report.html").read_text()
    body = page.split('id="balance-table"', 1)[1].split("</table>", 1)[0]
    first = balance[(balance["scenario"] == "Baseline") & (balance["measure"] == "demand")]
    first = first[first["family"] == first["family"].min()]
    row = re.search(r"Demand \(unconstrained\)</td><td[^>]*>plan</td>(.*?)</tr>", body, re.S).group(1)
    printed = re.findall(r'<td class="num">([^<]*)</td>', row)
    assert printed == [format_value("units", v) for v in first.sort_values("period")["plan"]]


def test_the_plans_promise_and_the_gap_by_source_trace_to_the_runs(shipped_report):
    """Each run's gap.csv: its parts add up to the twin's fill rate minus the plan's promise,
    the twin there is the run's own replications (all 4 here), the promise is run.json's;
    the report's table prints them."""
    page = (shipped_report / "report.html").read_text()
    body = page.split('id="promise-table"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr><td>(.*?)</td>(.*?)</tr>", body, re.S)
    printed = {html.unescape(name): re.findall(r"<td>([^<]*)</td>", cells) for name, cells in rows}
    for meta_file in sorted((shipped_report / "runs").rglob("run.json")):
        folder, meta = meta_file.parent, json.loads(meta_file.read_text())
        gap = pd.read_csv(folder / "gap.csv").set_index("part")["value"]
        assert gap["plan"] == meta["plan_fill_rate"]
        parts = gap[["bucketing", "demand", "lead_times", "breakdowns"]].sum()
        assert gap["plan"] + parts == pytest.approx(gap["twin"], abs=1e-12)
        kpis = pd.read_parquet(folder / "results" / "kpis")
        fill = kpis[(kpis["kpi"] == "fill_rate") & (kpis["scope"] == "total")]["value"]
        assert gap["twin"] == pytest.approx(fill.mean(), rel=1e-12)
        cells = printed[meta["scenario"]]
        assert cells[0] == format_value("pct2", gap["plan"])
        assert cells[2:6] == [fmt_delta_pt(gap[p]) for p in ("bucketing", "demand", "lead_times", "breakdowns")]


def test_chances_carry_clopper_pearson_intervals_as_rs_binom_test():
    """Exact binomial intervals as R's binom.test gives them: 0 of 30 -> 0 to 11.57 % (so 30
    replications without a miss cannot show a chance under 10 %), 3 of 30 -> 2.11 % to
    26.53 %, 30 of 30 -> 88.43 % to 100 %."""
    assert chance_bounds(0, 30) == (0.0, pytest.approx(0.1157033, abs=1e-7))
    assert chance_bounds(3, 30) == (pytest.approx(0.02111714, abs=1e-8), pytest.approx(0.26528845, abs=1e-8))
    assert chance_bounds(30, 30) == (pytest.approx(0.8842967, abs=1e-7), 1.0)


def test_the_p5_interval_covers_the_true_quantile_in_95_percent_of_samples():
    """The order-statistic interval of a 5th percentile from 200 draws of a standard normal
    holds its true value (-1.645) in at least 95 % of 2,000 samples (it is conservative:
    the ranks are whole), and says "beyond the replications" rather than invent an end when
    there are too few (30: no replication lies below the interval's lower rank)."""
    rng = np.random.default_rng(7)
    truth = -1.6448536269514722
    held = [lo <= truth <= hi for lo, hi in (quantile_bounds(rng.standard_normal(200), 0.05) for _ in range(2000))]
    assert 0.95 <= np.mean(held) <= 0.99
    low, high = quantile_bounds(rng.standard_normal(30), 0.05)
    assert math.isnan(low) and not math.isnan(high)


def test_no_chance_is_claimed_lower_than_the_replications_show(shipped_report):
    """With 4 replications and no miss, the recommendation says 0 of 4 and that the chance
    is at most 60.2 % (R's binom.test(0, 4)), and that 4 replications cannot show it under
    10 %; the tail of 1 replication is flagged; each market's and each family's chance is
    in service.csv against its own target, as the network gives it (markets.csv,
    families.csv), and in the report's table."""
    paragraph = (shipped_report / "report.md").read_text().split("## Recommendation\n", 1)[1].split("##", 1)[0]
    assert "in 0 of 4 replications (the chance is at most 60.2 % at 95 % confidence)" in paragraph
    assert "4 replications cannot show that its chance of missing the service target is under 10 %" in paragraph
    assert ", from 1 replication only" in paragraph
    service = pd.read_csv(shipped_report / "service.csv")
    given = pd.concat([pd.read_csv(SCENARIOS / "reference" / f"{table}.csv").set_index(key)["fill_rate_target"]
                       for table, key in (("markets", "market"), ("families", "family"))])
    assert sorted(given.unique()) == [0.9, 0.92, 0.95, 0.97]
    assert len(service) == 5 * len(given) and service.groupby("scope").size().to_dict() == {"family": 25, "market": 60}
    assert (service["target"].to_numpy() == service["entity"].map(given).to_numpy()).all()
    assert (service["p_below_target_high"] >= service["p_below_target"]).all()
    page = (shipped_report / "report.html").read_text()
    assert "rough" in page and 'id="service-table"' in page
    table = page.split('id="service-table"', 1)[1].split("</table>", 1)[0]
    assert "Circulator pumps" not in table and ">CORE<" in table and ">97.0 %<" in table


def test_a_scenario_that_sells_less_never_looks_better_on_cost(tmp_path):
    """Half the demand: total cost falls (fewer units moved), yet cost per unit delivered
    rises (the same stock held for half the sales), so the cost cells are marked worse, not
    better, and margin leads the table."""
    net = write_single_hub(tmp_path / "net", base_stock=60)
    base = write_scenario(tmp_path / "base.yaml", net, name="Base")
    half = write_scenario(tmp_path / "half.yaml", net, name="Half demand", extends="base.yaml",
                          events=[dict(type="demand_shock", change_pct=-50, start="2026-01-05", days=364)])
    out = tmp_path / "out"
    assert main(["compare", str(base), str(half), "-n", "4", "--workers", "1", "--out", str(out), "-q"]) == 0
    table = pd.read_csv(out / "kpis.csv").set_index(KEYS)
    cost = table.loc[("Half demand", "cost_total", "total", "all")]
    unit = table.loc[("Half demand", "cost_per_unit_delivered", "total", "all")]
    assert cost["delta"] < 0 and cost["separated"] and unit["delta"] > 0 and unit["separated"]
    parser = _Cells()
    parser.feed((out / "report.html").read_text())
    assert next(iter(parser.cells))[1] == "margin"
    page = (out / "report.html").read_text()
    cell = re.search(r'data-scenario="Half demand" data-kpi="cost_total"[^>]*>(.*?)</td>', page, re.S).group(1)
    assert 'class="delta bad"' in cell and "good" not in cell


def _table_rows(page: str, table_id: str) -> list[list[str]]:
    table = re.search(rf'<table id="{table_id}">(.*?)</table>', page, re.S).group(1)
    return [[_text(c) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S)]


BRIDGE_ROWS = ["· price", "· mix", "· quantity", "· cost"]


def test_the_finance_section_reads_off_finance_csv(shipped_report):
    """Issue 20: the margin per family and the worst SKUs, each cell a row of finance.csv
    (mean and 95 % interval), the families adding up to the accounting margin, the same
    as the KPI table's; and finance.csv's statement adds up (revenue - costs = margin)."""
    finance = pd.read_csv(shipped_report / "finance.csv")
    page = (shipped_report / "report.html").read_text()
    margin = finance[finance["kpi"] == "margin"].set_index(["scenario", "scope", "entity"]).sort_index()

    def cell(scenario, scope, entity):
        r = margin.loc[(scenario, scope, entity)]
        return f"{fmt_money(r['mean'])} ({fmt_money_range(r['ci_low'], r['ci_high'])})"

    header, *body = _table_rows(page, "finance-family-table")
    assert header[0] == "family" and header[1:] == list(dict.fromkeys(finance["scenario"]))
    assert [row[0] for row in body] == ["CORE", "CUSTOM", "GARDEN", "LEGACY", "SPARES", "All families"]
    for row in body:
        scope, entity = ("total", "all") if row[0] == "All families" else ("family", row[0])
        assert row[1:] == [cell(s, scope, entity) for s in header[1:]]
    kpis = pd.read_csv(shipped_report / "kpis.csv").set_index(["scenario", "kpi", "scope", "entity"]).sort_index()
    for scenario in header[1:]:
        families = margin.loc[(scenario, "family"), "mean"].sum()
        total = margin.loc[(scenario, "total", "all"), "mean"]
        assert families == pytest.approx(total, rel=1e-9)
        assert total == kpis.loc[(scenario, "margin", "total", "all"), "mean"]
        statement = finance[(finance["scenario"] == scenario) & (finance["scope"] == "total")].set_index("kpi")["mean"]
        assert list(statement.index) == ["revenue", "cost_materials", "cost_regular_time", "cost_overtime",
                                         "cost_outsourcing", "cost_transport", "cost_holding", "cost_total", "margin",
                                         "cost_shortage", *CASH_KPIS]
        assert statement["revenue"] - statement["cost_total"] == pytest.approx(statement["margin"], rel=1e-9)
        assert statement.iloc[1:7].sum() == pytest.approx(statement["cost_total"], rel=1e-9)
    # working capital and cash: each cell a total row of finance.csv, the cycle adding up
    header, *body = _table_rows(page, "finance-cash-table")
    assert header == ["measure", *dict.fromkeys(finance["scenario"])] and len(body) == len(CASH_ROWS)
    total = finance[finance["scope"] == "total"].set_index(["kpi", "scenario"]).sort_index()
    for (kpi, label, kind), row in zip(CASH_ROWS, body):
        assert row[0] == label
        for scenario, shown in zip(header[1:], row[1:]):
            r = total.loc[(kpi, scenario)]
            assert shown == (f"{r['mean']:.1f} d ({r['ci_low']:.1f} to {r['ci_high']:.1f})" if kind == "days"
                             else f"{fmt_money(r['mean'])} ({fmt_money_range(r['ci_low'], r['ci_high'])})")
    for scenario in header[1:]:
        days = total.xs(scenario, level="scenario")["mean"]
        assert days["cash_to_cash_days"] == pytest.approx(days["dio_days"] + days["dso_days"] - days["dpo_days"])
        assert 30 < days["dso_days"] < 60  # the reference's customers pay in 30 to 60 days
    # from budget to plan to outcome: each cell a row of the run's bridge.csv; the steps add up; the plan's
    # margin is its ledger's, the outcome's the KPI table's
    header, *body = _table_rows(page, "finance-bridge-table")
    assert [row[0] for row in body] == ["Budget margin", *BRIDGE_ROWS, "Plan margin", *BRIDGE_ROWS,
                                        "Outcome margin (the twin's mean)"]
    runs = {json.loads((f.parent / "run.json").read_text())["scenario"]: f.parent
            for f in shipped_report.glob("runs/**/bridge.csv")}
    for column, scenario in enumerate(header[1:], start=1):
        bridge = pd.read_csv(runs[scenario] / "bridge.csv")
        total = bridge[bridge["family"] == "all"].set_index("from")
        shown = [row[column] for row in body]
        assert shown[0] == fmt_money(total.loc["budget", "standard_margin"])
        assert shown[1:5] == [fmt_delta_money(total.loc["budget", k]) for k in COMPONENTS]
        assert shown[5] == fmt_money(total.loc["budget", "actual_margin"]) == fmt_money(total.loc["plan", "standard_margin"])
        assert shown[6:10] == [fmt_delta_money(total.loc["plan", k]) for k in COMPONENTS]
        assert shown[10] == fmt_money(total.loc["plan", "actual_margin"])
        steps = bridge[list(COMPONENTS)].sum(axis=1)
        assert steps.to_numpy() == pytest.approx((bridge["actual_margin"] - bridge["standard_margin"]).to_numpy())
        assert total.loc["plan", "actual_margin"] == pytest.approx(margin.loc[(scenario, "total", "all"), "mean"])
        ledger = pd.read_csv(runs[scenario] / "plan" / "ledger.csv")
        signed = ledger["amount"] * ledger["account"].map(lambda a: {"revenue": 1, "cost": -1, "memo": 0}[BY_NAME[a].kind])
        assert total.loc["plan", "standard_margin"] == pytest.approx(signed.sum(), rel=1e-9)
    # the SKUs with the lowest margin for their revenue: each scenario's five lowest, in the baseline's order
    header, *body = _table_rows(page, "finance-worst-table")
    assert header[0] == "SKU" and header[1:] == list(dict.fromkeys(finance["scenario"]))
    per_sku = finance[finance["scope"] == "sku"].pivot_table(index=["scenario", "entity"], columns="kpi", values="mean")
    rate = per_sku["margin"] / per_sku["revenue"]
    lowest = set(rate.groupby(level="scenario").nsmallest(5).index.get_level_values("entity"))
    assert [row[0] for row in body] == rate.loc[header[1]].loc[sorted(lowest)].sort_values().index.tolist()
    for row in body:
        for scenario, shown in zip(header[1:], row[1:]):
            r = per_sku.loc[(scenario, row[0])]
            assert shown == f"{fmt_money(r['margin'])} ({fmt_pct(r['margin'] / r['revenue'], 1)})"


def test_the_forecast_value_added_stairstep_is_in_the_report_as_fva_csv_has_it(shipped_report):
    """The baseline's forecast folder inside its run: the report's stairstep is fva.csv's,
    row for row, each step's points the error it removed from the step before."""
    fva = pd.read_csv(shipped_report / "runs" / "baseline" / "forecast" / "fva.csv")
    header, *body = _table_rows((shipped_report / "report.html").read_text(), "fva-table")
    assert header[0] == "family" and len(body) == fva.groupby(["level", "entity"]).ngroups
    for row, (_, steps) in zip(body, fva.groupby(["level", "entity"], sort=False)):
        s = steps.set_index("step")
        assert row[1] == f"{s.loc['naive', 'wape']:.1f} %"
        removed = fmt_delta_pt(s.loc["statistical", "wape_added"] / 100, 1)
        assert row[2] == f"{s.loc['statistical', 'wape']:.1f} % ({removed})"
        assert s.loc["statistical", "wape_added"] == pytest.approx(s.loc["naive", "wape"] - s.loc["statistical", "wape"])
