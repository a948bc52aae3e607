"""What a pandas user guesses works: manifests straight into every call, ``region=``,
``to_pandas()`` on every result with plain column names, and clear errors for everything else,
including what-if scenarios too large to plan."""

from __future__ import annotations

import pathlib
import re
import shutil
from typing import Any, Callable

import numpy as np
import pandas as pd
import pytest

import fleetfit

from conftest import EXAMPLES, WEB, WEB_DICT

NOW = "2026-12-05T20:00:00Z"
NODEPOOLS = EXAMPLES / "nodepools.yaml"
SHORT_DAY = {"start": "2026-12-01T00:00:00Z", "duration": "10m", "step": "1m", "events": []}


# --- manifests straight in -------------------------------------------------------------------


def test_plan_takes_a_directory_and_its_nodepools(shop: fleetfit.Inventory) -> None:
    direct = fleetfit.plan(EXAMPLES / "webshop", nodepools=NODEPOOLS)
    assert direct == fleetfit.plan(shop)
    assert fleetfit.plan(str(EXAMPLES / "webshop"), nodepools=str(NODEPOOLS)) == direct


def test_plan_takes_one_directory_holding_everything(shop: fleetfit.Inventory, tmp_path: pathlib.Path) -> None:
    shutil.copytree(EXAMPLES / "webshop", tmp_path / "shop")
    shutil.copy(NODEPOOLS, tmp_path / "shop" / "nodepools.yaml")
    assert fleetfit.plan(tmp_path / "shop").cost_per_hour == fleetfit.plan(shop).cost_per_hour


def test_plan_takes_text_dicts_and_lists() -> None:
    by_text = fleetfit.plan(WEB)
    assert len(by_text.placements) == 4
    assert fleetfit.plan(WEB.encode()) == by_text
    assert fleetfit.plan([WEB]) == by_text
    assert fleetfit.plan(WEB_DICT) == by_text


@pytest.mark.parametrize(
    "call",
    [
        lambda inv, **kw: fleetfit.explain(inv, **kw),
        lambda inv, **kw: fleetfit.sweep(inv, replicas=[1.0, 2.0], **kw).to_pandas(),
        lambda inv, **kw: fleetfit.generate_trace(inv, "spike", **kw),
        lambda inv, **kw: fleetfit.simulate(inv, trace=SHORT_DAY, consolidation=None, **kw).totals,
    ],
    ids=["explain", "sweep", "generate_trace", "simulate"],
)
def test_every_call_on_an_inventory_takes_what_load_takes(
    shop: fleetfit.Inventory, call: Callable[..., Any]
) -> None:
    loaded = call(shop)
    direct = call(EXAMPLES / "webshop", nodepools=NODEPOOLS)
    if isinstance(loaded, pd.DataFrame):
        pd.testing.assert_frame_equal(direct, loaded)
    else:
        assert direct == loaded


def test_consolidate_takes_a_snapshot_file(cluster: fleetfit.Inventory) -> None:
    direct = fleetfit.consolidate(EXAMPLES / "cluster" / "snapshot.json", nodepools=NODEPOOLS, now=NOW)
    assert direct == fleetfit.consolidate(cluster, now=NOW)


def test_nodepools_go_with_manifests_not_with_an_inventory(shop: fleetfit.Inventory) -> None:
    with pytest.raises(TypeError, match=r"plan\(\): nodepools= goes with manifests, not with an Inventory"):
        fleetfit.plan(shop, nodepools=NODEPOOLS)


@pytest.mark.parametrize(
    ("source", "words"),
    [
        (42, "cannot read manifests from int 42; give a fleetfit.Inventory, or a path"),
        ([WEB, 7], "cannot read manifests from int 7 (item [1]); give"),
        (None, "cannot read manifests from NoneType None; give"),
        (fleetfit.Catalog, "cannot read manifests from type"),
    ],
)
def test_anything_else_is_a_type_error_saying_what_to_give(source: object, words: str) -> None:
    with pytest.raises(TypeError) as caught:
        fleetfit.plan(source)
    assert str(caught.value).startswith("plan(): ") and words in str(caught.value)


def test_load_says_what_it_takes_without_offering_an_inventory() -> None:
    with pytest.raises(TypeError) as caught:
        fleetfit.load(42)
    assert str(caught.value).startswith("load(): cannot read manifests from int 42; give a path")


def test_a_missing_path_is_an_input_error() -> None:
    with pytest.raises(fleetfit.InputError, match="no/such/dir: no such file or directory"):
        fleetfit.plan("no/such/dir")


