"""Reading YAML as Karpenter users write it: a typo is an error naming the field meant
(``validate="warn"`` makes it a note), the guides' v1beta1 NodePools are converted with a note,
and autoscaled workloads are counted as the autoscaler keeps them (``hpa=``)."""

from __future__ import annotations

import pytest

import fleetfit

TYPO = """
apiVersion: karpenter.sh/v1
kind: NodePool
metadata: {name: on-demand}
spec:
  template:
    spec:
      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}
      requirments:
        - {key: karpenter.sh/capacity-type, operator: In, values: [on-demand]}
"""

V1BETA1 = """
apiVersion: karpenter.sh/v1beta1
kind: NodePool
metadata: {name: default}
spec:
  template:
    spec:
      nodeClassRef: {apiVersion: karpenter.k8s.aws/v1beta1, kind: EC2NodeClass, name: default}
      requirements:
        - {key: karpenter.sh/capacity-type, operator: In, values: [spot]}
  disruption:
    consolidationPolicy: WhenUnderutilized
"""

AUTOSCALED = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: web, resources: {requests: {cpu: 250m, memory: 256Mi}}}]
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 2
  maxReplicas: 7
"""


def test_a_typo_is_an_error_naming_the_field_meant() -> None:
    with pytest.raises(fleetfit.InputError, match=r'requirments: unknown field; did you mean "requirements"\?'):
        fleetfit.load(TYPO)


def test_validate_warn_keeps_going_with_a_note() -> None:
    inventory = fleetfit.load(TYPO, validate="warn")
    assert any("requirments: unknown field" in note for note in inventory.notes)


def test_an_unknown_validate_is_an_input_error() -> None:
    with pytest.raises(fleetfit.InputError, match="validate: unknown validation"):
        fleetfit.load(TYPO, validate="lenient")  # type: ignore[arg-type]


def test_a_guide_v1beta1_nodepool_is_converted_with_a_note() -> None:
    inventory = fleetfit.load(V1BETA1)
    (note,) = inventory.notes
    assert note.startswith("NodePool default was converted from karpenter.sh/v1beta1 to karpenter.sh/v1")
    assert "WhenUnderutilized became WhenEmptyOrUnderutilized" in note


def test_hpa_counts_min_or_max_replicas() -> None:
    assert fleetfit.load(AUTOSCALED).pending_pods == 2
    assert fleetfit.load(AUTOSCALED, hpa="max").pending_pods == 7
    with pytest.raises(fleetfit.InputError, match="hpa: "):
        fleetfit.load(AUTOSCALED, hpa="peak")  # type: ignore[arg-type]


def test_an_input_without_workloads_is_an_error_not_a_free_plan() -> None:
    service = "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n"
    with pytest.raises(fleetfit.InputError, match="no workloads found in the inventory: .* it holds only Service"):
        fleetfit.plan(service)
    with pytest.raises(fleetfit.InputError, match="no nodes found in the inventory"):
        fleetfit.consolidate(service, now="2026-12-05T20:00:00Z")
