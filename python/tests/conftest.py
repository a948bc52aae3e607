"""Shared inputs: the bundled examples, parsed once per test session."""

from __future__ import annotations

import pathlib

import pytest

import fleetfit

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="session")
def catalog() -> fleetfit.Catalog:
    return fleetfit.Catalog.aws("us-east-1")


@pytest.fixture(scope="session")
def shop() -> fleetfit.Inventory:
    return fleetfit.load(EXAMPLES / "webshop", nodepools=EXAMPLES / "nodepools.yaml")


@pytest.fixture(scope="session")
def cluster() -> fleetfit.Inventory:
    return fleetfit.load(EXAMPLES / "cluster" / "snapshot.json", nodepools=EXAMPLES / "nodepools.yaml")
