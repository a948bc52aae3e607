"""What an answer cannot vouch for, it says in ``warnings``: pods the input makes that no answer
counts, Windows nodes priced at Linux rates, nodes of NodePools the input lacks."""

from __future__ import annotations

import pandas as pd

import fleetfit

from conftest import EXAMPLES, WEB

NOW = "2026-12-05T20:00:00Z"

#: A custom resource with a pod template: its pods are real, but no answer counts them.
WEBAPP = """\
apiVersion: example.com/v1
kind: WebApp
metadata: {name: storefront, namespace: shop}
spec:
  replicas: 3
  template:
    spec:
      containers: [{name: app, image: app:1}]
"""
CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: shop}\ndata: {a: b}\n"
NOT_COUNTED = "pods not counted: WebApp shop/storefront (example.com/v1): fleetfit does not model WebApp"

WINDOWS = """\
apiVersion: karpenter.sh/v1
kind: NodePool
metadata: {name: windows}
spec:
  template:
    spec:
      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: windows}
      requirements:
        - {key: kubernetes.io/os, operator: In, values: [windows]}
        - {key: karpenter.sh/capacity-type, operator: In, values: [on-demand]}
---
apiVersion: karpenter.k8s.aws/v1
kind: EC2NodeClass
metadata: {name: windows}
spec:
  amiSelectorTerms: [{alias: windows2022@latest}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: iis, namespace: shop}
spec:
  replicas: 2
  template:
    spec:
      nodeSelector: {kubernetes.io/os: windows}
      containers: [{name: iis, resources: {requests: {cpu: "1", memory: 2Gi}}}]
"""


def test_skipped_objects_say_whether_they_make_pods() -> None:
    skipped = fleetfit.load(WEB, WEBAPP, CONFIGMAP).skipped
    assert [(s["kind"], s["pods_not_counted"]) for s in skipped] == [("WebApp", True), ("ConfigMap", False)]


def test_every_answer_warns_of_pods_not_counted(cluster: fleetfit.Inventory) -> None:
    shop = fleetfit.load(WEB, WEBAPP)
    snapshot = fleetfit.load(EXAMPLES / "cluster" / "snapshot.json", WEBAPP, nodepools=EXAMPLES / "nodepools.yaml")
    answers = {
        "plan": fleetfit.plan(shop).warnings,
        "explain": fleetfit.explain(shop).warnings,
        "consolidate": fleetfit.consolidate(snapshot, now=NOW).warnings,
        "simulate": fleetfit.simulate(shop, generate="spike").warnings,
    }
    for call, warnings in answers.items():
        assert any(w.startswith(NOT_COUNTED) for w in warnings), (call, warnings)
    assert fleetfit.plan(WEB).warnings == [] and fleetfit.consolidate(cluster, now=NOW).warnings == []


def test_windows_nodes_are_marked_linux_priced() -> None:
    p = fleetfit.plan(WINDOWS)
    assert p.nodes and all(n.linux_priced for n in p.nodes)
    assert any("priced at Linux rates" in w for w in p.warnings), p.warnings
    frame = p.to_pandas()
    assert pd.api.types.is_bool_dtype(frame["linux_priced"]) and frame["linux_priced"].all()
    assert not fleetfit.plan(WEB).to_pandas()["linux_priced"].any()


def test_a_consolidation_warns_of_nodepools_the_input_lacks() -> None:
    c = fleetfit.consolidate(EXAMPLES / "cluster" / "snapshot.json", now=NOW)
    assert c.warnings and c.warnings[0].startswith("NodePools not in the input: batch (1 nodes), general (13 nodes)")
