"""End to end: the ``twin`` command as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import pytest
from conftest import SCENARIOS

from twin.finance.accounts import CASH_METRICS
from twin.folders import MARKER
from twin.sim.kpis import FAMILY_METRICS


def twin(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "twin", *args], capture_output=True, text=True, cwd=cwd)


@pytest.fixture
def refused(capfd):
    """``refused(*args)``: the command run in this process (``twin.cli.main``, what ``twin``
    calls), for commands refused before any work, where a new interpreter's 3-4 s of
    imports would be most of the test. Output is captured at the file descriptors, so
    whatever HiGHS printed would show."""
    from twin.cli import main

    def call(*args: str) -> subprocess.CompletedProcess:
        code = main(list(args))
        out = capfd.readouterr()
        return subprocess.CompletedProcess(args, code, out.out, out.err)

    return call


def test_help_explains_the_commands():
    out = twin("--help")
    assert out.returncode == 0 and "validate" in out.stdout and "run" in out.stdout
    out = twin("run", "--help")
    assert "--replications" in out.stdout and "--seed" in out.stdout and "--workers" in out.stdout
    out = twin("plan", "--help")
    assert "--time-limit" in out.stdout and "--threads" in out.stdout and "--gap" in out.stdout
    for command in ("run", "compare"):  # argparse formats help with %, not descriptions
        out = twin(command, "--help")
        assert "95 %" in out.stdout and "%%" not in out.stdout, out.stdout


def test_shipped_scenarios_validate():
    files = sorted(str(p) for p in SCENARIOS.glob("*.yaml"))
    out = twin("validate", *files)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.count(": OK") == len(files)


def test_run_writes_a_complete_run_folder(tmp_path, single_hub):
    scenario = single_hub()
    out_dir = tmp_path / "run"
    out = twin("run", str(scenario), "-n", "3", "--seed", "5", "--workers", "1", "--out", str(out_dir))
    assert out.returncode == 0, out.stderr
    assert "Fill rate" in out.stdout and "95% CI" in out.stdout
    kpis = pd.read_csv(out_dir / "kpis.csv")
    assert list(kpis.columns) == ["scenario", "replication", "kpi", "scope", "entity", "value"]
    assert sorted(kpis["replication"].unique()) == [0, 1, 2]
    parquet = pd.read_parquet(out_dir / "results" / "kpis").sort_values("replication", kind="stable")
    pd.testing.assert_frame_equal(parquet.reset_index(drop=True), kpis.drop(columns="scenario"), check_dtype=False,
                                  check_categorical=False)
    series = pd.read_parquet(out_dir / "results" / "timeseries")
    assert set(series["metric"]) == {"inventory_units", "backlog_units", "in_transit_units", "hours_worked",
                                     "hours_available", *(f"family_{m}_units" for m in FAMILY_METRICS),
                                     *(f"finance_{m}" for m in CASH_METRICS)}
    assert (out_dir / "balance.csv").exists() and (out_dir / "balance_weekly.csv").exists()
    summary = pd.read_csv(out_dir / "summary.csv")
    fill = summary.query("kpi == 'fill_rate' and scope == 'total'").iloc[0]
    assert fill["ci_low"] <= fill["mean"] <= fill["ci_high"] and fill["n"] == 3
    meta = json.loads((out_dir / "run.json").read_text())
    assert meta["replications"] == 3 and meta["seed"] == 5
    assert not (tmp_path / "run.partial").exists()


def test_run_bad_input_exits_2_without_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nnetwork: nowhere\nhorizon: {start: 2026-01-05, weeks: 4}\n")
    out = twin("run", str(bad), "--out", str(tmp_path / "o"))
    assert out.returncode == 2
    assert "network folder not found" in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "o").exists()
    out = twin("run", str(tmp_path / "missing.yaml"))
    assert out.returncode == 2 and "scenario file not found" in out.stderr


@pytest.mark.parametrize("argument, message", [
    (["-n", "0"], "at least 1"), (["-n", str(10 ** 12)], "at most 1,000,000"), (["--seed", "-1"], "0 or more"),
    (["--threads", "100000"], "the cores of this machine")])
def test_bad_numbers_on_the_command_line(argument, message):
    out = twin("run", str(SCENARIOS / "baseline.yaml"), *argument)
    assert out.returncode == 2 and message in out.stderr and "Traceback" not in out.stderr, out.stderr


def test_plan_writes_tables_summary_and_bottlenecks(tmp_path, single_hub):
    scenario = single_hub(network=dict(line_hours_per_week=20, hours_per_unit=1.0, daily_mean=4.0))
    out_dir = tmp_path / "plan"
    out = twin("plan", str(scenario), "--out", str(out_dir), "--time-limit", "30")
    assert out.returncode == 0, out.stderr
    assert "plan optimal" in out.stdout and "Total cost" in out.stdout and "Bottlenecks" in out.stdout
    summary = json.loads((out_dir / "summary.json").read_text())
    assert summary["status"] == "optimal" and summary["model_size"]["rows"] > 0
    assert set(summary["seconds"]) == {"build", "to_solver", "solve", "read_back"}
    for name in ("production", "lines", "outsourcing", "shipments", "inventory", "markets", "costs", "bottlenecks"):
        assert (out_dir / f"{name}.csv").exists(), name
    lines = pd.read_csv(out_dir / "lines.csv")
    assert {"week", "utilisation", "hour_value"} <= set(lines.columns)
    bottleneck = pd.read_csv(out_dir / "bottlenecks.csv").iloc[0]
    assert bottleneck["resource"] == "L" and "Line L (plant P) is at 100%" in bottleneck["text"]
    assert not (tmp_path / "plan.partial").exists()


def test_plan_that_cannot_meet_a_requirement_exits_3_naming_it(tmp_path, single_hub):
    scenario = single_hub(network=dict(line_hours_per_week=1, hours_per_unit=1.0, daily_mean=4.0),
                          planning={"clear_backlog_at_end": True}, supply="plan")
    out = twin("plan", str(scenario), "--out", str(tmp_path / "plan"))
    assert out.returncode == 3, out.stderr
    assert "backlog of A in market M cannot be cleared" in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "plan").exists()
    # a run whose plan cannot be made leaves nothing that blocks the next one
    for _ in range(2):
        out = twin("run", str(scenario), "-n", "1", "--workers", "1", "--out", str(tmp_path / "run"))
        assert out.returncode == 3 and "cannot be cleared" in out.stderr, out.stderr
    assert not (tmp_path / "run").exists() and not (tmp_path / "run.partial").exists()


def test_run_executes_the_plan_and_keeps_it(tmp_path, single_hub):
    scenario = single_hub(supply="plan")
    out_dir = tmp_path / "run"
    out = twin("run", str(scenario), "-n", "2", "--workers", "1", "--out", str(out_dir))
    assert out.returncode == 0, out.stderr
    assert "plan optimal" in out.stdout and "Fill rate" in out.stdout
    assert json.loads((out_dir / "run.json").read_text())["supply"] == "plan"
    assert (out_dir / "plan" / "production.csv").exists() and (out_dir / "plan" / "summary.json").exists()


@pytest.mark.parametrize("command", [["plan"], ["run", "-n", "1"], ["forecast"], ["compare", "-n", "1"]])
def test_an_output_folder_sop_twin_did_not_write_is_left_alone(tmp_path, single_hub, command, refused):
    """--out naming a user's folder (here: the one holding the scenario and its network,
    as ``--out ..`` or ``--out scenarios`` would) exits 2 naming it, before any work, and
    leaves every file in it as it was; no .partial beside it."""
    scenario = single_hub()
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    workers = [] if command[0] in ("plan", "forecast") else ["--workers", "1"]
    out = refused(command[0], str(scenario), *command[1:], *workers, "--out", str(tmp_path))
    assert out.returncode == 2, out.stdout + out.stderr
    assert str(tmp_path) in out.stderr and "did not write" in out.stderr and "Traceback" not in out.stderr
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before
    assert not tmp_path.with_name(tmp_path.name + ".partial").exists()


@pytest.fixture
def disk(tmp_path):
    """Factory: ``disk(options)`` mounts a small tmpfs (``ro``, ``size=8m``, ``nr_inodes=40``: a
    real read-only or full file system) under tmp_path, unmounted after the test. Skips
    where this user may not mount (the tests run as root in CI)."""
    mounted = []

    def mount(options: str):
        folder = tmp_path / f"disk{len(mounted)}"
        folder.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True)
        if done.returncode:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
        mounted.append(folder)
        return folder

    yield mount
    for folder in mounted:
        subprocess.run(["umount", str(folder)], check=True)


@pytest.mark.parametrize("command", [["plan"], ["run", "-n", "1"], ["forecast"], ["compare", "-n", "1"]])
def test_a_read_only_or_full_disk_is_found_before_the_work(tmp_path, single_hub, disk, command, refused):
    """Issue 18: a read-only output folder or a full disk was an "internal error" (for `twin
    plan`, after the solve). Now: exit 2 before any work, naming the folder and what to do."""
    scenario = single_hub(supply="plan")
    read_only, full = disk("ro,size=1m"), disk("size=8m")
    for out, expected in ((read_only / "out", "cannot be written"), (read_only, "cannot be written"),
                          (full / "out", "needs about 64 MB and its disk has 8 MB free")):
        done = refused(command[0], str(scenario), *command[1:], "--out", str(out))
        assert done.returncode == 2, done.stdout + done.stderr
        assert f"{out}: {expected}" in done.stderr and "Traceback" not in done.stderr, done.stderr
        assert "internal error" not in done.stderr
        assert "plan optimal" not in done.stdout + done.stderr and "Forecasting" not in done.stderr, "before the work"


def test_a_disk_that_fills_during_a_run_is_a_message_and_resumes(tmp_path, single_hub, disk):
    """A file system that runs out of room during the run (here out of inodes: 40 files)
    ends it with exit 73 naming the file and --resume; the finished batches stay in the
    .partial, and the run resumes elsewhere-freed to the same KPIs as a run never cut."""
    scenario = single_hub(supply="plan")
    small = disk("size=100m,nr_inodes=40")
    done = twin("run", str(scenario), "-n", "80", "--workers", "1", "--out", str(small / "run"), "-q")
    assert done.returncode == 73, done.stdout + done.stderr
    assert "cannot write" in done.stderr and "No space left on device" in done.stderr, done.stderr
    assert "--resume" in done.stderr and "Traceback" not in done.stderr and "internal error" not in done.stderr
    assert (small / "run.partial").is_dir() and not (small / "run").exists(), "a cut run never looks finished"
    batches = list((small / "run.partial" / "results" / "kpis").glob("*.parquet"))
    assert batches, "the batches written before the disk filled are kept"
    subprocess.run(["mount", "-o", "remount,nr_inodes=400", str(small)], check=True)  # the user frees room
    resumed = twin("run", str(scenario), "-n", "80", "--workers", "1", "--out", str(small / "run"), "-q", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    whole = twin("run", str(scenario), "-n", "80", "--workers", "1", "--out", str(tmp_path / "whole"), "-q")
    assert whole.returncode == 0, whole.stderr
    assert (small / "run" / "kpis.csv").read_bytes() == (tmp_path / "whole" / "kpis.csv").read_bytes()


def test_finished_output_is_replaced_only_with_overwrite(tmp_path, single_hub, refused):
    """A plan, a run, a report and a comparison written once are refused the second time,
    exit 2, naming the folder and --overwrite (and --resume, where the command has it), with
    every file as it was; with --overwrite each is written again. An empty folder is as good
    as a new one."""
    scenario = single_hub(supply="plan")
    (tmp_path / "plan").mkdir()
    runs = ["-n", "1", "--workers", "1"]
    commands = {"plan": ["plan", str(scenario)], "run": ["run", str(scenario), *runs],
                "report": ["report", str(tmp_path / "run")], "compare": ["compare", str(scenario), *runs]}
    for name, command in commands.items():
        out = twin(*command, "--out", str(tmp_path / name), "-q")
        assert out.returncode == 0 and out.stdout == "", out.stdout + out.stderr  # -q: not even HiGHS's banner
        before = {p: p.read_bytes() for p in (tmp_path / name).rglob("*") if p.is_file()}
        again = refused(*command, "--out", str(tmp_path / name), "-q")
        assert again.returncode == 2 and str(tmp_path / name) in again.stderr, again.stderr
        assert "--overwrite" in again.stderr and ("--resume" in again.stderr) == (name in ("run", "compare"))
        assert {p: p.read_bytes() for p in (tmp_path / name).rglob("*") if p.is_file()} == before
        replaced = twin(*command, "--out", str(tmp_path / name), "-q", "--overwrite")
        assert replaced.returncode == 0, replaced.stderr
        assert (tmp_path / name / MARKER).is_file()
        assert not list(tmp_path.glob("*.partial")) and not list(tmp_path.glob("*.replaced"))
    assert (tmp_path / "report" / "report.html").is_file() and (tmp_path / "compare" / "report.html").is_file()


def test_solver_options_are_part_of_what_resume_checks(tmp_path, single_hub):
    """--time-limit and the other solver options make the plan a run executes: a run resumed
    with other options would mix replications of two plans, so it is refused."""
    scenario = single_hub(supply="plan")
    out = twin("run", str(scenario), "-n", "1", "--workers", "1", "--out", str(tmp_path / "run"), "-q")
    assert out.returncode == 0, out.stderr
    other = twin("run", str(scenario), "-n", "2", "--workers", "1", "--out", str(tmp_path / "run"), "-q",
                 "--resume", "--time-limit", "30")
    assert other.returncode == 2 and "something else" in other.stderr and "time_limit_seconds" in other.stderr
    same = twin("run", str(scenario), "-n", "2", "--workers", "1", "--out", str(tmp_path / "run"), "-q", "--resume")
    assert same.returncode == 0, same.stderr
    assert json.loads((tmp_path / "run" / "run.json").read_text())["replications"] == 2


def test_a_comparison_says_where_it_is_and_until_precision_what_it_reached(tmp_path, single_hub):
    """Progress names each scenario of how many; --until-precision says whether it reached
    its targets (run.json records it) and, where not, that it stopped at --max-replications,
    as a warning that -q does not silence."""
    scenario = single_hub(supply="plan", network=dict(lane_sd_days=1.0, mtbf_hours=200, mttr_hours=8),
                          demand={"model": "negative_binomial", "history_weeks": 52})
    other = tmp_path / "other.yaml"
    other.write_text(scenario.read_text().replace("name: test", "name: other"))
    out = twin("compare", str(scenario), str(other), "-n", "2", "--workers", "1", "--until-precision",
               "fill_rate=0.5", "--out", str(tmp_path / "wide"))
    assert out.returncode == 0, out.stderr
    assert f"Scenario 1 of 2: {scenario}" in out.stderr and f"Scenario 2 of 2: {other}" in out.stderr
    assert out.stderr.count("precision reached with 2 replications: fill_rate ±") == 2, out.stderr
    assert "(asked ±0.5)" in out.stderr
    narrow = twin("run", str(scenario), "-n", "2", "--workers", "1", "--until-precision", "fill_rate=0.000001",
                  "--max-replications", "4", "--out", str(tmp_path / "narrow"), "-q")
    assert narrow.returncode == 0, narrow.stderr
    assert "precision not reached: stopped at the most replications allowed, 4 (--max-replications)" in narrow.stderr
    reached = json.loads((tmp_path / "narrow" / "run.json").read_text())["until_precision"]["fill_rate"]
    assert reached["met"] is False and reached["half_width"] > reached["target"] == 0.000001


def test_a_comparison_reports_every_file_problem_before_its_first_run(tmp_path, single_hub):
    """Two scenarios of one name and a bad third file: one error naming all three problems'
    files, exit 2, before anything runs or is written."""
    scenario = single_hub(supply="plan")
    twice = tmp_path / "twice.yaml"
    twice.write_text(scenario.read_text())
    bad = tmp_path / "bad.yaml"
    bad.write_text(scenario.read_text().replace("name: test", "name: bad") + "colour: blue\n")
    out = twin("compare", str(scenario), str(twice), str(bad), "-n", "1", "--workers", "1",
               "--out", str(tmp_path / "out"))
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
    assert f"{scenario}, {twice}: name: 'test': the name of more than one scenario" in out.stderr
    assert f"{bad}: colour" in out.stderr
    assert not (tmp_path / "out").exists()


def test_a_demand_history_that_never_changes_is_forecast(tmp_path, single_hub):
    """The same demand every week: MASE is undefined (its naive scale is 0), so the methods
    are ranked by MAE, and no warning or internal error reaches the planner."""
    scenario = single_hub(demand={"model": "forecast", "history_weeks": 52})
    out = subprocess.run([sys.executable, "-m", "twin", "run", str(scenario), "-n", "1", "--workers", "1", "--out",
                          str(tmp_path / "run"), "-q"], capture_output=True, text=True,
                         env={**os.environ, "SOP_TWIN_CACHE": "off", "PYTHONWARNINGS": "error"})
    assert out.returncode == 0 and out.stderr == "", out.stderr
    methods = pd.read_csv(tmp_path / "run" / "forecast" / "methods.csv")
    assert methods["method"].notna().all()


def test_more_scenario_variants_than_the_cap_are_refused_before_any_run(tmp_path):
    """Two competitor entries of 8 strategies each would be 64 runs: `twin validate` and
    `twin run` name the file, the events, the count and the flag that raises the cap
    (default 50), and nothing is written; with --max-variants 64 the file validates."""
    import yaml

    strategies = [{"name": f"Option {i}", "price_change_pct": p} for i, p in enumerate(range(-8, 8, 2))]
    entry = {"type": "competitor_entry", "share_loss_pct": 10, "elasticity": -1.5, "strategies": strategies}
    doc = {"extends": str(SCENARIOS / "baseline.yaml"), "name": "Two entrants",
           "events": [entry | {"markets": ["M05"], "start": "2027-06-07"},
                      entry | {"markets": ["M09"], "start": "2027-09-06"}]}
    path = tmp_path / "two.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    said = twin("validate", str(path))
    assert said.returncode == 1, said.stdout + said.stderr
    assert (f"{path}: events[0].strategies, events[1].strategies: 64 scenario variants (8 x 8 pricing strategies), "
            "more than 50") in said.stdout and "--max-variants 64" in said.stdout
    run = twin("run", str(path), "-n", "1", "--out", str(tmp_path / "out"))
    assert run.returncode == 2 and "64 scenario variants" in run.stderr and "Traceback" not in run.stderr
    assert not (tmp_path / "out").exists()
    assert twin("validate", str(path), "--max-variants", "64").returncode == 0
