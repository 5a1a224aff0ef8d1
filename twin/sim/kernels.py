"""The twin's daily arithmetic, compiled with Numba.

Each function is one actor's step on one day, written as loops over the (few) lines,
markets and SKUs it touches. The SimPy processes in ``twin.sim.model`` still own the
clock, the order of events and the randomness; these only do the sums. Why compiled: a
step on these (3 x 40)-sized arrays made 20–40 NumPy calls of 1–3 µs each, so the daily
loop was call overhead, not arithmetic (``benchmarks/README.md``). Arrays are updated in
place; the docstrings give their shapes. ``cache=True`` keeps the machine code next to
this file, so only the first run on a machine compiles.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from twin.sim.inputs import POLICY_CODES

EPS = 1e-9
BASE_STOCK, R_Q = POLICY_CODES["base_stock"], POLICY_CODES["rQ"]
# produce()'s booked axis 2: units made, regular hours, overtime hours, materials at cost
BOOK_UNITS, BOOK_REGULAR, BOOK_OVERTIME, BOOK_MATERIALS = range(4)
BOOKED = 4


@njit(cache=True)
def produce(queue, repair_due, regular, up, overtime_cap, extra_overtime, hours_per_unit, bom, material, material_price,
            plan_days_left, available, downtime, regular_worked, overtime_worked, produced, made, booked):
    """One plant's lines make from their queues for one day.

    queue (Lp, H, S) units each line owes each hub (updated); repair_due (Lp,) repair hours
    owed (updated); regular, up, overtime_cap, extra_overtime (Lp,): regular hours a day,
    the share of them the line has today, overtime hours it may add a day, and the extra a
    rule approved for today; hours_per_unit (Lp, S); bom (S, K); material (K,) on hand at
    the plant (updated); material_price (K,); plan_days_left: days left in the plan week,
    or 0 before and without a plan.

    Writes available, downtime, regular_worked, overtime_worked, produced (Lp,) and made
    (H, S), the units made for each hub; adds to booked (Lp, S, BOOKED) each SKU's units
    made, regular and overtime hours (the line's hours split by units x hours per unit)
    and materials at cost, the ledger's grain (``twin.finance.ledger``). Returns the cost of
    the materials used and whether any line worked (when none did, made is left as it was).

    A line works its queue with its regular hours less repair time, spread over the queued
    SKUs in proportion to their outstanding hours. Under a plan it adds overtime only for
    what the regular hours left in the week cannot finish, spread over the days left;
    without one, its whole overtime cap while more than a week of regular work is queued.
    When the lines together need more of a material than the plant holds, each line using
    it is cut back in the same proportion.
    """
    n_lines, n_hubs, n_skus = queue.shape
    n_materials = bom.shape[1]
    units = np.zeros((n_lines, n_skus))
    needed = np.zeros(n_lines)
    hours = np.zeros(n_lines)
    share = np.zeros(n_lines)
    working = False
    for line in range(n_lines):
        have = regular[line] * up[line]
        repair = min(repair_due[line], have)
        repair_due[line] -= repair
        hours[line] = have - repair
        available[line] = hours[line]
        downtime[line] = repair
        for h in range(n_hubs):
            for s in range(n_skus):
                units[line, s] += queue[line, h, s]
        for s in range(n_skus):
            needed[line] += units[line, s] * hours_per_unit[line, s]
        if needed[line] > EPS and up[line] > 0:
            working = True
            cap = (overtime_cap[line] + extra_overtime[line]) * up[line]
            if plan_days_left > 0:  # finish the plan week's work: overtime only for what regular hours cannot
                overtime = min(max((needed[line] - hours[line] * plan_days_left) / plan_days_left, 0.0), cap)
            else:
                overtime = cap if needed[line] > 7 * regular[line] else 0.0
            share[line] = min(1.0, (hours[line] + overtime) / needed[line])
    if not working:
        return 0.0, False
    use = np.zeros((n_lines, n_materials))
    total_use = np.zeros(n_materials)
    for line in range(n_lines):
        for s in range(n_skus):
            if units[line, s] > 0:
                for k in range(n_materials):
                    use[line, k] += units[line, s] * share[line] * bom[s, k]
        for k in range(n_materials):
            total_use[k] += use[line, k]
    short = False
    for k in range(n_materials):
        short |= total_use[k] > material[k]
    if short:  # every line using a short material is cut back by the same ratio
        ratio = np.ones(n_materials)
        for k in range(n_materials):
            if total_use[k] > material[k]:
                ratio[k] = material[k] / total_use[k]
        total_use[:] = 0.0
        for line in range(n_lines):
            cut = 1.0
            for k in range(n_materials):
                if use[line, k] > 0:
                    cut = min(cut, ratio[k])
            share[line] *= cut
            for k in range(n_materials):
                use[line, k] *= cut
                total_use[k] += use[line, k]
    cost = 0.0
    for k in range(n_materials):
        material[k] = max(material[k] - total_use[k], 0.0)  # only float dust can go below zero
        cost += total_use[k] * material_price[k]
    unit_material = np.zeros(n_skus)
    for s in range(n_skus):
        for k in range(n_materials):
            unit_material[s] += bom[s, k] * material_price[k]
    made[:] = 0.0
    for line in range(n_lines):
        for h in range(n_hubs):
            for s in range(n_skus):
                unit = queue[line, h, s] * share[line]
                queue[line, h, s] -= unit
                made[h, s] += unit
        worked = needed[line] * share[line]
        regular_worked[line] = min(worked, hours[line])
        overtime_worked[line] = worked - regular_worked[line]
        total = 0.0
        for s in range(n_skus):
            total += units[line, s]
            if units[line, s] > 0 and share[line] > 0:
                unit = units[line, s] * share[line]
                of_hours = units[line, s] * hours_per_unit[line, s] / needed[line]
                booked[line, s, BOOK_UNITS] += unit
                booked[line, s, BOOK_REGULAR] += regular_worked[line] * of_hours
                booked[line, s, BOOK_OVERTIME] += overtime_worked[line] * of_hours
                booked[line, s, BOOK_MATERIALS] += unit * unit_material[s]
        produced[line] = total * share[line]
    return cost, True


@njit(cache=True)
def serve(new, backlog, market_open, stock, backorder, lane_cost, filled, shipped, lost):
    """One hub serves one day's demand at its markets: stock serves backorders first, then
    new orders; a short SKU is shared in proportion to what each market wants.

    new (Mk, S) units ordered today; backlog (Mk, S) backorders, updated; market_open (Mk,)
    1.0, or 0.0 where the hub-to-market lane delivers nothing today; stock (S,) the hub's
    on hand, updated; backorder (Mk,) bool, False where unmet demand is lost; lane_cost
    (Mk,) transport cost per unit delivered today. Writes filled (units of today's orders
    served today), shipped (everything delivered) and lost (Mk, S). Returns the transport cost.
    """
    n_markets, n_skus = new.shape
    cost = 0.0
    for s in range(n_skus):
        total = 0.0
        for m in range(n_markets):
            total += (backlog[m, s] + new[m, s]) * market_open[m]
        served = 1.0
        if total > stock[s]:
            served = stock[s] / total
            stock[s] = 0.0
        else:
            stock[s] -= total
        for m in range(n_markets):
            ship = (backlog[m, s] + new[m, s]) * market_open[m] * served
            to_old = min(backlog[m, s], ship)
            to_new = ship - to_old
            unmet = new[m, s] - to_new
            backlog[m, s] -= to_old
            if backorder[m]:
                backlog[m, s] += unmet
            else:
                lost[m, s] = unmet
            filled[m, s] = to_new
            shipped[m, s] = ship
            cost += ship * lane_cost[m]
    return cost


@njit(cache=True)
def review(onhand, on_order, backlog, queue, policy, reorder_point, order_up_to, order_qty, source_line, planned,
           order):
    """One hub's replenishment review: the order each SKU's policy asks for.

    onhand, on_order (S,) the hub's stock and what it has on order (updated); backlog
    (Mk, S) its markets' backorders; queue (L, S) line work queued for this hub (updated);
    policy (S,) ``POLICY_CODES``; reorder_point, order_up_to, order_qty (S,) s, S and Q;
    source_line (S,) the line that makes each SKU for this hub, -1 where a partner or
    another hub supplies it; planned (S,) the inventory position the plan expects today,
    or None (no plan yet). Writes order (S,); line-made SKUs are queued on their line and
    counted on order here, the rest are left to the caller. Returns whether any of the
    rest was ordered.

    Under a plan, the policy runs on the position's difference from the plan's, as if the
    plan's position were its top level (S, or r + Q); a hub ahead of plan takes queued line
    work for itself off the schedule, pro rata across lines.
    """
    n_lines, n_skus = queue.shape
    elsewhere = False
    for s in range(n_skus):
        position = onhand[s] + on_order[s]
        for m in range(backlog.shape[0]):
            position -= backlog[m, s]
        if planned is not None:
            ahead = position - planned[s]
            if ahead > EPS:
                queued = 0.0
                for line in range(n_lines):
                    queued += queue[line, s]
                if queued > EPS:
                    cut = min(ahead, queued) / queued
                    for line in range(n_lines):
                        queue[line, s] *= 1.0 - cut
                    on_order[s] -= cut * queued
            top = reorder_point[s] + order_qty[s] if policy[s] == R_Q else order_up_to[s]
            position = top + min(ahead, 0.0)
        # base stock: up to S every review; (s,S): up to S at or below s;
        # (r,Q): the fewest multiples of Q that lift the position above r.
        # EPS: a position that is s (or r) up to float dust counts as at it
        if policy[s] != BASE_STOCK and position > reorder_point[s] + EPS:
            qty = 0.0
        elif policy[s] == R_Q:
            qty = order_qty[s] * math.ceil((reorder_point[s] - position + EPS) / order_qty[s])
        else:
            qty = order_up_to[s] - position
        qty = math.ceil(max(qty, 0.0) - EPS)
        order[s] = qty
        if qty > 0:
            if source_line[s] >= 0:
                queue[source_line[s], s] += qty
                on_order[s] += qty
            else:
                elsewhere = True
    return elsewhere
