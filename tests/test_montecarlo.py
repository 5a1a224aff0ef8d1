"""Monte Carlo at scale: the same KPIs whichever executor ran them, results on disk as
they arrive, a killed run that resumes to exactly a clean run, failures reported with
their seeds, and a run that stops when its intervals are narrow enough."""

from __future__ import annotations

import functools
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
from dask import config as dask_config
import pytest

from twin import montecarlo
from twin.errors import InputError
from twin.montecarlo import DaskExecutor, LocalExecutor, ReplicationFailed, combine, run, simulate_batches
from twin.results import KPIsNotFinite, RunFolder, RunInProgress, RunMismatch, fingerprint, run_to_folder
from twin.scenario import load_scenario
from twin.pipeline import sim_inputs

REPS, SEED = 12, 11


@pytest.fixture
def scenario(single_hub):
    """The single hub with random demand, lead times and breakdowns: every replication differs."""
    return load_scenario(single_hub(network=dict(lane_sd_days=1.0, mtbf_hours=200, mttr_hours=8),
                                    demand={"model": "negative_binomial", "history_weeks": 52}))


def _sorted(result) -> pd.DataFrame:
    return result.kpis.sort_values(["replication", "kpi", "scope", "entity"], ignore_index=True)


def test_same_kpis_whichever_executor_workers_or_batch_size(scenario):
    """Bit-identical: one process, two processes, a Dask LocalCluster of two workers (twice),
    and batches of one replication or of all of them."""
    inp = sim_inputs(scenario)
    one = run(inp, REPS, SEED, LocalExecutor(1))
    two = run(inp, REPS, SEED, LocalExecutor(2))
    dask = DaskExecutor("local", workers=2)
    try:
        assert dask.workers == 2
        # the workers run without Dask's housekeeping for long-lived workers (LOCAL_CLUSTER_CONFIG)
        assert set(dask.client.run(os.environ.get, "MALLOC_TRIM_THRESHOLD_").values()) == {None}
        assert set(dask.client.run(dask_config.get, "distributed.worker.profile.enabled").values()) == {False}
        on_dask = run(inp, REPS, SEED, dask)
        # the same inputs again on the same cluster, as `twin compare` does for scenarios that
        # share them: the first run's inputs leaving the workers must not take the second's
        again = run(inp, REPS, SEED, dask)
    finally:
        dask.close()
    tiny = combine(list(simulate_batches(inp, SEED, list(range(REPS)), LocalExecutor(1), most=1)), inp.name)
    assert one.replications == list(range(REPS))
    assert one.kpis["value"].nunique() > REPS  # not a constant table that would match anything
    for other in (two, on_dask, again, tiny):
        pd.testing.assert_frame_equal(_sorted(other), _sorted(one), check_exact=True)
        pd.testing.assert_frame_equal(other.series, one.series, check_exact=True)


def test_progress_bar_shows_replications_rate_and_time_left(scenario, capsys, monkeypatch):
    # redrawn on every update: these replications take milliseconds, less than tqdm's 0.1 s between redraws
    monkeypatch.setattr(montecarlo, "tqdm", functools.partial(montecarlo.tqdm, mininterval=0))
    inp = sim_inputs(scenario)
    list(simulate_batches(inp, SEED, list(range(4)), LocalExecutor(1), progress=True))
    err = capsys.readouterr().err
    # done/total [elapsed<left, rate]
    assert re.search(r"\d/4 \[\d\d:\d\d<\d\d:\d\d, +[\d.]+rep/s\]", err), err


