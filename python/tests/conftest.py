"""Shared inputs: the bundled examples, parsed once per test session."""

from __future__ import annotations

import pathlib

import pytest

import fleetfit

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"

#: A Deployment of four pods, as YAML text and as the dict ``json.load`` would give.
WEB = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 4
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: nginx, resources: {requests: {cpu: 500m, memory: 1Gi}}}]
"""
WEB_DICT: dict[str, object] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "shop"},
    "spec": {
        "replicas": 4,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {
                "containers": [
                    {"name": "web", "image": "nginx", "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}}}
                ]
            },
        },
    },
}


@pytest.fixture(scope="session")
def catalog() -> fleetfit.Catalog:
    return fleetfit.Catalog.aws("us-east-1")


@pytest.fixture(scope="session")
def shop() -> fleetfit.Inventory:
    return fleetfit.load(EXAMPLES / "webshop", nodepools=EXAMPLES / "nodepools.yaml")


@pytest.fixture(scope="session")
def cluster() -> fleetfit.Inventory:
    return fleetfit.load(EXAMPLES / "cluster" / "snapshot.json", nodepools=EXAMPLES / "nodepools.yaml")
