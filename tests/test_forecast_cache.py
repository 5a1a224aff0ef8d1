"""Forecasts kept on disk between runs (twin.demand.cache): read back identical, never
stale, never half-written, and skipped rather than failing."""

from __future__ import annotations

from dataclasses import fields, replace

import pandas as pd
import pytest
from conftest import SCENARIOS

from twin.demand import cache
from twin.demand import forecast as fc
from twin.scenario import load_scenario


@pytest.fixture
def small(monkeypatch, tmp_path):
    """The reference network cut to the history of one pump and one spare part (a few
    seconds to forecast), an empty cache folder of its own, and no forecast in memory."""
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(fc, "_CACHE", {})
    loaded = load_scenario(SCENARIOS / "baseline.yaml")
    history = loaded.network.demand_history
    keep = history.index.get_level_values("sku").isin(["COR-01", "SPA-01"])
    return replace(loaded.network, demand_history=history[keep]), loaded.scenario


def _forecast(net, scenario):
    return fc.scenario_forecast(net, scenario.horizon.end, scenario.forecasting)


def test_a_forecast_is_read_back_from_disk_identical_without_recomputing(small, monkeypatch):
    net, scenario = small
    first = _forecast(net, scenario)
    assert not fc.remembered(replace(net, demand_history=net.demand_history * 2), scenario.horizon.end,
                             scenario.forecasting)
    monkeypatch.setattr(fc, "_CACHE", {})  # a new process: only the disk remembers
    assert fc.remembered(net, scenario.horizon.end, scenario.forecasting)

    def must_not_run(*args, **kwargs):
        raise AssertionError("recomputed a forecast the cache holds")

    monkeypatch.setattr(fc, "forecast_network", must_not_run)
    again = _forecast(net, scenario)
    for f in fields(fc.ForecastResult):
        pd.testing.assert_frame_equal(getattr(again, f.name), getattr(first, f.name), check_exact=True)
    assert len(first.forecasts) > 0


def test_the_key_changes_with_everything_the_forecast_depends_on(small):
    net, scenario = small
    end, settings = scenario.horizon.end, scenario.forecasting
    base = fc._cache_key(net, end, settings)
    promotions = net.promotions.copy()
    promotions["discount_pct"] = promotions["discount_pct"] + 1
    prices = net.products.copy()
    prices["price_per_unit"] = prices["price_per_unit"] * 1.1
    others = [
        fc._cache_key(replace(net, demand_history=net.demand_history + 1), end, settings),
        fc._cache_key(replace(net, promotions=promotions), end, settings),
        fc._cache_key(replace(net, products=prices), end, settings),
        fc._cache_key(net, end + pd.Timedelta(weeks=8), settings),
        fc._cache_key(net, end, settings.model_copy(update={"backtest_windows": 5})),
    ]
    assert base == fc._cache_key(net, end, settings)
    assert len({base, *others}) == 1 + len(others)


def test_a_damaged_entry_is_recomputed_and_a_partial_one_is_never_read(small):
    net, scenario = small
    first = _forecast(net, scenario)
    key = fc._cache_key(net, scenario.horizon.end, scenario.forecasting)
    entry = cache.root() / key
    (entry / "forecasts.parquet").write_bytes(b"not parquet")
    assert cache.load(key) is None and not entry.exists()  # dropped, so the next run rewrites it
    fc._CACHE.clear()
    pd.testing.assert_frame_equal(_forecast(net, scenario).forecasts, first.forecasts)
    assert cache.has(key)
    # a write that stopped before its rename is not an entry
    (cache.root() / f"{key}x.partial-1").mkdir()
    assert not cache.has(f"{key}x") and cache.load(f"{key}x") is None


def test_off_or_unwritable_cache_is_skipped_quietly(small, monkeypatch, tmp_path):
    net, scenario = small
    monkeypatch.setenv(cache.CACHE_ENV, "off")
    assert cache.root() is None
    assert len(_forecast(net, scenario).forecasts) > 0
    blocked = tmp_path / "file"
    blocked.write_text("a file where the cache folder would be")
    monkeypatch.setenv(cache.CACHE_ENV, str(blocked))
    cache.save("forecast-x", {"t": pd.DataFrame({"a": [1]})})  # no error
    assert not cache.has("forecast-x")
