"""One calendar for daily facts, viewed by ISO week, by calendar month and by a fiscal calendar.

Facts are kept by day; a week, a month or a fiscal period is a view of them (every view
of the same days totals the same). ISO 8601 weeks begin on Monday and belong to the year
of their Thursday, so a year has 53 of them when it begins on a Thursday, or on a
Wednesday in a leap year (2015, 2020, 2026, 2032).

A **fiscal calendar** of the 52-53-week kind (the retail 4-4-5 and 4-5-4 calendars, the
National Retail Federation's among them) ends every fiscal year on the same weekday: the
last such day of the year-end month (``rule="last"``) or the one nearest that month's
last day (``"nearest"``). A year is 52 weeks, or 53 when the year-end weekday has drifted
far enough; its four quarters are 13 weeks each, split into three periods by ``pattern``
(4-4-5: 4, 4 and 5 weeks), and a 53rd week joins the last period (4-4-6), as is usual.
A fiscal year is named after the calendar year it ends in (``label="end"``) or begins in
(``"start"``: NRF's fiscal 2023 began in February 2023).

A **bucket** is the period a demand history is kept in and a forecast made in: the week
(from Monday) or the calendar month. A history's dates say which (:func:`bucket_of`), so
the season length and the frequency follow the data, not a constant.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class Bucket:
    """A planning bucket (module docstring), named by its first day."""

    name: str           # "week", "month": the column a history or forecast keys its periods by
    freq: str           # pandas frequency of the buckets' first days
    season_length: int  # buckets per year, the period of yearly seasonality

    def first_day(self, days: pd.Series) -> pd.Series:
        """The first day of the bucket each day falls in."""
        days = pd.to_datetime(days)
        if self.name == "week":
            return days - pd.to_timedelta(days.dt.weekday, "D")
        return days.dt.to_period("M").dt.start_time

    def after(self, last: pd.Timestamp, periods: int) -> pd.DatetimeIndex:
        """The first days of the ``periods`` buckets after the one beginning on ``last``."""
        return pd.date_range(last, periods=periods + 1, freq=self.freq)[1:]

    def following(self, first: pd.Series) -> pd.Series:
        """The first day of the bucket after each one beginning on ``first``."""
        return first + (pd.DateOffset(months=1) if self.name == "month" else pd.Timedelta(days=7))

    def periods_until(self, last: pd.Timestamp, end: dt.date) -> int:
        """Buckets after the one beginning on ``last`` up to the one holding the day
        before ``end`` (at least one)."""
        starts = pd.date_range(last, pd.Timestamp(end) - pd.Timedelta(days=1), freq=self.freq)
        return max(1, len(starts) - 1)


WEEK = Bucket("week", "W-MON", 52)
MONTH = Bucket("month", "MS", 12)
BUCKETS = (WEEK, MONTH)


def bucket_of(dates: pd.DatetimeIndex | pd.Series) -> Bucket:
    """The bucket whose first days ``dates`` all are: Mondays (weekly) or first days of
    months (monthly). Raises ``ValueError`` naming a date that fits neither."""
    days = pd.DatetimeIndex(pd.unique(pd.DatetimeIndex(dates))).sort_values()
    if len(days) == 0:
        raise ValueError("no dates: a history needs at least one period")
    for bucket in BUCKETS:
        grid = pd.date_range(days[0], days[-1], freq=bucket.freq)
        if len(grid) and grid[0] == days[0] and days.isin(grid).all():
            return bucket
    odd = days[~days.isin(pd.date_range(days[0], days[-1], freq=WEEK.freq))][0]
    raise ValueError(f"the dates are neither all Mondays (weekly buckets) nor all first days of months "
                     f"(monthly buckets): {odd.date()} is a {odd:%A}, day {odd.day} of its month")


def iso_weeks_in_year(year: int) -> int:
    """52 or 53: the ISO week of 28 December is always the year's last."""
    return dt.date(year, 12, 28).isocalendar().week


