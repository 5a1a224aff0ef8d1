"""The sales-margin variances that bridge one margin to another (budget to plan, plan to
outcome), as management-accounting texts define them.

For each product ``i`` with standard (budget) quantity ``Qb``, price ``Pb`` and unit cost
``Cb``, and actual quantity ``Qa``, price ``Pa`` and unit cost ``Ca``; standard margin per
unit ``Mb = Pb - Cb``; ``Qa_std`` the actual total quantity in the standard mix,
``sum(Qa) * Qb / sum(Qb)``:

=============  ==========================================  =========================================
component      formula                                     reads
=============  ==========================================  =========================================
price          ``(Pa - Pb) * Qa``                          sold dearer or cheaper than the standard
mix            ``(Qa - Qa_std) * Mb``                      more of the richer or the poorer products
quantity       ``(Qa_std - Qb) * Mb``                      more or fewer units in the standard mix
cost           ``(Cb - Ca) * Qa``                          made or bought cheaper or dearer
=============  ==========================================  =========================================

Mix plus quantity is the sales volume variance ``(Qa - Qb) * Mb``; the four components sum
exactly to the actual margin less the standard margin, ``sum(Qa * (Pa - Ca)) - sum(Qb *
Mb)`` (Drury, *Management and Cost Accounting*, "sales margin variances"; the ACCA
Performance Management syllabus, "sales mix and quantity variances"). A positive value is
favourable. The mix is measured over the products given together: call per family for a
mix within families.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

COMPONENTS = ("price", "mix", "quantity", "cost")


def margin_bridge(standard: pd.DataFrame, actual: pd.DataFrame) -> pd.DataFrame:
    """The sales-margin variances per product, from one margin to another.

    Parameters
    ----------
    standard, actual : DataFrame
        Indexed by product, with ``quantity``, ``price_per_unit`` and ``cost_per_unit``
        (the standard's, usually the budget or the plan; and what happened). A product
        missing on one side has quantity 0 there; its price and unit cost are then taken
        from the other side, so it moves the volume and not the price.

    Returns
    -------
    DataFrame
        Per product: ``standard_margin``, the four :data:`COMPONENTS` (favourable
        positive), ``actual_margin``; the components sum to ``actual_margin -
        standard_margin`` on every row and in total.
    """
    products = standard.index.union(actual.index, sort=False)
    columns = ["quantity", "price_per_unit", "cost_per_unit"]
    s = standard.reindex(products)[columns]
    a = actual.reindex(products)[columns]
    s["quantity"] = s["quantity"].fillna(0.0)
    a["quantity"] = a["quantity"].fillna(0.0)
    for column in ("price_per_unit", "cost_per_unit"):
        s[column] = s[column].fillna(a[column])
        a[column] = a[column].fillna(s[column])
    qb, qa = s["quantity"].to_numpy(float), a["quantity"].to_numpy(float)
    unit_margin = (s["price_per_unit"] - s["cost_per_unit"]).to_numpy(float)
    qa_std = qa.sum() * qb / qb.sum() if qb.sum() > 0 else qa  # no standard mix: all volume is quantity
    return pd.DataFrame({
        "standard_margin": qb * unit_margin,
        "price": (a["price_per_unit"] - s["price_per_unit"]).to_numpy(float) * qa,
        "mix": (qa - qa_std) * unit_margin,
        "quantity": (qa_std - qb) * unit_margin,
        "cost": (s["cost_per_unit"] - a["cost_per_unit"]).to_numpy(float) * qa,
        "actual_margin": qa * (a["price_per_unit"] - a["cost_per_unit"]).to_numpy(float),
    }, index=products)


def bridge_steps(bridge: pd.DataFrame) -> pd.DataFrame:
    """The bridge as the steps of a waterfall: the standard margin, each component's
    total, the actual margin (``step, amount, cumulative``)."""
    totals = bridge.sum()
    steps = [("standard margin", totals["standard_margin"]), *((c, totals[c]) for c in COMPONENTS)]
    cumulative = np.cumsum([v for _, v in steps])
    rows = [{"step": name, "amount": float(v), "cumulative": float(c)} for (name, v), c in zip(steps, cumulative)]
    rows.append({"step": "actual margin", "amount": float(totals["actual_margin"]),
                 "cumulative": float(totals["actual_margin"])})
    return pd.DataFrame(rows)
