"""The import structure DESIGN.md §1-2 asks for: past the scenario's door the twin and the
optimizer see plain data only, the twin plans nothing and forecasts nothing, and the
command line parses arguments and prints, calling the pipeline for everything else."""

from __future__ import annotations

import ast
import subprocess
import sys

from conftest import REPO


def _imports(path) -> set[str]:
    """Every module a file imports, at any depth of its code (TYPE_CHECKING blocks left out)."""
    tree = ast.parse(path.read_text())
    skip = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
            for n in ast.walk(node)}
    names = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names}
    return names


def _within(names: set[str], *roots: str) -> set[str]:
    return {n for n in names if any(n == r or n.startswith(r + ".") for r in roots)}


def test_the_twin_and_the_optimizer_never_import_the_scenario_schema():
    for folder in ("twin/sim", "optimizer"):
        for path in sorted((REPO / folder).glob("*.py")):
            assert not _within(_imports(path), "twin.scenario"), f"{path.relative_to(REPO)} imports the schema"


def test_the_twin_imports_neither_forecasting_nor_the_optimizer():
    for path in sorted((REPO / "twin/sim").glob("*.py")):
        found = _within(_imports(path), "twin.demand", "optimizer", "twin.planning", "twin.pipeline")
        assert not found, f"{path.relative_to(REPO)} imports {sorted(found)}"


def test_importing_the_twin_and_the_optimizer_loads_no_schema_no_forecaster():
    """Transitively, in a fresh interpreter: what ``import twin.sim, optimizer`` loads."""
    code = ("import sys, twin.sim, twin.timeline, optimizer; "
            "print(' '.join(m for m in sys.modules if m.startswith(('twin', 'pydantic', 'statsforecast', "
            "'mlforecast'))))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=REPO).stdout.split()
    assert "twin.sim.model" in loaded  # the probe sees what it imports
    assert not [m for m in loaded if m.startswith(("twin.scenario", "twin.demand", "twin.planning", "twin.pipeline",
                                                   "pydantic", "statsforecast", "mlforecast"))], loaded


def test_the_command_line_parses_and_prints_and_calls_the_pipeline():
    """twin/cli.py imports, of this project, only the pipeline, the error types, and the
    functions that turn results into printed tables; it defines no run, plan or forecast
    step of its own."""
    project = _within(_imports(REPO / "twin/cli.py"), "twin", "optimizer", "reports")
    allowed = {"twin", "twin.pipeline", "twin.errors", "twin.errors.InputError", "twin.errors.Problem",
               "twin.errors.FolderBusy", "twin.errors.DISK_FULL", "twin.errors.NOT_WRITABLE",
               "reports.summary", "reports.summary.cost_table", "reports.summary.decision_summary",
               "reports.summary.headline_table", "reports.summary.line_table", "reports.compare",
               "reports.compare.recommendation", "reports.summary.gap_sentence",
               "reports.summary.forecast_accuracy_table", "reports.summary.fva_table", "twin.sim.kpis",
               "twin.sim.kpis.TOTAL_KPIS"}
    assert project <= allowed, sorted(project - allowed)
    source = (REPO / "twin/cli.py").read_text()
    for step in ("load_scenario", "variants(", "RunFolder", "run_to_folder", "make_plan", "scenario_forecast",
                 "write_plan", "write_forecast", "write_report", "compile_inputs"):
        assert step not in source, f"the CLI does {step} itself: it belongs in twin.pipeline"
