"""The whole API over the bundled examples: loading, every mode, results and their DataFrames."""

from __future__ import annotations

import datetime as dt
import pathlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest

import fleetfit
from fleetfit.results import ConsolidationPlan, Explanation, Plan, Timeline

from conftest import EXAMPLES, WEB, WEB_DICT

NOW = "2026-12-05T20:00:00Z"


# --- loading ---------------------------------------------------------------------------------


def test_every_source_form_gives_the_same_inventory(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "web.yaml"
    path.write_text(WEB)
    forms = [path, str(path), tmp_path, WEB, WEB.encode(), WEB_DICT, [WEB_DICT], {"kind": "List", "items": [WEB_DICT]}]
    inventories = [fleetfit.load(f).to_dict() for f in forms]
    pods = [[(p["name"], p["requests"]) for p in i["pods"]] for i in inventories]
    assert all(p == pods[0] for p in pods) and len(pods[0]) == 4


def test_objects_with_to_dict_are_read_as_the_api_gives_them() -> None:
    class Resource:  # the kubernetes dynamic client's ResourceInstance has this shape
        def to_dict(self) -> dict[str, object]:
            return WEB_DICT

    assert fleetfit.load(Resource()).pending_pods == 4


def test_the_bundled_shop_has_every_workload_kind(shop: fleetfit.Inventory) -> None:
    d = shop.to_dict()
    kinds = {w["reference"]["kind"] for w in d["workloads"]}
    assert {"Deployment", "StatefulSet", "Job", "CronJob"} <= kinds
    assert len(d["daemonsets"]) == 4 and len(d["nodepools"]) == 3 and len(d["pdbs"]) == 4
    assert shop.pending_pods == len(d["pods"]) > 0


def test_a_snapshot_has_nodes_and_bound_pods(cluster: fleetfit.Inventory) -> None:
    d = cluster.to_dict()
    assert len(d["nodes"]) == 16
    assert cluster.pending_pods < len(d["pods"])


# --- plan ------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["karpenter", "optimize", "exact"])
def test_plan_in_every_mode(shop: fleetfit.Inventory, catalog: fleetfit.Catalog, mode: str) -> None:
    p = fleetfit.plan(shop, catalog, mode=mode, time_limit=5)
    assert isinstance(p, Plan) and p.mode == mode
    assert p.cost_per_hour == pytest.approx(sum(n.price_per_hour for n in p.nodes))
    assert p.lower_bound_per_hour <= p.cost_per_hour + 1e-9
    placed = {pl.pod for pl in p.placements} | {u.pod for u in p.unschedulable}
    assert len(placed) == shop.pending_pods
    if mode != "karpenter":
        assert p.karpenter_cost_per_hour is not None and p.cost_per_hour <= p.karpenter_cost_per_hour + 1e-9


def test_plan_matches_the_cli_json(shop: fleetfit.Inventory) -> None:
    p = fleetfit.plan(shop)
    assert p.to_dict()["cost_per_hour"] == p.cost_per_hour
    assert [n["name"] for n in p.to_dict()["nodes"]] == [n.name for n in p.nodes]


def test_plan_dataframes_have_numeric_columns(shop: fleetfit.Inventory) -> None:
    p = fleetfit.plan(shop)
    nodes = p.nodes.to_pandas()
    assert len(nodes) == len(p.nodes)
    for column in ["price_per_hour", "requests_cpu", "allocatable_memory_gib", "cpu_utilisation"]:
        assert pd.api.types.is_float_dtype(nodes[column]), column
    assert pd.api.types.is_integer_dtype(nodes["pods"])
    assert nodes["price_per_hour"].sum() == pytest.approx(p.cost_per_hour)
    assert (nodes["requests_cpu"] <= nodes["allocatable_cpu"] + 1e-9).all()
    placements = p.placements.to_pandas()
    assert list(placements.columns) == ["pod", "node"] and len(placements) == len(p.placements)
    assert list(p.unschedulable.to_pandas().columns) == ["pod", "reasons"]


def test_plan_reports_each_existing_nodes_use(cluster: fleetfit.Inventory) -> None:
    pending = fleetfit.load(EXAMPLES / "cluster" / "pending-pods.json")
    both = fleetfit.load(
        EXAMPLES / "cluster" / "snapshot.json", EXAMPLES / "cluster" / "pending-pods.json",
        nodepools=EXAMPLES / "nodepools.yaml",
    )
    assert pending.pending_pods > 0
    p = fleetfit.plan(both)
    nodes = p.existing_nodes.to_pandas()
    assert len(nodes) == len(cluster.to_dict()["nodes"]) == 16
    assert pd.api.types.is_float_dtype(nodes["cpu_utilisation"]) and pd.api.types.is_integer_dtype(nodes["pods"])
    assert nodes["placed"].sum() == len(p.existing)
    assert (nodes["requests_cpu"] <= nodes["allocatable_cpu"] + 1e-9).all()
    assert (nodes["cpu_utilisation"] > 0).all(), "every node of the snapshot runs pods"


def test_strict_plan_raises_with_the_plan(shop: fleetfit.Inventory) -> None:
    with pytest.raises(fleetfit.InfeasibleError) as caught:
        fleetfit.plan(shop, strict=True)
    assert "legacy-billing" in str(caught.value)
    assert isinstance(caught.value.plan, Plan) and caught.value.plan.unschedulable


def test_an_empty_table_keeps_its_columns() -> None:
    p = fleetfit.plan(fleetfit.load(WEB))
    frame = p.unschedulable.to_pandas()
    assert frame.empty and list(frame.columns) == ["pod", "reasons"]


# --- explain ---------------------------------------------------------------------------------


def test_explain_says_why_not(shop: fleetfit.Inventory) -> None:
    e = fleetfit.explain(shop, top=2)
    assert isinstance(e, Explanation) and e.pending_pods == shop.pending_pods
    billing = next(w for w in e.workloads if "legacy-billing" in w.workload)
    assert not billing.schedulable and billing.rejections
    frame = e.rejections.to_pandas()
    assert {"workload", "nodepool", "kind", "message"} <= set(frame.columns)
    assert (frame["workload"].str.contains("legacy-billing")).any()
    offers = e.offerings.to_pandas()
    assert pd.api.types.is_float_dtype(offers["price_per_pod_hour"])
    assert all(len(w.cheapest) <= 2 for w in e.workloads)
    assert len(offers) == sum(len(w.cheapest) for w in e.workloads)
    assert len(e.workloads.to_pandas()) == len(e.workloads)


def test_explain_names_standalone_pods_and_what_limits_each_node() -> None:
    pods = "---\n".join(
        f"apiVersion: v1\nkind: Pod\nmetadata: {{name: job-{i}, namespace: batch}}\n"
        "spec:\n  containers: [{name: c, image: x, resources: {requests: {cpu: '1', memory: 1Gi}}}]\n"
        for i in range(5)
    )
    (w,) = fleetfit.explain(pods).workloads
    assert (w.workload, w.pods, w.pod_names) == ("Pods batch/job-0, job-1, job-2 and 2 more", 5, ["job-0", "job-1", "job-2"])
    best = w.cheapest[0]
    assert best.limited_by is not None and best.limited_by.startswith(f"cpu: {best.pods_per_node} pod")
    offerings = fleetfit.explain(pods).offerings.to_pandas()
    assert offerings["limited_by"].tolist() == [c.limited_by for c in w.cheapest]
    (web,) = fleetfit.explain(WEB).workloads
    assert web.pod_names == []


# --- consolidate -----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["karpenter", "optimize", "global"])
def test_consolidate_in_every_mode(cluster: fleetfit.Inventory, mode: str) -> None:
    c = fleetfit.consolidate(cluster, now=NOW, mode=mode)
    assert isinstance(c, ConsolidationPlan) and c.mode == mode
    managed = 15
    assert sum(len(cmd.candidates) for cmd in c.commands) + len(c.kept) == managed
    assert c.savings_per_hour == pytest.approx(c.cost_per_hour_before - c.cost_per_hour_after)
    assert c.savings_per_hour > 0
    assert all(k.reasons for k in c.kept)
    disrupted = c.disrupted.to_pandas()
    assert len(disrupted) == sum(len(cmd.candidates) for cmd in c.commands)
    assert set(disrupted["reason"]) <= {"Empty", "Underutilized", "Drifted", "Expired"}
    assert len(c.moves.to_pandas()) == sum(len(cmd.moves) for cmd in c.commands)
    assert len(c.commands.to_pandas()) == len(c.commands)


def test_consolidate_takes_a_datetime(cluster: fleetfit.Inventory) -> None:
    at = dt.datetime(2026, 12, 5, 20, tzinfo=dt.timezone.utc)
    assert fleetfit.consolidate(cluster, now=at) == fleetfit.consolidate(cluster, now=NOW)
    with pytest.raises(fleetfit.InputError, match="time zone"):
        fleetfit.consolidate(cluster, now=dt.datetime(2026, 12, 5, 20))


# --- simulate --------------------------------------------------------------------------------


def test_simulate_the_bundled_day(shop: fleetfit.Inventory) -> None:
    on = fleetfit.simulate(shop, trace=EXAMPLES / "trace" / "day.yaml", consolidation="optimize")
    off = fleetfit.simulate(shop, trace=EXAMPLES / "trace" / "day.yaml", consolidation=None)
    assert isinstance(on, Timeline) and len(on.steps) == 24 * 60
    assert on.totals.cost < off.totals.cost
    frame = on.to_pandas()
    assert isinstance(frame.index, pd.DatetimeIndex) and str(frame.index.tz) == "UTC"
    assert pd.api.types.is_float_dtype(frame["cost_per_hour"]) and pd.api.types.is_integer_dtype(frame["nodes"])
    assert (frame["spot_nodes"] + frame["on_demand_nodes"] == frame["nodes"]).all()


def test_simulate_a_generated_trace_and_a_dict(shop: fleetfit.Inventory) -> None:
    text = fleetfit.generate_trace(shop, "spike")
    a = fleetfit.simulate(shop, generate="spike", consolidation=None)
    b = fleetfit.simulate(shop, trace=text, consolidation=None)
    assert a.totals == b.totals
    trace = {"start": "2026-12-01T00:00:00Z", "duration": "10m", "step": "1m", "events": []}
    assert len(fleetfit.simulate(shop, trace=trace).steps) == 10


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda s, c: fleetfit.plan(s, mode="fastest"), "mode"),
        (lambda s, c: fleetfit.plan(s, mode="exact", time_limit=0), "time_limit is 0"),
        (lambda s, c: fleetfit.consolidate(c, now="yesterday"), "now"),
        (lambda s, c: fleetfit.consolidate(c, now=NOW, mode="exact"), "consolidation mode"),
        (lambda s, c: fleetfit.consolidate(c, now=NOW, disruption_weight=-1), "disruption weight"),
        (lambda s, c: fleetfit.simulate(s), "trace"),
        (lambda s, c: fleetfit.simulate(s, trace="start: nope\n"), "start"),
        (lambda s, c: fleetfit.simulate(s, generate="tsunami"), "shape"),
        (lambda s, c: fleetfit.simulate(s, generate="spike", consolidation_interval="0s"), "interval"),
        (lambda s, c: fleetfit.sweep(s, requests=0.0), "requests"),
        (lambda s, c: fleetfit.sweep(s, family_set=3, families=[["m5"]]), "family_set"),
        (lambda s, c: fleetfit.Catalog.aws("mars-north-1"), "mars-north-1"),
        (lambda s, c: fleetfit.Catalog.from_text("{}", "xml"), "format"),
        (lambda s, c: fleetfit.Catalog.aws().with_prices({"onDemandDiscountPercent": "lots"}), "onDemandDiscountPercent"),
        (lambda s, c: fleetfit.load("/no/such/dir"), "no such file"),
        (lambda s, c: fleetfit.load(), "at least one source"),
        (lambda s, c: fleetfit.load("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {replicas: many}\n"), "replicas"),
    ],
)
def test_errors_are_input_errors_naming_the_field(
    shop: fleetfit.Inventory, cluster: fleetfit.Inventory, call: object, words: str
) -> None:
    with pytest.raises(fleetfit.InputError) as caught:
        call(shop, cluster)  # type: ignore[operator]
    assert words in str(caught.value)
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, fleetfit.FleetfitError)