def _twin(*args: str) -> subprocess.Popen:
    """``twin ARGS`` in its own process group, so the test can kill it with its workers."""
    return subprocess.Popen([sys.executable, "-m", "twin", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def _finish(proc: subprocess.Popen) -> tuple[int, str]:
    _, err = proc.communicate(timeout=300)
    return proc.returncode, err


def test_a_killed_run_resumes_to_exactly_the_clean_run(tmp_path, scenario):
    """The test kills the whole run (parent and workers) once some batches are on disk;
    --resume then runs only what is missing and ends with every replication exactly once,
    with the KPIs of a run that was never interrupted."""
    n = 160  # 4 tasks per worker: batches of 20
    path = scenario.file
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    done = _twin("run", path, "-n", str(n), "--seed", str(SEED), "--workers", "2", "--out", str(clean), "-q")
    code, err = _finish(done)
    assert code == 0, err

    proc = _twin("run", path, "-n", str(n), "--seed", str(SEED), "--workers", "2", "--out", str(killed), "-q")
    batches = tmp_path / "killed.partial" / "results" / "kpis"
    deadline = time.time() + 120
    while time.time() < deadline and len(list(batches.glob("*.parquet"))) < 2:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()
    on_disk = len(list(batches.glob("*.parquet")))
    assert 2 <= on_disk < 8, "killed part-way"
    assert not killed.exists(), "an interrupted run never looks complete"

    again = _twin("run", path, "-n", str(n), "--seed", str(SEED), "--workers", "2", "--out", str(killed), "-q")
    code, err = _finish(again)
    assert code == 2 and "--resume" in err  # refuses to start over and lose the finished batches
    resumed = _twin("run", path, "-n", str(n), "--seed", str(SEED), "--workers", "2", "--out", str(killed), "-q",
                    "--resume")
    code, err = _finish(resumed)
    assert code == 0, err

    a = pd.read_parquet(clean / "results" / "kpis").sort_values(["replication", "kpi", "scope", "entity"],
                                                                 ignore_index=True)
    b = pd.read_parquet(killed / "results" / "kpis").sort_values(["replication", "kpi", "scope", "entity"],
                                                                  ignore_index=True)
    assert b.groupby("replication").size().eq(b.groupby("replication").size().iloc[0]).all()  # none repeated
    assert sorted(b["replication"].unique()) == list(range(n))  # none lost
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert pd.read_csv(killed / "summary.csv").equals(pd.read_csv(clean / "summary.csv"))


def _workers(parent: int) -> list[int]:
    """The pool workers of process ``parent``: its children that run what it runs (forked),
    not multiprocessing's resource tracker."""
    cmdline = Path(f"/proc/{parent}/cmdline").read_bytes()
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            if ppid == parent and (stat.parent / "cmdline").read_bytes() == cmdline:
                found.append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):  # a process that ended meanwhile
            pass
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _batches_on_disk(folder: Path, least: int) -> None:
    deadline = time.time() + 120
    while time.time() < deadline and len(list((folder / "results" / "kpis").glob("*.parquet"))) < least:
        time.sleep(0.05)


def test_one_writer_per_run_folder_and_a_killed_writer_leaves_neither_lock_nor_workers(tmp_path, scenario):
    """While a run fills its folder, a second ``twin run`` on it (with --resume and another
    worker count, with --overwrite, or plain) exits 2 naming the writer's pid and touches
    nothing. The writer, killed with SIGKILL (the parent only, as an out-of-memory killer
    would), takes its worker processes with it and leaves no lock: --resume goes on and
    ends with each replication exactly once."""
    n, path, out = 400, scenario.file, tmp_path / "run"
    args = ("-n", str(n), "--seed", str(SEED), "--out", str(out), "-q")
    first = _twin("run", path, "--workers", "2", *args)
    _batches_on_disk(tmp_path / "run.partial", 1)
    others = [_twin("run", path, *extra, *args) for extra in (["--resume", "--workers", "1"], ["--overwrite"], [])]
    for other in others:
        code, err = _finish(other)
        assert code == 2 and f"being written by another sop-twin process (pid {first.pid})" in err, err
    assert first.poll() is None, "the first run was still running: make it longer"
    workers = _workers(first.pid)
    assert len(workers) == 2
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=30)  # (not communicate(): live workers would hold its stderr open)
    first.stderr.close()
    deadline = time.time() + 10
    while time.time() < deadline and any(map(_alive, workers)):
        time.sleep(0.1)
    assert not any(map(_alive, workers)), "the workers ended with their parent"
    assert not out.exists(), "a killed run never looks complete"
    code, err = _finish(_twin("run", path, "--workers", "2", "--resume", *args))
    assert code == 0, err
    kpis = pd.read_csv(out / "kpis.csv")
    assert kpis.groupby("replication").size().nunique() == 1 and sorted(kpis["replication"].unique()) == list(range(n))


