"""Single points of failure of a network: the supplier, port, plant, line or hub whose loss
alone cuts a material, a SKU or a market off, with the revenue that depends on it.

For each material, the supply graph runs from a common source through every supplier of
it, the port its lane passes (if any), to the plants that use it; for each SKU, from the
source through the plants and lines that make it and the partners that can, and the ports
their lanes to the hubs pass, to a common sink. A node every source-to-sink path passes
is a single point of failure: these are exactly the dominators of the sink (Lengauer &
Tarjan), read off
:func:`networkx.immediate_dominators`. Every market is served by one hub by the model's
design, so a hub is one for the markets it serves.
"""

from __future__ import annotations

import networkx as nx
import pandas as pd

from twin.network import Network

SOURCE, SINK = ("source",), ("sink",)  # tuples: never equal to a site ID
WEAK_POINT_COLUMNS = ["kind", "entity", "name", "cuts_off", "skus", "revenue_share", "text"]


def revenue_by_cell(net: Network, weeks: int = 52) -> pd.Series:
    """Share of revenue per (market, sku) over the history's last ``weeks`` weeks
    (demand x list price), summing to 1."""
    h = net.demand_history.reset_index()
    recent = h[h["week"] >= h["week"].max() - pd.Timedelta(weeks=weeks - 1)]
    revenue = recent.groupby(["market", "sku"])["qty"].sum() * recent.groupby(["market", "sku"])["sku"].first() \
        .map(net.products["price_per_unit"])
    return revenue / revenue.sum() if revenue.sum() > 0 else revenue


def _cut_nodes(g: nx.DiGraph) -> list:
    """Nodes that every path from SOURCE to SINK passes (none if SINK is unreachable)."""
    if SINK not in g or not nx.has_path(g, SOURCE, SINK):
        return []
    idom = nx.immediate_dominators(g, SOURCE)
    out, node = [], idom[SINK]
    while node != SOURCE:
        out.append(node)
        node = idom[node]
    return out


def _material_graph(net: Network, material: str) -> nx.DiGraph:
    users = set(net.routings.reset_index().merge(net.bom.reset_index(), on="sku")
                .query("material == @material")["line"].map(net.lines["plant"]))
    sellers = set(net.supplier_materials.reset_index().query("material == @material")["supplier"])
    g = nx.DiGraph()
    for lane in net.lanes.itertuples():  # the lane ID is the index
        if lane.origin in sellers and lane.destination in users:
            g.add_edge(SOURCE, ("supplier", lane.origin))
            if isinstance(lane.via, str) and lane.via:
                g.add_edge(("supplier", lane.origin), ("port", lane.via))
                g.add_edge(("port", lane.via), ("plant", lane.destination))
            else:
                g.add_edge(("supplier", lane.origin), ("plant", lane.destination))
            g.add_edge(("plant", lane.destination), SINK)
    return g


def _sku_graph(net: Network, sku: str) -> nx.DiGraph:
    g = nx.DiGraph()

    def out_of(site: str, node: tuple[str, str]) -> None:
        """From a maker to the sink along its lanes to hubs, through their ports."""
        lanes = net.lanes[(net.lanes["origin"] == site) & net.lanes["destination"].isin(net.hubs.index)]
        for via in lanes["via"] if len(lanes) else [None]:
            if isinstance(via, str) and via:
                g.add_edges_from([(node, ("port", via)), (("port", via), SINK)])
            else:
                g.add_edge(node, SINK)

    routings = net.routings.reset_index()
    for line in routings.loc[routings["sku"] == sku, "line"]:
        plant = net.lines.loc[line, "plant"]
        g.add_edges_from([(SOURCE, ("plant", plant)), (("plant", plant), ("line", line))])
        out_of(plant, ("line", line))
    partners = net.partner_skus.reset_index()
    for partner in partners.loc[partners["sku"] == sku, "partner"]:
        g.add_edge(SOURCE, ("partner", partner))
        out_of(partner, ("partner", partner))
    return g


def single_points_of_failure(net: Network) -> pd.DataFrame:
    """One row per weak point, the most revenue at stake first: ``kind`` (supplier, port,
    plant, line, hub), ``entity``, ``name``, what it ``cuts_off``, the number of ``skus``
    exposed, their ``revenue_share`` (of the last year's revenue, in the markets exposed)
    and a sentence."""
    share = revenue_by_cell(net)
    bom = net.bom.reset_index()
    all_markets = set(net.markets.index)
    # (kind, id) -> (what it cuts off, SKUs exposed, markets exposed)
    exposed: dict[tuple[str, str], tuple[set[str], set[str], set[str]]] = {}

    def note(node: tuple[str, str], what: str, skus: set[str], markets: set[str]) -> None:
        cut, hit_skus, hit_markets = exposed.setdefault(node, (set(), set(), set()))
        cut.add(what)
        hit_skus.update(skus)
        hit_markets.update(markets)

    for material in sorted(set(bom["material"])):
        for node in _cut_nodes(_material_graph(net, material)):
            note(node, material, set(bom.loc[bom["material"] == material, "sku"]), all_markets)
    for sku in net.products.index:
        for node in _cut_nodes(_sku_graph(net, sku)):
            note(node, sku, {sku}, all_markets)
    for hub, markets in net.markets.groupby("hub").groups.items():
        for market in markets:
            note(("hub", hub), market, set(net.products.index), {market})

    names = {"supplier": net.suppliers, "port": net.ports, "plant": net.plants, "line": net.lines,
             "hub": net.hubs}
    roles = {"supplier": "the only source of", "port": "the only way through for", "plant": "the only plant making",
             "line": "the only line (and no partner) making", "hub": "the only hub serving"}
    cells = share.index
    rows = []
    for (kind, entity), (cut, skus, markets) in exposed.items():
        name = str(names[kind]["name"].get(entity, entity)) if "name" in names[kind] else entity
        at_stake = float(share[cells.get_level_values("market").isin(markets)
                               & cells.get_level_values("sku").isin(skus)].sum())
        what = ", ".join(sorted(cut))
        scope = f"{len(markets)} market(s)" if kind == "hub" else f"{len(skus)} SKU(s)"
        rows.append({"kind": kind, "entity": entity, "name": name, "cuts_off": what, "skus": len(skus),
                     "revenue_share": at_stake,
                     "text": f"{kind.capitalize()} {entity} ({name}) is {roles[kind]} {what}: {scope}, "
                             f"{at_stake:.0%} of revenue"})
    out = pd.DataFrame(rows, columns=WEAK_POINT_COLUMNS)
    return out.sort_values(["revenue_share", "kind", "entity"], ascending=[False, True, True],
                           kind="stable").reset_index(drop=True)
