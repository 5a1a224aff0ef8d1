"""The ledgers: of one replication, every unit the twin moved on the measured days, as money
per account (``twin.finance.accounts``), SKU and entity; of a plan, its objective's terms
on the same accounts (:func:`plan_ledger`).

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

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from twin.finance.accounts import ACCOUNTS, LEDGER_COLUMNS, PLAN_ACCOUNTS
from twin.sim.kernels import BOOK_MATERIALS, BOOK_OVERTIME, BOOK_REGULAR, BOOK_UNITS
from twin.sim.kpis import priced_units
from twin.sim.model import Replication

if TYPE_CHECKING:  # the optimizer is not loaded by the twin's workers
    from optimizer import Plan, PlanData


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


def material_shares(made: np.ndarray, bom: np.ndarray) -> np.ndarray:
    """(P, K, S) the share of each SKU in plant p's costs of material k (freight, holding):
    the plant's use of it over the horizon, ``made`` (P, S) units x ``bom`` (S, K); where
    the plant used none, every SKU's use of it per unit in the bill of materials. The
    plan and the twin share this key."""
    use = made[:, None, :] * bom.T[None, :, :]
    key = np.where(use.sum(axis=2, keepdims=True) > 0, use, np.broadcast_to(bom.T[None, :, :], use.shape))
    total = key.sum(axis=2, keepdims=True)
    return np.divide(key, total, out=np.zeros_like(key), where=total > 0)


def replication_ledger(rep: Replication) -> pd.DataFrame:
    """The measured days' money of one replication: ``account, sku, entity, amount``
    (amounts positive; an account's ``kind`` says whether it adds to or takes from the margin)."""
    inp = rep.inp
    w = inp.warmup_days
    skus, markets, lines = inp.skus, inp.markets, inp.lines
    shipped = rep.shipped[w:]
    revenue = priced_units(rep, w).sum(axis=0) * inp.price  # (M, S)
    delivery = (shipped * rep.delivery_cost[w:, :, None]).sum(axis=0)  # (M, S)
    holding = rep.inventory[w:].sum(axis=0) * inp.cost[None, :] * inp.holding_rate_per_day[:, None]  # (H, S)
    shortage = (rep.demand[w:] - rep.filled[w:]).sum(axis=0) * inp.shortage_cost  # (M, S)
    materials = np.zeros((len(inp.plants), len(skus)))
    np.add.at(materials, np.asarray(inp.line_plant), rep.booked[:, :, BOOK_MATERIALS])
    made = np.zeros((len(inp.plants), len(skus)))
    np.add.at(made, np.asarray(inp.line_plant), rep.booked[:, :, BOOK_UNITS])
    freight = rep.material_freight[:, :, None] * material_shares(made, inp.bom)  # (P, K, S)
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


def margin_kpis(ledger: pd.DataFrame, rep: Replication) -> pd.DataFrame:
    """KPI rows (``twin.sim.kpis.KPI_COLUMNS``) of the units delivered, the revenue and the
    accounting margin per SKU and per family, every SKU listed (one that sold and cost
    nothing has 0): what a bridge from budget to outcome reads (``twin.finance.budget``)."""
    inp = rep.inp
    sku = pd.Categorical(ledger["sku"], categories=inp.skus).codes
    amount = ledger["amount"].to_numpy()
    sign = np.array([SIGN[a] for a in ledger["account"]])
    families = sorted(set(inp.families))
    family = [families.index(f) for f in inp.families]
    entities = [*inp.skus, *families]
    scopes = ["sku"] * len(inp.skus) + ["family"] * len(families)
    frames = []
    delivered = rep.shipped[inp.warmup_days:].sum(axis=(0, 1))
    for kpi, weights in (("shipped_units", None), ("revenue", amount * (ledger["account"].to_numpy() == "revenue")),
                         ("margin", amount * sign)):
        per_sku = delivered if weights is None else np.bincount(sku, weights=weights, minlength=len(inp.skus))
        per_family = np.bincount(family, weights=per_sku, minlength=len(families))
        frames.append(pd.DataFrame({"kpi": kpi, "scope": scopes, "entity": entities,
                                    "value": np.concatenate([per_sku, per_family])}))
    return pd.concat(frames, ignore_index=True)


PLAN_LEDGER_COLUMNS = ["period", *LEDGER_COLUMNS]


def plan_ledger(plan: Plan, data: PlanData) -> pd.DataFrame:
    """The plan's money: ``period, account, sku, entity, amount``, its objective's terms
    (``Plan.terms``) on the accounts (``PLAN_ACCOUNTS``). A material's terms (its freight to
    a plant, its holding there) go to SKUs by :func:`material_shares`, a plant's workforce
    (workers, hiring, layoffs) by its lines' regular hours per SKU over the horizon (where
    it worked none, by units made, else evenly over the SKUs it can make). Per account the
    rows sum to the plan's cost of that kind (``Plan.costs``) and its revenue."""
    terms = plan.terms.assign(account=plan.terms["kind"].map({**PLAN_ACCOUNTS, "revenue": "revenue"}))
    skus = list(data.skus.index)
    plants = sorted(set(data.lines["plant"]))
    materials = sorted(set(data.bom.index.get_level_values("material")))
    bom = np.zeros((len(skus), len(materials)))
    for (sku, material), q in data.bom.items():
        bom[skus.index(sku), materials.index(material)] = q
    production = plan.production.assign(plant=plan.production["line"].map(data.lines["plant"]))

    def per_plant(values: pd.Series) -> np.ndarray:  # (P, S) summed over lines and periods
        table = values.groupby([production["plant"], production["sku"]]).sum().unstack(fill_value=0.0)
        return table.reindex(index=plants, columns=skus, fill_value=0.0).to_numpy()

    made = per_plant(production["regular_units"] + production["overtime_units"])
    can_make = per_plant(pd.Series(1.0, index=production.index)) > 0  # routes the plan read back
    hours = per_plant(production["regular_hours"])
    workforce = np.where(hours.sum(axis=1, keepdims=True) > 0, hours,
                         np.where(made.sum(axis=1, keepdims=True) > 0, made, can_make.astype(float)))
    workforce = workforce / np.maximum(workforce.sum(axis=1, keepdims=True), 1e-300)
    shares = material_shares(made, bom)

    direct = terms["item"].isin(skus)
    on_material = terms["item"].isin(materials)
    moved = terms[on_material]
    plant_of = np.where(moved["kind"] == "material_holding", moved["entity"],
                        moved["entity"].map(data.lanes["destination"]))
    key = shares[[plants.index(p) for p in plant_of], [materials.index(k) for k in moved["item"]]]  # (R, S)
    staff = terms[~direct & ~on_material]
    parts = [terms[direct].rename(columns={"item": "sku"}),
             _spread(moved, key, skus),
             _spread(staff, workforce[[plants.index(p) for p in staff["entity"]]].reshape(len(staff), len(skus)), skus)]
    return pd.concat(parts, ignore_index=True)[PLAN_LEDGER_COLUMNS]


def _spread(rows: pd.DataFrame, key: np.ndarray, skus: list[str]) -> pd.DataFrame:
    """``rows`` (period, account, entity, amount) put on SKUs by ``key`` (rows x SKUs, each
    row summing to 1), zeros left out."""
    amounts = rows["amount"].to_numpy()[:, None] * key.reshape(len(rows), len(skus))
    r, s = np.nonzero(amounts)
    return pd.DataFrame({"period": rows["period"].to_numpy()[r], "account": rows["account"].to_numpy()[r],
                         "sku": np.asarray(skus, object)[s], "entity": rows["entity"].to_numpy()[r],
                         "amount": amounts[r, s]})
