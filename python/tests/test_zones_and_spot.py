"""Zones and spot capacity pools: new nodes launch in the cluster's zones (``zones=``, else the
ones the input implies, said so in the notes), and ``spot_diversity=`` spreads a plan's spot
nodes over capacity pools at a price the plan reports."""

from __future__ import annotations

from typing import Any, Callable

import pytest

import fleetfit

from conftest import EXAMPLES

NOW = "2026-12-05T20:00:00Z"
TWO_ZONES = ["us-east-1a", "us-east-1b"]
UNKNOWN_ZONE = (
    r'^zones: "us-east-1z" is not a zone of us-east-1; '
    r"us-east-1's zones: us-east-1a, us-east-1b, us-east-1c, us-east-1d, us-east-1e, us-east-1f$"
)


# --- zones -----------------------------------------------------------------------------------


def test_new_nodes_launch_only_in_the_zones_given(shop: fleetfit.Inventory) -> None:
    p = fleetfit.plan(shop, zones=TWO_ZONES)
    assert p.nodes and {n.zone for n in p.nodes} <= set(TWO_ZONES)
    assert "zones: us-east-1a, us-east-1b (given)" in p.notes
    cheapest = fleetfit.explain(shop, zones=["us-east-1c"]).offerings
    assert cheapest and {z for _, c in cheapest for z in c.zones} == {"us-east-1c"}


def test_without_zones_the_notes_say_which_were_assumed(shop: fleetfit.Inventory) -> None:
    p = fleetfit.plan(shop)
    assert any(n.startswith("zones assumed: all 6 of us-east-1") for n in p.notes), p.notes


def test_a_snapshot_s_nodes_give_the_zones(cluster: fleetfit.Inventory) -> None:
    c = fleetfit.consolidate(cluster, now=NOW)
    assert any(n.startswith("zones: us-east-1a, us-east-1b, us-east-1c (from the zones of the cluster's") for n in c.notes)
    replacements = [r for cmd in c.commands for r in cmd.replacements]
    assert all(r.zone in {"us-east-1a", "us-east-1b", "us-east-1c"} for r in replacements)


def test_a_sweep_launches_in_the_zones_given(shop: fleetfit.Inventory) -> None:
    one_zone = fleetfit.sweep(shop, zones=["us-east-1a"]).cost_per_hour[0]
    assert one_zone == fleetfit.plan(shop, zones=["us-east-1a"]).cost_per_hour


@pytest.mark.parametrize(
    "call",
    [
        lambda s, c, z: fleetfit.plan(s, zones=z),
        lambda s, c, z: fleetfit.explain(s, zones=z),
        lambda s, c, z: fleetfit.consolidate(c, now=NOW, zones=z),
        lambda s, c, z: fleetfit.simulate(s, generate="spike", zones=z),
        lambda s, c, z: fleetfit.sweep(s, zones=z),
    ],
    ids=["plan", "explain", "consolidate", "simulate", "sweep"],
)
def test_an_unknown_zone_is_an_input_error_listing_the_region_s(
    shop: fleetfit.Inventory, cluster: fleetfit.Inventory, call: Callable[..., Any]
) -> None:
    with pytest.raises(fleetfit.InputError, match=UNKNOWN_ZONE):
        call(shop, cluster, ["us-east-1a", "us-east-1z"])


def test_no_zones_at_all_is_an_input_error(shop: fleetfit.Inventory) -> None:
    with pytest.raises(fleetfit.InputError, match=r"^zones: give at least one zone .* or None"):
        fleetfit.plan(shop, zones=[])


@pytest.mark.parametrize(("zones", "given"), [("us-east-1a", "str 'us-east-1a'"), ([1], "list [1]"), (3, "int 3")])
def test_zones_of_the_wrong_type_are_a_type_error_saying_what_to_pass(
    shop: fleetfit.Inventory, zones: Any, given: str
) -> None:
    words = f"plan(): zones= takes a list of zone names such as ['us-east-1a', 'us-east-1b'], not {given}"
    with pytest.raises(TypeError) as caught:
        fleetfit.plan(shop, zones=zones)
    assert str(caught.value) == words


# --- spot capacity pools ---------------------------------------------------------------------


def test_a_plan_lists_its_spot_nodes_per_capacity_pool(shop: fleetfit.Inventory) -> None:
    p = fleetfit.plan(shop, zones=TWO_ZONES)
    spot = [n for n in p.nodes if n.capacity_type == "spot"]
    assert sum(pool.nodes for pool in p.spot_pools) == len(spot) > 0
    assert sum(pool.share for pool in p.spot_pools) == pytest.approx(1.0)
    busiest = p.spot_pools[0]
    assert busiest.share > 0.5 and p.spot_diversity is None
    assert any(n.startswith("spot concentration:") for n in p.notes), p.notes
    frame = p.spot_pools.to_pandas()
    assert list(frame.columns) == ["instance_type", "zone", "nodes", "share"] and len(frame) == len(p.spot_pools)


def test_spot_diversity_spreads_the_spot_nodes_and_says_what_it_cost(shop: fleetfit.Inventory) -> None:
    cheapest = fleetfit.plan(shop, zones=TWO_ZONES)
    spread = fleetfit.plan(shop, zones=TWO_ZONES, spot_diversity=0.34)
    d = spread.spot_diversity
    assert d is not None and d.max_pool_share == 0.34 and d.satisfied and d.nodes_moved > 0
    assert max(pool.share for pool in spread.spot_pools) <= 0.34
    assert d.cost_per_hour_without == pytest.approx(cheapest.cost_per_hour)
    assert d.extra_cost_per_hour == pytest.approx(spread.cost_per_hour - cheapest.cost_per_hour)
    assert d.extra_cost_per_hour > 0 and not spread.warnings


@pytest.mark.parametrize("share", [0.0, -0.5, 1.5, float("nan")])
def test_a_spot_diversity_outside_0_to_1_is_an_input_error(shop: fleetfit.Inventory, share: float) -> None:
    with pytest.raises(fleetfit.InputError, match=r"^spot_diversity is .*: must be above 0 and at most 1"):
        fleetfit.plan(shop, spot_diversity=share)
