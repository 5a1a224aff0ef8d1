"""Working capital and cash (``twin.finance.cash``) on a network small enough to work by
hand: one SKU at $10, demand exactly 5 a day, one material at $2 a unit bought weekly from
one supplier (25 % down on dispatch, the rest 14 days later), customers paying 30 days
after delivery; hours ($50 an hour, 0.001 h a unit) and transport ($1 to the hub, $0.50 to
the market a unit) paid on the day."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from twin.finance.cash import cash_book, cash_kpis
from twin.montecarlo import replication_rng
from twin.pipeline import sim_inputs
from twin.scenario import load_scenario
from twin.sim import simulate


def _worked(single_hub, opening: dict[str, float] | None = None, customer_down_payment: float = 0.0):
    path = single_hub(network=dict(daily_mean=5, base_stock=30, market_terms_days=30, material=dict(
        cost_per_unit=2, payment_terms_days=14, down_payment_share=0.25, lead_time_days=7)),
        demand={"model": "normal", "cv": 1e-12, "history_weeks": 52})
    net = path.parent / "net"
    if customer_down_payment:
        pd.read_csv(net / "markets.csv").assign(down_payment_share=customer_down_payment).to_csv(
            net / "markets.csv", index=False)
    if opening:
        pd.DataFrame({"balance": list(opening), "amount": list(opening.values())}).to_csv(
            net / "opening_balances.csv", index=False)
    inp = sim_inputs(load_scenario(path))
    rep = simulate(inp, replication_rng(0, 0))
    return inp, rep, cash_book(rep)


@pytest.fixture
def worked(single_hub):
    return _worked(single_hub)


def test_receivables_payables_and_cash_by_day_as_worked_by_hand(worked):
    inp, rep, book = worked
    w = inp.warmup_days
    days = np.arange(inp.days)
    assert (rep.demand[w:] == 5).all() and (rep.shipped[w:] == 5).all()  # every order served on the day
    assert (book.invoiced[w:] == 50).all()  # 5 units x $10
    # 30 days of $50 invoices are open at any time
    assert (book.receivables[w + 30:] == 1500).all()
    # the supplier ships a week's 35 units ($70) on each week's first day: $17.50 down, $52.50 due 14 days later,
    # so two weeks' $52.50 are open
    dispatch = days % 7 == 0
    assert (rep.purchases[w:, 0][dispatch[w:]] == 70).all() and (rep.purchases[w:, 0][~dispatch[w:]] == 0).all()
    assert book.payables[w + 14:] == pytest.approx(np.full(inp.days - w - 14, 105.0))
    # paid each day: hours 5 x 0.001 h x $50 = $0.25 and transport 5 x ($1 + $0.50) = $7.50; on a
    # dispatch day also the $17.50 down and the $52.50 due from two weeks before
    steady = days >= w + 14
    assert book.paid[steady & dispatch] == pytest.approx(np.full((steady & dispatch).sum(), 0.25 + 7.5 + 17.5 + 52.5))
    assert book.paid[steady & ~dispatch] == pytest.approx(np.full((steady & ~dispatch).sum(), 0.25 + 7.5))
    # a whole week from then on: $350 collected, 7 x $7.75 + $70 paid
    first = w + 35 - (w + 35) % 7  # a week's first day
    weekly = np.diff(book.cash[first::7])
    assert weekly == pytest.approx(np.full(len(weekly), 350 - (7 * 7.75 + 70)))
    # the books balance: what is invoiced and not collected is receivable, day by day
    assert np.diff(book.receivables) == pytest.approx((book.invoiced - book.collected)[1:])
    assert book.cash[-1] == pytest.approx((book.collected - book.paid)[w:].sum())
    assert (book.cash[:w] == 0).all()


def test_dio_dso_and_dpo_recomputed_from_the_daily_series(worked):
    inp, rep, book = worked
    w, n = inp.warmup_days, inp.n_days_measured
    kpis = cash_kpis(rep, book).set_index("kpi")["value"]
    dso = book.receivables[w:].mean() / (book.invoiced[w:].sum() / n)
    dpo = book.payables[w:].mean() / (book.purchased[w:].sum() / n)
    made_per_day = 5 * 2 + 0.25  # materials used and hours, a day
    dio = book.inventory_value[w:].mean() / made_per_day
    assert kpis["dso_days"] == pytest.approx(dso) and kpis["dso_days"] == pytest.approx(30, abs=0.01)
    assert kpis["dpo_days"] == pytest.approx(dpo) and kpis["dpo_days"] == pytest.approx(0.75 * 14)
    assert kpis["dio_days"] == pytest.approx(dio)
    assert kpis["cash_to_cash_days"] == pytest.approx(dio + dso - dpo)
    assert kpis["working_capital_avg"] == pytest.approx(
        book.inventory_value[w:].mean() + book.receivables[w:].mean() - book.payables[w:].mean())
    # inventory at standard cost: finished goods at $6 a unit at the hub, material at $2 a unit at the plant
    np.testing.assert_allclose(book.inventory_value, rep.inventory[:, 0, 0] * 6 + rep.material_on_hand[:, 0, 0] * 2)


def test_opening_balances_from_the_books_are_settled_evenly_over_the_terms_as_worked_by_hand(single_hub):
    """$1,000 cash, $3,000 receivable and $210 payable at the start: the customer pays the
    $3,000 at $100 a day over its 30-day terms, the supplier is paid $15 a day over its 14."""
    base_inp, _, base = _worked(single_hub)
    inp, rep, book = _worked(single_hub, {"cash": 1000, "receivables": 3000, "payables": 210})
    w = inp.warmup_days
    k = np.arange(inp.days - w)
    # receivables: $3,000 less $100 a day, plus the horizon's own $50 a day not yet due (30 days)
    expected = np.where(k < 30, 3000 - 100 * (k + 1) + 50 * (k + 1), 1500)
    np.testing.assert_allclose(book.receivables[w:], expected)
    np.testing.assert_allclose(book.collected[w:], np.where(k < 30, 100.0, 50.0))
    # payables: $210 less $15 a day, plus the horizon's own dispatches not yet due
    own = np.array([sum(52.5 for d in range(w, w + i + 1) if d % 7 == 0 and d > w + i - 14)
                    for i in k])
    np.testing.assert_allclose(book.payables[w:], np.maximum(210 - 15 * (k + 1), 0) + own)
    # cash opens at $1,000 and moves by what is collected less what is paid, from the first day
    assert book.cash[w - 1] == 1000
    np.testing.assert_allclose(book.cash[w:], 1000 + np.cumsum((book.collected - book.paid)[w:]))
    # and it pays what it paid without them, less the warm-up's dues the books' balance replaces
    own_paid = book.paid[w:] - np.where(k < 14, 15.0, 0.0)
    np.testing.assert_allclose(own_paid, base.paid[w:] - _warmup_dues(base_inp, base)[w:])


def _warmup_dues(inp, book) -> np.ndarray:
    """What falls due in the run from the warm-up's own purchases: $52.50 for each dispatch
    in the last 14 days of the warm-up."""
    w, due = inp.warmup_days, np.zeros(inp.days)
    for d in range(w - 14, w):
        if d % 7 == 0 and d + 14 >= w:
            due[d + 14] += 52.5
    return due


def test_a_customer_down_payment_is_collected_on_delivery_and_the_rest_after_the_terms(single_hub):
    """20 % of each $50 day's deliveries paid on the day, $40 after 30 days: $50 collected
    a day in steady state, $1,200 receivable, DSO 24 days."""
    inp, rep, book = _worked(single_hub, customer_down_payment=0.2)
    w = inp.warmup_days
    np.testing.assert_allclose(book.collected[w + 30:], 50.0)
    np.testing.assert_allclose(book.receivables[w + 30:], 1200.0)
    assert cash_kpis(rep, book).set_index("kpi").loc["dso_days", "value"] == pytest.approx(24, abs=0.01)