# --- region= ---------------------------------------------------------------------------------


def test_region_picks_the_embedded_catalog_of_that_region(shop: fleetfit.Inventory) -> None:
    ireland = fleetfit.Catalog.aws("eu-west-1")
    p = fleetfit.plan(shop, region="eu-west-1")
    assert p.region == "eu-west-1" and p == fleetfit.plan(shop, ireland)
    assert fleetfit.explain(shop, region="eu-west-1").region == "eu-west-1"
    assert fleetfit.consolidate(EXAMPLES / "cluster" / "snapshot.json", region="eu-west-1", now=NOW).region == "eu-west-1"
    np.testing.assert_array_equal(
        fleetfit.sweep(shop, region="eu-west-1").cost_per_hour, fleetfit.sweep(shop, ireland).cost_per_hour
    )
    day = fleetfit.simulate(shop, region="eu-west-1", trace=SHORT_DAY, consolidation=None)
    assert day.totals == fleetfit.simulate(shop, ireland, trace=SHORT_DAY, consolidation=None).totals


def test_catalog_and_region_together_say_which_to_use(shop: fleetfit.Inventory) -> None:
    with pytest.raises(TypeError, match=r"explain\(\): pass catalog= or region=, not both"):
        fleetfit.explain(shop, fleetfit.Catalog.aws(), region="eu-west-1")


def test_an_unknown_region_is_an_input_error(shop: fleetfit.Inventory) -> None:
    with pytest.raises(fleetfit.InputError, match="mars-north-1"):
        fleetfit.plan(shop, region="mars-north-1")


@pytest.mark.parametrize(("argument", "value"), [("catalog", 3), ("region", ["eu-west-1"])])
def test_a_catalog_of_the_wrong_type_is_a_type_error(shop: fleetfit.Inventory, argument: str, value: Any) -> None:
    with pytest.raises(TypeError, match=f"plan\\(\\): {argument}= takes a fleetfit.Catalog or an AWS region name"):
        fleetfit.plan(shop, **{argument: value})


# --- DataFrames ------------------------------------------------------------------------------


PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def test_every_result_has_a_main_table(shop: fleetfit.Inventory, cluster: fleetfit.Inventory) -> None:
    p = fleetfit.plan(shop)
    pd.testing.assert_frame_equal(p.to_pandas(), p.nodes.to_pandas())
    assert len(p.to_pandas()) == len(p.nodes)
    e = fleetfit.explain(shop)
    pd.testing.assert_frame_equal(e.to_pandas(), e.workloads.to_pandas())
    c = fleetfit.consolidate(cluster, now=NOW)
    pd.testing.assert_frame_equal(c.to_pandas(), c.commands.to_pandas())


def test_gpus_are_plain_columns_and_zero_where_absent(shop: fleetfit.Inventory) -> None:
    nodes = fleetfit.plan(shop).to_pandas()
    gpu = nodes["instance_type"].str.startswith("g")
    assert gpu.any() and (~gpu).any()
    assert (nodes.loc[gpu, "allocatable_nvidia_com_gpu"] >= 1).all()
    assert (nodes.loc[~gpu, "allocatable_nvidia_com_gpu"] == 0).all()
    assert (nodes.loc[gpu, "requests_nvidia_com_gpu"] >= 1).all()
    assert not nodes.isna().any().any()


def test_every_dataframe_has_plain_column_names(shop: fleetfit.Inventory, cluster: fleetfit.Inventory) -> None:
    p = fleetfit.plan(shop)
    e = fleetfit.explain(shop)
    c = fleetfit.consolidate(cluster, now=NOW)
    frames = [
        p.to_pandas(),
        p.placements.to_pandas(),
        p.unschedulable.to_pandas(),
        e.to_pandas(),
        e.nodepools.to_pandas(),
        e.rejections.to_pandas(),
        e.offerings.to_pandas(),
        c.to_pandas(),
        c.disrupted.to_pandas(),
        c.moves.to_pandas(),
        c.kept.to_pandas(),
        fleetfit.simulate(shop, trace=SHORT_DAY).to_pandas(),
        fleetfit.sweep(shop, replicas=[1.0, 2.0]).to_pandas(),
        fleetfit.Catalog.aws().offerings(),
    ]
    names = {name for f in frames for name in f.columns}
    assert all(PLAIN.match(name) for name in names), sorted(n for n in names if not PLAIN.match(n))
    assert "requests_nvidia_com_gpu" in names and "daemon_overhead_memory_gib" in names