@dataclass(frozen=True)
class FiscalCalendar:
    """A 52-53-week fiscal calendar (module docstring). The default ends the year on the
    last Saturday of December, in 4-4-5 periods."""

    year_end_month: int = 12
    week_ends_on: str = "saturday"
    rule: Literal["last", "nearest"] = "last"
    pattern: tuple[int, int, int] = (4, 4, 5)
    label: Literal["end", "start"] = "end"

    def __post_init__(self) -> None:
        if not 1 <= self.year_end_month <= 12:
            raise ValueError(f"year_end_month must be 1 to 12, not {self.year_end_month}")
        if self.week_ends_on not in WEEKDAYS:
            raise ValueError(f"week_ends_on must be one of {', '.join(WEEKDAYS)}, not {self.week_ends_on!r}")
        if sorted(self.pattern) != [4, 4, 5]:
            raise ValueError(f"pattern must be 4-4-5, 4-5-4 or 5-4-4 weeks, not {self.pattern}")

    def year_end(self, year: int) -> dt.date:
        """The last day of fiscal year ``year``."""
        ends_in = year if self.label == "end" or self.year_end_month == 12 else year + 1
        month_end = (pd.Timestamp(ends_in, self.year_end_month, 1) + pd.offsets.MonthEnd(0)).date()
        last = month_end - dt.timedelta(days=(month_end.weekday() - WEEKDAYS.index(self.week_ends_on)) % 7)
        if self.rule == "nearest" and (month_end - last).days > 3:
            last += dt.timedelta(days=7)
        return last

    def year_start(self, year: int) -> dt.date:
        return self.year_end(year - 1) + dt.timedelta(days=1)

    def weeks_in_year(self, year: int) -> int:
        return ((self.year_end(year) - self.year_start(year)).days + 1) // 7

    def periods(self, year: int) -> pd.DataFrame:
        """Fiscal year ``year``'s twelve periods: ``fiscal_year, fiscal_quarter,
        fiscal_period, start, end, weeks`` (the last has the 53rd week, if any)."""
        weeks = list(self.pattern) * 4
        weeks[-1] += self.weeks_in_year(year) - 52
        starts = pd.Timestamp(self.year_start(year)) + pd.to_timedelta(
            7 * np.concatenate([[0], np.cumsum(weeks)[:-1]]), "D")
        return pd.DataFrame({"fiscal_year": year, "fiscal_quarter": np.repeat([1, 2, 3, 4], 3),
                             "fiscal_period": np.arange(1, 13), "start": starts.date,
                             "end": (starts + pd.to_timedelta(7 * np.array(weeks) - 1, "D")).date, "weeks": weeks})

    def period_start_on_or_before(self, day: dt.date) -> dt.date:
        """The first day of the fiscal period ``day`` falls in."""
        where = self.of(pd.DatetimeIndex([day])).iloc[0]
        periods = self.periods(int(where["fiscal_year"]))
        return periods["start"].iloc[int(where["fiscal_period"]) - 1]

    def period_spans(self, first: dt.date, last: dt.date) -> pd.DataFrame:
        """The periods of every fiscal year from ``first``'s to ``last``'s, in order."""
        years = self.of(pd.DatetimeIndex([first, last]))["fiscal_year"]
        return pd.concat([self.periods(y) for y in range(int(years.iloc[0]), int(years.iloc[1]) + 1)],
                         ignore_index=True)

    def of(self, days: pd.DatetimeIndex) -> pd.DataFrame:
        """Per day: ``fiscal_year, fiscal_quarter, fiscal_period, fiscal_week`` (1 to 53)."""
        days = pd.DatetimeIndex(days).normalize()
        if len(days) == 0:
            return pd.DataFrame(columns=["fiscal_year", "fiscal_quarter", "fiscal_period", "fiscal_week"], dtype=int)
        years = np.arange(days.min().year - 1, days.max().year + 2)
        ends = pd.DatetimeIndex([self.year_end(int(y)) for y in years])
        at = ends.searchsorted(days)  # the first year ending on or after the day
        year, start = years[at], ends[at - 1] + pd.Timedelta(days=1)
        week = np.asarray((days - start).days // 7)  # 0 to 52
        cumulative = np.cumsum(list(self.pattern) * 4)  # period ends, in weeks
        period = np.minimum(np.searchsorted(cumulative, week, side="right") + 1, 12)
        return pd.DataFrame({"fiscal_year": year, "fiscal_quarter": (period - 1) // 3 + 1,
                             "fiscal_period": period, "fiscal_week": week + 1}, index=days)


def calendar_view(days: pd.DatetimeIndex, fiscal: FiscalCalendar | None = None) -> pd.DataFrame:
    """Every view of each day: ``iso_year, iso_week, iso_week_start`` (its Monday),
    ``year, month`` and, with a fiscal calendar, its year, quarter, period and week; one
    row per day, indexed by it."""
    days = pd.DatetimeIndex(days).normalize()
    iso = days.isocalendar()
    view = pd.DataFrame({"iso_year": iso["year"].to_numpy(int), "iso_week": iso["week"].to_numpy(int),
                         "iso_week_start": days - pd.to_timedelta(days.weekday, "D"),
                         "year": days.year, "month": days.month}, index=days)
    if fiscal is not None:
        view = view.join(fiscal.of(days))
    return view
