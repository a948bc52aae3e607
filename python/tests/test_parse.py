"""Reading Kubernetes manifests into fleetfit's inventory."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

import fleetfit

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx
          resources:
            requests:
              cpu: 250m
              memory: 512Mi
"""


def test_a_deployment_becomes_one_pending_pod_per_replica() -> None:
    inventory = fleetfit.parse_manifests(DEPLOYMENT, "web.yaml")

    pods = inventory["pods"]
    assert len(pods) == 3
    for pod in pods:
        assert pod["namespace"] == "shop"
        assert pod["owner"] == {"kind": "Deployment", "namespace": "shop", "name": "web"}
        # Requests as Kubernetes writes them, plus the pod slot every pod takes.
        assert pod["requests"] == {"cpu": "250m", "memory": "512Mi", "pods": "1"}
        assert pod["phase"] == "Pending"
        assert "node_name" not in pod
    assert [w["replicas"] for w in inventory["workloads"]] == [3]


def test_parsing_from_many_threads_gives_the_same_answer() -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(fleetfit.parse_manifests, [DEPLOYMENT] * 8))
    assert all(result == results[0] for result in results)


def test_a_bad_quantity_names_the_object_and_the_field() -> None:
    bad = DEPLOYMENT.replace("cpu: 250m", "cpu: 1.5x")

    with pytest.raises(fleetfit.InputError) as caught:
        fleetfit.parse_manifests(bad, "web.yaml")

    message = str(caught.value)
    assert "Deployment shop/web" in message
    assert "spec.template.spec.containers[0].resources.requests.cpu" in message
    assert "1.5x" in message


def test_input_error_is_a_value_error() -> None:
    assert issubclass(fleetfit.InputError, ValueError)
