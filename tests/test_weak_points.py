"""Single points of failure: the dominators of a supply graph, on networks small enough to
check by hand."""

from __future__ import annotations

import networkx as nx
import pandas as pd
import pytest
from conftest import write_single_hub

from twin.network import load_network
from twin.weak_points import SINK, SOURCE, _cut_nodes, single_points_of_failure


def test_cut_nodes_are_the_dominators_of_the_sink():
    """source -> a -> {b, c} -> d -> sink: every path passes a and d, not b or c."""
    g = nx.DiGraph([(SOURCE, "a"), ("a", "b"), ("a", "c"), ("b", "d"), ("c", "d"), ("d", SINK)])
    assert sorted(_cut_nodes(g)) == ["a", "d"]
    g.add_edge(SOURCE, "d")  # a bypass around a
    assert _cut_nodes(g) == ["d"]
    assert _cut_nodes(nx.DiGraph([(SOURCE, "a")])) == []  # the sink unreachable: nothing to cut


def _with_material(folder, suppliers: int):
    """The single-hub network (its plant ships to the hub through port PORT) with one
    material, bought from ``suppliers`` suppliers; the first ships through the port too."""
    tables = {
        "materials": [dict(material="M", name="Metal", cost_per_unit=1)],
        "suppliers": [dict(supplier=f"S{i}", name=f"Supplier {i}", reliability=1, late_days=0)
                      for i in range(suppliers)],
        "supplier_materials": [dict(supplier=f"S{i}", material="M", capacity_units_per_week=1000)
                               for i in range(suppliers)],
        "bom": [dict(sku="A", material="M", qty_per_unit=1)],
    }
    for name, rows in tables.items():
        pd.DataFrame(rows).to_csv(folder / f"{name}.csv", index=False)
    lanes = pd.read_csv(folder / "lanes.csv")
    extra = [dict(lane=f"SL{i}", origin=f"S{i}", destination="P", mode="sea" if i == 0 else "road",
                  lead_time_days=3, lead_time_sd_days=0, lead_time_distribution="fixed", cost_per_unit=0,
                  capacity_units_per_week="", via="PORT" if i == 0 else "") for i in range(suppliers)]
    pd.concat([lanes, pd.DataFrame(extra)]).to_csv(folder / "lanes.csv", index=False)
    return load_network(folder)


@pytest.mark.parametrize("suppliers", [1, 2])
def test_single_points_of_failure_of_a_one_line_network(tmp_path, suppliers):
    folder = write_single_hub(tmp_path / "net", via_port=True)
    net = _with_material(folder, suppliers)
    weak = single_points_of_failure(net).set_index(["kind", "entity"])
    expected = {("line", "L"), ("plant", "P"), ("hub", "H"), ("port", "PORT")}
    if suppliers == 1:  # and the only supplier cuts the material off
        expected |= {("supplier", "S0")}
    assert set(weak.index) == expected
    assert weak.loc[("port", "PORT"), "cuts_off"] == ("A, M" if suppliers == 1 else "A")
    assert weak["revenue_share"].eq(1.0).all()  # one SKU, one market: everything depends on each
    assert "the only line (and no partner) making A" in weak.loc[("line", "L"), "text"]


def test_a_partner_that_can_make_the_sku_removes_the_line_as_a_weak_point(tmp_path):
    folder = write_single_hub(tmp_path / "net", partner=dict(capacity_units_per_week=100, cost_per_unit=9))
    weak = single_points_of_failure(load_network(folder))
    assert set(zip(weak["kind"], weak["entity"])) == {("hub", "H")}