# --- catalogs --------------------------------------------------------------------------------


def test_catalogs_and_price_adjustments(shop: fleetfit.Inventory, tmp_path: pathlib.Path) -> None:
    base = fleetfit.Catalog.aws("us-east-1")
    assert "eu-west-1" in fleetfit.Catalog.regions() and base.currency == "USD"
    cheaper = base.with_prices({"onDemandDiscountPercent": 50, "spotDiscountPercent": 50})
    assert fleetfit.plan(shop, cheaper).cost_per_hour == pytest.approx(fleetfit.plan(shop, base).cost_per_hour / 2, rel=0.05)
    prices = tmp_path / "prices.yaml"
    prices.write_text("onDemandDiscountPercent: 50\nspotDiscountPercent: 50\n")
    assert fleetfit.plan(shop, base.with_prices(prices)).cost_per_hour == fleetfit.plan(shop, cheaper).cost_per_hour
    assert fleetfit.plan(shop, "eu-west-1").region == "eu-west-1"
    offerings = base.offerings()
    assert {"instance_type", "zone", "capacity_type", "price_per_hour"} <= set(offerings.columns)
    assert pd.api.types.is_float_dtype(offerings["price_per_hour"]) and len(offerings) > 1000


# --- sweeps ----------------------------------------------------------------------------------