def test_a_finished_run_stays_until_its_replacement_is_complete(tmp_path, scenario):
    """--overwrite: the new run fills ``<folder>.partial`` while the old run stays whole in
    ``<folder>``; it is swapped in only when finished."""
    identity = {"fingerprint": fingerprint(scenario), "seed": SEED}
    old = RunFolder(tmp_path / "run", identity)
    run_to_folder(sim_inputs(scenario), old, 2, SEED, LocalExecutor(1))
    old.finish({"scenario": "old"})
    before = {p: p.read_bytes() for p in (tmp_path / "run").rglob("*") if p.is_file()}
    with pytest.raises(InputError, match="--overwrite"):
        RunFolder(tmp_path / "run", {**identity, "seed": SEED + 1})
    new = RunFolder(tmp_path / "run", {**identity, "seed": SEED + 1}, overwrite=True)
    run_to_folder(sim_inputs(scenario), new, 3, SEED + 1, LocalExecutor(1))
    assert {p: p.read_bytes() for p in (tmp_path / "run").rglob("*") if p.is_file()} == before
    new.finish({"scenario": "new"})
    assert pd.read_csv(tmp_path / "run" / "kpis.csv")["replication"].nunique() == 3
    assert not list(tmp_path.glob("run.*")), "neither the new run's .partial nor the old run is left beside it"


def test_a_raising_replication_is_reported_with_its_seed_and_retried_on_resume(tmp_path, scenario, monkeypatch):
    import twin.montecarlo as mc

    real = mc.simulate

    def fragile(inp, rng):
        if rng.bit_generator.seed_seq.spawn_key == (3,):
            raise ValueError("negative stock at hub H")
        return real(inp, rng)

    monkeypatch.setattr(mc, "simulate", fragile)
    with pytest.raises(ReplicationFailed) as caught:
        run(sim_inputs(scenario), 6, SEED, LocalExecutor(1))
    assert caught.value.failures == [{"replication": 3, "seed": SEED, "error": "ValueError: negative stock at hub H"}]
    assert "replication 3 (seed 11): ValueError: negative stock at hub H" in str(caught.value)

    identity = {"fingerprint": fingerprint(scenario), "seed": SEED}
    folder = RunFolder(tmp_path / "run", identity)
    with pytest.raises(ReplicationFailed):
        run_to_folder(sim_inputs(scenario), folder, 6, SEED, LocalExecutor(1))
    assert folder.done == {0, 1, 2, 4, 5}  # the others ran and are on disk
    folder.release()  # as the failed run's process would when it ends

    monkeypatch.setattr(mc, "simulate", real)
    resumed = RunFolder(tmp_path / "run", identity, resume=True)
    assert resumed.done == {0, 1, 2, 4, 5}
    run_to_folder(sim_inputs(scenario), resumed, 6, SEED, LocalExecutor(1))
    assert resumed.done == set(range(6))
    assert (resumed.partial / "results" / "kpis" / "0000003-0000003.parquet").exists()  # it alone ran again
    resumed.finish({"scenario": scenario.scenario.name})
    kpis = pd.read_csv(tmp_path / "run" / "kpis.csv")
    assert sorted(kpis["replication"].unique()) == list(range(6))


def test_a_worker_that_dies_mid_batch_is_retried_and_nothing_is_lost_or_repeated(tmp_path, scenario, monkeypatch):
    """A local worker process dies (os._exit, as the OOM killer would) while running
    replication 5, once: its pool breaks, every unfinished batch runs again on a new pool,
    and the run ends with the clean run's KPIs."""
    import twin.montecarlo as mc

    real, marker = mc.simulate, tmp_path / "died-once"

    def dies_once(inp, rng):
        if rng.bit_generator.seed_seq.spawn_key == (5,) and not marker.exists():
            marker.touch()
            os._exit(1)
        return real(inp, rng)

    inp = sim_inputs(scenario)
    clean = run(inp, REPS, SEED, LocalExecutor(1))
    monkeypatch.setattr(mc, "simulate", dies_once)  # the pool's workers fork from this process
    survived = run(inp, REPS, SEED, LocalExecutor(2))
    assert marker.exists(), "a worker died"
    pd.testing.assert_frame_equal(_sorted(survived), _sorted(clean), check_exact=True)


