"""Calendars (``twin.calendars``): the ISO years with 53 weeks, a published 52-53-week
fiscal calendar (the National Retail Federation's 4-5-4), and daily facts that total the
same in every view."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from twin.calendars import FiscalCalendar, calendar_view, iso_weeks_in_year

# ISO 8601 long years between 2000 and 2040, as tabulated for the ISO week date
ISO_LONG_YEARS = {2004, 2009, 2015, 2020, 2026, 2032, 2037}
# NRF's 4-5-4 retail calendar: the year ends on the Saturday nearest 31 January and is named
# after the year it begins in; its 53-week years, as NRF publishes them
NRF = FiscalCalendar(year_end_month=1, week_ends_on="saturday", rule="nearest", pattern=(4, 5, 4), label="start")
NRF_53_WEEK_YEARS = {2000, 2006, 2012, 2017, 2023}


def test_iso_years_with_53_weeks():
    assert {y for y in range(2000, 2041) if iso_weeks_in_year(y) == 53} == ISO_LONG_YEARS
    view = calendar_view(pd.date_range("2026-12-28", "2027-01-04"))
    assert view["iso_week"].tolist() == [53] * 7 + [1]  # 2026's week 53 runs to Sunday 3 January 2027
    assert (view["iso_year"].iloc[:7] == 2026).all() and view["iso_year"].iloc[-1] == 2027


def test_the_nrf_retail_calendar_as_published():
    assert {y for y in range(2000, 2028) if NRF.weeks_in_year(y) == 53} == NRF_53_WEEK_YEARS
    assert NRF.year_start(2023) == dt.date(2023, 1, 29) and NRF.year_end(2023) == dt.date(2024, 2, 3)
    periods = NRF.periods(2023)
    assert periods["weeks"].tolist() == [4, 5, 4] * 3 + [4, 5, 5]  # the 53rd week joins January
    assert periods["end"].iloc[-1] == dt.date(2024, 2, 3)


@pytest.mark.parametrize("fiscal", [FiscalCalendar(), NRF, FiscalCalendar(year_end_month=6, rule="nearest",
                                                                          week_ends_on="sunday")])
def test_fiscal_years_and_periods_tile_the_days(fiscal):
    for year in range(2014, 2032):
        periods = fiscal.periods(year)
        assert periods["start"].iloc[0] == fiscal.year_start(year) and periods["end"].iloc[-1] == fiscal.year_end(year)
        assert (pd.to_datetime(periods["start"].iloc[1:]).to_numpy()
                == (pd.to_datetime(periods["end"].iloc[:-1]) + pd.Timedelta(days=1)).to_numpy()).all()
        assert periods["weeks"].sum() == fiscal.weeks_in_year(year) in (52, 53)
        assert pd.Timestamp(fiscal.year_end(year)).day_name().lower() == fiscal.week_ends_on
    days = pd.date_range("2015-01-01", "2030-12-31")
    of = fiscal.of(days)
    for year in (2016, 2023, 2028):
        inside = of[of["fiscal_year"] == year]
        assert inside.index.min().date() == fiscal.year_start(year)
        assert inside.index.max().date() == fiscal.year_end(year)
        by_period = inside.groupby("fiscal_period").size()
        np.testing.assert_array_equal(by_period.to_numpy(), 7 * fiscal.periods(year)["weeks"].to_numpy())


def test_daily_facts_total_identically_in_every_view():
    days = pd.date_range("2024-01-01", "2027-12-31")
    facts = pd.Series(np.random.default_rng(1).poisson(40, len(days)).astype(float), index=days)
    view = calendar_view(days, FiscalCalendar()).assign(qty=facts)
    total = facts.sum()
    for keys in (["iso_year", "iso_week"], ["year", "month"], ["fiscal_year", "fiscal_period"],
                 ["fiscal_year", "fiscal_quarter"]):
        grouped = view.groupby(keys)["qty"].sum()
        assert grouped.sum() == total, keys
    # each ISO week has seven days, each fiscal period four, five or six whole weeks (at the range's edges: part)
    sizes = view.groupby(["iso_year", "iso_week"]).size()
    assert (sizes.iloc[1:-1] == 7).all()


def test_a_fiscal_calendar_that_cannot_be_is_refused():
    with pytest.raises(ValueError, match="year_end_month"):
        FiscalCalendar(year_end_month=13)
    with pytest.raises(ValueError, match="week_ends_on"):
        FiscalCalendar(week_ends_on="fri")
    with pytest.raises(ValueError, match="pattern"):
        FiscalCalendar(pattern=(4, 4, 4))
