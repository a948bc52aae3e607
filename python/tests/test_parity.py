"""One input, one answer: the CLI's ``-o json`` and the Python package give the same JSON for
the same manifests and options, to the last note and the last digit of every price."""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any, Callable

import pytest

import fleetfit

from conftest import EXAMPLES, ROOT

NOW = "2026-12-05T20:00:00Z"
SHOP = str(EXAMPLES / "webshop")
NODEPOOLS = str(EXAMPLES / "nodepools.yaml")
SNAPSHOT = str(EXAMPLES / "cluster" / "snapshot.json")
DAY = str(EXAMPLES / "trace" / "day.yaml")

#: The CLI's answer as JSON: ``cli("plan", "-f", ...)``.
Cli = Callable[..., dict[str, Any]]


@pytest.fixture(scope="module")
def cli() -> Cli:
    binary = ROOT / "target" / "debug" / "fleetfit"
    if not binary.exists():
        cargo = shutil.which("cargo")
        if cargo is None:
            pytest.skip(f"{binary} is not built and cargo is not on PATH to build it")
        subprocess.run([cargo, "build", "--quiet", "-p", "fleetfit-core"], cwd=ROOT, check=True)

    def run(*args: str) -> dict[str, Any]:
        done = subprocess.run([str(binary), *args, "-o", "json"], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        answer: dict[str, Any] = json.loads(done.stdout)
        return answer

    return run


@pytest.mark.parametrize(
    ("flags", "options"),
    [
        ([], {}),
        (["--zones", "us-east-1a,us-east-1b"], {"zones": ["us-east-1a", "us-east-1b"]}),
        (["--spot-diversity", "0.5"], {"spot_diversity": 0.5}),
        (
            ["--zones", "us-east-1a,us-east-1b", "--spot-diversity", "0.34"],
            {"zones": ["us-east-1a", "us-east-1b"], "spot_diversity": 0.34},
        ),
        (["--mode", "karpenter"], {"mode": "karpenter"}),
    ],
    ids=["defaults", "zones", "spot-diversity", "zones-and-spot-diversity", "karpenter"],
)
def test_plan(cli: Cli, flags: list[str], options: dict[str, Any]) -> None:
    expected = cli("plan", "-f", SHOP, "--nodepools", NODEPOOLS, *flags)
    assert fleetfit.plan(SHOP, nodepools=NODEPOOLS, **options).raw == expected


@pytest.mark.parametrize(
    ("flags", "options"),
    [([], {}), (["--zones", "us-east-1c"], {"zones": ["us-east-1c"]}), (["--top", "0"], {"top": 0})],
    ids=["defaults", "zones", "top-0"],
)
def test_explain(cli: Cli, flags: list[str], options: dict[str, Any]) -> None:
    expected = cli("explain", "-f", SHOP, "--nodepools", NODEPOOLS, *flags)
    assert fleetfit.explain(SHOP, nodepools=NODEPOOLS, **options).raw == expected


@pytest.mark.parametrize(
    ("flags", "options"),
    [([], {}), (["--mode", "global"], {"mode": "global"}), (["--zones", "us-east-1a"], {"zones": ["us-east-1a"]})],
    ids=["defaults", "global", "zones"],
)
def test_consolidate(cli: Cli, flags: list[str], options: dict[str, Any]) -> None:
    expected = cli("consolidate", "--cluster", SNAPSHOT, "--nodepools", NODEPOOLS, "--now", NOW, *flags)
    assert fleetfit.consolidate(SNAPSHOT, nodepools=NODEPOOLS, now=NOW, **options).raw == expected


def test_simulate(cli: Cli) -> None:
    expected = cli("simulate", "-f", SHOP, "--nodepools", NODEPOOLS, "--trace", DAY, "--zones", "us-east-1b")
    assert fleetfit.simulate(SHOP, nodepools=NODEPOOLS, trace=DAY, zones=["us-east-1b"]).raw == expected


def test_a_sweep_prices_each_scenario_as_the_cli_plans_it(cli: Cli) -> None:
    """The CLI has no sweep: each scenario of one costs what ``fleetfit plan`` says for the
    same zones."""
    zones = ["us-east-1a", "us-east-1b"]
    swept = fleetfit.sweep(SHOP, nodepools=NODEPOOLS, zones=zones)
    expected = cli("plan", "-f", SHOP, "--nodepools", NODEPOOLS, "--zones", ",".join(zones))
    assert swept.cost_per_hour[0] == expected["cost_per_hour"]
    assert swept.nodes[0] == len(expected["nodes"])