def test_a_dask_worker_killed_mid_run_loses_nothing(scenario):
    """A Dask worker process is killed (SIGKILL) while batches are queued on it: the nanny
    restarts it, the scheduler reruns its tasks, and every replication arrives exactly once
    with the KPIs of a clean run."""
    inp = sim_inputs(scenario)
    n = 40
    clean = run(inp, n, SEED, LocalExecutor(1))
    dask = DaskExecutor("local", workers=2)
    try:
        pids = list(dask.client.run(os.getpid).values())
        results = []
        stream = dask.map(inp, SEED, [[i] for i in range(n)])
        results.append(next(stream))
        os.kill(pids[0], signal.SIGKILL)
        results += list(stream)
        assert pids[0] not in dask.client.run(os.getpid).values(), "the worker was killed and replaced"
    finally:
        dask.close()
    survived = combine(results, inp.name)
    assert survived.replications == list(range(n))
    pd.testing.assert_frame_equal(_sorted(survived), _sorted(clean), check_exact=True)


def test_a_local_dask_clusters_workers_end_with_the_process_that_started_them():
    """``--cluster local``: the LocalCluster's nannies live in the process that started it,
    and their worker processes end when it is killed with SIGKILL (no orphans of hundreds
    of MB left behind)."""
    starter = subprocess.Popen(
        [sys.executable, "-c", "import os, sys, time\n"
         "from twin.montecarlo import DaskExecutor\n"
         "if __name__ == '__main__':\n"
         "    ex = DaskExecutor('local', workers=2)\n"
         "    print(*ex.client.run(os.getpid).values(), flush=True)\n"
         "    time.sleep(600)\n"],
        stdout=subprocess.PIPE, text=True)
    try:
        workers = [int(pid) for pid in starter.stdout.readline().split()]
        assert len(workers) == 2 and all(map(_alive, workers))
    finally:
        starter.kill()
        starter.wait(timeout=30)
        starter.stdout.close()
    deadline = time.time() + 20
    while time.time() < deadline and any(map(_alive, workers)):
        time.sleep(0.1)
    assert not any(map(_alive, workers)), "the Dask workers ended with the process that started them"


def test_a_run_whose_kpis_are_undefined_fails_loudly(tmp_path, scenario, monkeypatch):
    """KPIs that come out NaN (inputs the door did not catch) end the run with an error naming
    them; nothing is written as a finished run."""
    import twin.montecarlo as mc

    real = mc.replication_kpis
    monkeypatch.setattr(mc, "replication_kpis", lambda *a, **k: real(*a, **k).assign(value=float("nan")))
    folder = RunFolder(tmp_path / "run", {"fingerprint": fingerprint(scenario), "seed": SEED})
    run_to_folder(sim_inputs(scenario), folder, 2, SEED, LocalExecutor(1))
    with pytest.raises(KPIsNotFinite, match=r"test: backorder_units_avg, .*fill_rate, .* came out undefined \(NaN or infinite\)"):
        folder.finish({"scenario": "test"})
    assert not (tmp_path / "run").exists() and (tmp_path / "run.partial").exists()


def test_resume_refuses_a_run_of_other_inputs(tmp_path, scenario):
    identity = {"fingerprint": fingerprint(scenario), "seed": SEED}
    RunFolder(tmp_path / "run", identity).release()  # a run interrupted: its process ended
    with pytest.raises(RunInProgress, match="--resume"):
        RunFolder(tmp_path / "run", identity)
    with pytest.raises(RunMismatch, match="another --out|use another"):
        RunFolder(tmp_path / "run", {**identity, "seed": SEED + 1}, resume=True)


def test_until_precision_adds_replications_until_the_interval_is_narrow_enough(tmp_path, scenario):
    folder = RunFolder(tmp_path / "run", {"fingerprint": fingerprint(scenario), "seed": SEED})
    target = 0.01  # fill rate varies by about 0.035 between replications: about 50 are needed
    n = run_to_folder(sim_inputs(scenario), folder, 5, SEED, LocalExecutor(1), precision={"fill_rate": (target, False)},
                      most=400)
    summary = folder.finish({"scenario": scenario.scenario.name})
    fill = summary.query("kpi == 'fill_rate' and scope == 'total'").iloc[0]
    assert 5 < n < 400 and fill["n"] == n
    assert (fill["ci_high"] - fill["ci_low"]) / 2 <= target