def test_a_sweep_equals_one_plan_per_scenario(shop: fleetfit.Inventory) -> None:
    families = [["m6g", "c6g", "r6g", "m7g", "c7g", "r7g"], ["m6i", "c6i", "r6i"]]
    replicas = np.array([1.0, 2.0, 0.5, 1.0])
    spot = np.array([np.nan, 0.0, 1.0, 0.5])
    family_set = np.array([-1, 0, 1, 0])
    s = fleetfit.sweep(shop, replicas=replicas, spot_share=spot, family_set=family_set, families=families)
    assert len(s) == 4 and s.cost_per_hour.dtype == np.float64 and s.nodes.dtype == np.int64
    for k in range(4):
        one = shop.whatif(
            replicas=float(replicas[k]),
            spot_share=None if np.isnan(spot[k]) else float(spot[k]),
            families=None if family_set[k] < 0 else families[family_set[k]],
        )
        p = fleetfit.plan(one)
        assert s.cost_per_hour[k] == pytest.approx(p.cost_per_hour)
        assert s.lower_bound_per_hour[k] == pytest.approx(p.lower_bound_per_hour)
        assert s.nodes[k] == len(p.nodes) and s.unschedulable[k] == len(p.unschedulable)
    frame = s.to_pandas()
    assert len(frame) == 4 and frame["families"].iloc[1] == ",".join(families[0])