def test_the_catalogs_offerings_carry_every_capacity() -> None:
    offerings = fleetfit.Catalog.aws().offerings()
    by_type = offerings.drop_duplicates("instance_type").set_index("instance_type")
    assert by_type.loc["g6.2xlarge", "capacity_nvidia_com_gpu"] == 1
    assert by_type.loc["m5.large", "capacity_nvidia_com_gpu"] == 0
    # 8 GiB less what the hypervisor keeps (Karpenter's VM memory overhead).
    assert by_type.loc["m5.large", "capacity_cpu"] == 2 and 7 < by_type.loc["m5.large", "capacity_memory_gib"] < 8
    assert not offerings[["capacity_cpu", "capacity_memory_gib", "capacity_nvidia_com_gpu"]].isna().any().any()


# --- explain(top=) ---------------------------------------------------------------------------


def test_explain_top_zero_lists_no_cheapest_but_every_rejection(shop: fleetfit.Inventory) -> None:
    none = fleetfit.explain(shop, top=0)
    assert all(w.cheapest == [] for w in none.workloads)
    assert none.rejections == fleetfit.explain(shop).rejections


def test_explain_top_must_be_a_count(shop: fleetfit.Inventory) -> None:
    with pytest.raises(fleetfit.InputError, match="top: must be ≥ 0, not -1"):
        fleetfit.explain(shop, top=-1)
    with pytest.raises(TypeError, match="top"):
        fleetfit.explain(shop, top=2.5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda s: fleetfit.sweep(s, threads=-1), "threads: must be ≥ 0, not -1"),
        (lambda s: fleetfit.generate_trace(s, "spike", days=-1), "days: must be ≥ 0, not -1"),
    ],
)
def test_negative_counts_are_input_errors(shop: fleetfit.Inventory, call: Callable[..., Any], words: str) -> None:
    with pytest.raises(fleetfit.InputError, match=words):
        call(shop)


# --- bounded what-ifs ------------------------------------------------------------------------


TOO_MANY = (
    r"scenarios\[0\]: replicas: 1,000,000 × \d+ pending pods would make [\d,]+ pods of "
    r"\w+ shop/[\w-]+; at most 100,000 per workload"
)


def test_a_sweep_refuses_scenarios_larger_than_manifests_may_be(shop: fleetfit.Inventory) -> None:
    with pytest.raises(fleetfit.InputError, match=TOO_MANY):
        fleetfit.sweep(shop, replicas=[1e6])


def test_a_sweep_names_its_bad_scenario(shop: fleetfit.Inventory) -> None:
    with pytest.raises(fleetfit.InputError, match=r"^scenarios\[2\]: replicas: 1,000,000 × "):
        fleetfit.sweep(shop, replicas=[1.0, 2.0, 1e6])


def test_a_whatif_refuses_too_many_pods_before_making_them() -> None:
    with pytest.raises(fleetfit.InputError) as caught:
        fleetfit.load(WEB).whatif(replicas=1e300)
    assert str(caught.value) == (
        "scenario: replicas: 1e300 × 4 pending pods would make 4e300 pods of Deployment shop/web; "
        "at most 100,000 per workload"
    )
    assert len(fleetfit.load(WEB).whatif(replicas=25_000).to_dict()["pods"]) == 100_000


@pytest.mark.parametrize(
    ("scenario", "words"),
    [
        ({"replicas": [np.nan]}, r"scenarios\[0\]: replicas: must be a number ≥ 0, not NaN"),
        ({"replicas": [np.inf]}, r"scenarios\[0\]: replicas: must be a number ≥ 0, not inf"),
        ({"replicas": [1.0, -1.0]}, r"scenarios\[1\]: replicas: must be a number ≥ 0, not -1"),
        ({"requests": [np.nan]}, r"scenarios\[0\]: requests: must be a number > 0, not NaN"),
        ({"requests": [-np.inf]}, r"scenarios\[0\]: requests: must be a number > 0, not -inf"),
        ({"spot_share": [np.inf]}, r"scenarios\[0\]: spot_share: must be between 0 and 1, not inf"),
        ({"spot_share": [-0.5]}, r"scenarios\[0\]: spot_share: must be between 0 and 1, not -0.5"),
    ],
)
def test_factors_that_are_not_numbers_in_range_are_input_errors(
    shop: fleetfit.Inventory, scenario: dict[str, Any], words: str
) -> None:
    with pytest.raises(fleetfit.InputError, match=words):
        fleetfit.sweep(shop, **scenario)
