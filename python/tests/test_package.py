"""The package's surface: what `import fleetfit` offers."""

from __future__ import annotations

import importlib.metadata
import importlib.resources

import fleetfit


def test_version_matches_the_installed_distribution() -> None:
    assert fleetfit.__version__ == importlib.metadata.version("fleetfit")


def test_public_names() -> None:
    assert set(fleetfit.__all__) == {
        "Catalog",
        "ConsolidationPlan",
        "Explanation",
        "FleetfitError",
        "InfeasibleError",
        "InputError",
        "Inventory",
        "Plan",
        "Sweep",
        "Timeline",
        "__version__",
        "consolidate",
        "explain",
        "generate_trace",
        "load",
        "parse_manifests",
        "plan",
        "simulate",
        "sweep",
    }
    for name in fleetfit.__all__:
        assert hasattr(fleetfit, name)


def test_the_package_ships_type_information() -> None:
    package = importlib.resources.files("fleetfit")
    assert package.joinpath("py.typed").is_file()
    assert package.joinpath("_native.pyi").is_file()