def test_sweep_broadcasts_and_is_the_same_on_threads(shop: fleetfit.Inventory) -> None:
    one = fleetfit.sweep(shop, replicas=[1.0, 1.5, 2.0], requests=1.2, threads=1)
    two = fleetfit.sweep(shop, replicas=[1.0, 1.5, 2.0], requests=1.2, threads=2)
    assert len(one) == 3 and list(one.requests) == [1.2, 1.2, 1.2]
    np.testing.assert_array_equal(one.cost_per_hour, two.cost_per_hour)
    assert np.all(np.diff(one.pods) > 0)


def test_long_calls_release_the_gil(shop: fleetfit.Inventory) -> None:
    """While one thread plans in the engine, another thread's Python code keeps running."""
    ticks = 0
    done = threading.Event()

    def count() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            time.sleep(0)

    counter = threading.Thread(target=count)
    counter.start()
    before = ticks
    try:
        # One native call: with the GIL held throughout, the counter could not move.
        fleetfit.sweep(shop, replicas=np.linspace(1, 3, 6))
        during = ticks - before
    finally:
        done.set()
        counter.join()
    assert during > 0


def test_threads_share_inputs_and_agree(shop: fleetfit.Inventory) -> None:
    with ThreadPoolExecutor(max_workers=2) as pool:
        costs = list(pool.map(lambda r: fleetfit.plan(shop.whatif(replicas=r)).cost_per_hour, [1.0, 2.0, 1.0, 2.0]))
    assert costs[0] == costs[2] and costs[1] == costs[3] and costs[1] > costs[0]
