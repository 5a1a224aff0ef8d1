"""The ledger of one replication: every unit the twin moved on the measured days, as money
per account (``twin.finance.accounts``), SKU and entity.

Grain: the horizon's total per ``account, sku, entity`` (a few hundred rows), not per day:
a year of daily rows per replication would outweigh the simulation, and the daily totals
per account are already in the replication (its control totals). Margin per SKU, family,
market or hub is a group-by over these rows; :func:`control_totals` is what the same run
counted account by account without the ledger, and the two agree to float rounding
(``tests/test_ledger.py``).

How each account reaches a SKU (``Account.key``): revenue, delivery, holding, outsourcing
and shortage are per SKU as the twin moved them; a line's regular and overtime hours are
split each day by the units it made x their hours per unit, and its materials through
the bill of materials (``twin.sim.kernels.produce`` books both); freight on a lane
carrying finished goods is booked per SKU as committed; a material's freight to a plant
goes to the SKUs by what the plant made of them over the horizon x the material they
use (where the plant used none of it, by every SKU's use of it in the bill of materials).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from twin.finance.accounts import ACCOUNTS, LEDGER_COLUMNS
from twin.sim.inputs import SimInput
from twin.sim.kernels import BOOK_MATERIALS, BOOK_OVERTIME, BOOK_REGULAR, BOOK_UNITS
from twin.sim.model import Replication


def _frame(blocks: list[tuple[str, np.ndarray, list[str]]], skus: list[str]) -> pd.DataFrame:
    """One table from (account, (entity, SKU) amounts, entity IDs) blocks, zeros left out."""
    names = np.asarray(skus, object)
    parts = [(account, np.nonzero(values), values, np.asarray(entities, object)) for account, values, entities in blocks]
    return pd.DataFrame({
        "account": np.concatenate([np.full(len(e), account, object) for account, (e, _), _, _ in parts]),
        "sku": np.concatenate([names[s] for _, (_, s), _, _ in parts]),
        "entity": np.concatenate([ids[e] for _, (e, _), _, ids in parts]),
        "amount": np.concatenate([values[e, s] for _, (e, s), values, _ in parts]),
    })[LEDGER_COLUMNS]


def _material_freight_by_sku(rep: Replication) -> np.ndarray:
    """(P, K, S) each plant's material freight shared among SKUs by their use of it."""
    inp = rep.inp
    plant_of_line = np.asarray(inp.line_plant)
    made = np.zeros((len(inp.plants), len(inp.skus)))
    np.add.at(made, plant_of_line, rep.booked[:, :, BOOK_UNITS])
    use = made[:, None, :] * inp.bom.T[None, :, :]  # (P, K, S) material units used per SKU
    fallback = np.broadcast_to(inp.bom.T[None, :, :], use.shape)  # where the plant used none: the BOM
    key = np.where(use.sum(axis=2, keepdims=True) > 0, use, fallback)
    total = key.sum(axis=2, keepdims=True)
    share = np.divide(key, total, out=np.zeros_like(key), where=total > 0)
    return rep.material_freight[:, :, None] * share


def replication_ledger(rep: Replication) -> pd.DataFrame:
    """The measured days' money of one replication: ``account, sku, entity, amount``
    (amounts positive; an account's ``kind`` says whether it adds to or takes from the margin)."""
    inp = rep.inp
    w = inp.warmup_days
    skus, markets, lines = inp.skus, inp.markets, inp.lines
    shipped = rep.shipped[w:]
    price_paid = shipped if rep.price_factor is None else shipped * rep.price_factor[w:]
    revenue = price_paid.sum(axis=0) * inp.price  # (M, S)
    delivery = (shipped * rep.delivery_cost[w:, :, None]).sum(axis=0)  # (M, S)
    holding = rep.inventory[w:].sum(axis=0) * inp.cost[None, :] * inp.holding_rate_per_day[:, None]  # (H, S)
    shortage = (rep.demand[w:] - rep.filled[w:]).sum(axis=0) * inp.shortage_cost  # (M, S)
    materials = np.zeros((len(inp.plants), len(skus)))
    np.add.at(materials, np.asarray(inp.line_plant), rep.booked[:, :, BOOK_MATERIALS])
    freight = _material_freight_by_sku(rep)  # (P, K, S)
    material_lanes = sorted({lane.lane for lane in inp.material_lane.values()})
    by_material_lane = np.zeros((len(material_lanes), len(skus)))  # a lane may carry several materials
    for (p, k), lane in inp.material_lane.items():
        by_material_lane[material_lanes.index(lane.lane)] += freight[p, k]
    inbound = list(rep.lane_booked)
    return _frame([
        ("revenue", revenue, markets),
        ("materials", materials, inp.plants),
        ("regular_time", rep.booked[:, :, BOOK_REGULAR] * inp.cost_per_hour[:, None], lines),
        ("overtime", rep.booked[:, :, BOOK_OVERTIME] * inp.overtime_cost_per_hour[:, None], lines),
        ("outsourcing", rep.outsourcing_booked, inp.partners),
        ("transport", delivery, inp.market_lane),
        ("transport", np.array([rep.lane_booked[lane] for lane in inbound]).reshape(len(inbound), len(skus)), inbound),
        ("transport", by_material_lane, material_lanes),
        ("holding", holding, inp.hubs),
        ("shortage", shortage, markets),
    ], skus)


SIGN = {a.name: {"revenue": 1.0, "cost": -1.0, "memo": 0.0}[a.kind] for a in ACCOUNTS}  # towards the margin


def margin_by(ledger: pd.DataFrame, by: str | list[str]) -> pd.Series:
    """Accounting margin (revenue less costs; memo accounts left out) per ``by``."""
    signed = ledger["amount"] * ledger["account"].map(SIGN)
    return signed.groupby([ledger[c] for c in np.atleast_1d(by)], sort=True).sum()


def margin_kpis(ledger: pd.DataFrame, inp: SimInput) -> pd.DataFrame:
    """KPI rows (``twin.sim.kpis.KPI_COLUMNS``) of the accounting margin per SKU and per
    family, every SKU listed (one that sold and cost nothing has margin 0)."""
    sku = pd.Categorical(ledger["sku"], categories=inp.skus).codes
    sign = np.array([SIGN[a] for a in ledger["account"]])
    per_sku = np.bincount(sku, weights=ledger["amount"].to_numpy() * sign, minlength=len(inp.skus))
    families = sorted(set(inp.families))
    per_family = np.bincount([families.index(f) for f in inp.families], weights=per_sku, minlength=len(families))
    return pd.DataFrame({"kpi": "margin", "scope": ["sku"] * len(inp.skus) + ["family"] * len(families),
                         "entity": [*inp.skus, *families], "value": np.concatenate([per_sku, per_family])})
