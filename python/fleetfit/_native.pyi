"""Type stubs for the Rust extension module built from python/src/lib.rs."""

import os

import numpy as np
import numpy.typing as npt
from typing import final

__all__ = [
    "Catalog",
    "Inventory",
    "__version__",
    "consolidate",
    "explain",
    "generate_trace",
    "parse_quantity",
    "plan",
    "read_path",
    "simulate",
    "sweep",
]

__version__: str

@final
class Inventory:
    """Kubernetes objects parsed into fleetfit's inventory."""

    @staticmethod
    def parse(sources: list[tuple[str, str]], validate: str = "strict", hpa: str = "min") -> Inventory: ...
    def to_json(self) -> str: ...
    @property
    def pending_pods(self) -> int: ...
    def whatif(
        self,
        replicas: float = 1.0,
        requests: float = 1.0,
        spot_share: float | None = None,
        families: list[str] | None = None,
    ) -> Inventory: ...

@final
class Catalog:
    """Instance types with their capacity, overhead and offerings."""

    @staticmethod
    def aws(region: str) -> Catalog: ...
    @staticmethod
    def parse(source_name: str, text: str, format: str) -> Catalog: ...
    @staticmethod
    def regions() -> list[str]: ...
    def with_prices(self, source_name: str, text: str) -> Catalog: ...
    @property
    def region(self) -> str: ...
    @property
    def currency(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def notes(self) -> list[str]: ...
    def instance_types_json(self) -> str: ...

def plan(
    inventory: Inventory,
    catalog: Catalog,
    mode: str = "optimize",
    time_limit_seconds: float | None = None,
    spot_diversity: float | None = None,
    zones: list[str] | None = None,
) -> str: ...
def explain(inventory: Inventory, catalog: Catalog, top: int = 3, zones: list[str] | None = None) -> str: ...
def consolidate(
    inventory: Inventory,
    catalog: Catalog,
    now: str,
    mode: str = "optimize",
    spot_to_spot: bool = False,
    disruption_weight: float = ...,
    compare: bool = True,
    zones: list[str] | None = None,
) -> str: ...
def generate_trace(inventory: Inventory, shape: str, start: str = "2026-12-01T00:00:00Z", days: int = 1) -> str: ...
def simulate(
    inventory: Inventory,
    catalog: Catalog,
    trace: str,
    trace_name: str = "trace",
    mode: str = "optimize",
    consolidation: str | None = ...,
    consolidation_interval: str = "5m",
    startup: str = "60s",
    zones: list[str] | None = None,
) -> str: ...
def sweep(
    inventory: Inventory,
    catalog: Catalog,
    replicas: npt.NDArray[np.float64],
    requests: npt.NDArray[np.float64],
    spot_share: npt.NDArray[np.float64],
    family_set: npt.NDArray[np.int64],
    families: list[list[str]],
    mode: str = "optimize",
    threads: int = 1,
    zones: list[str] | None = None,
) -> tuple[
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
]: ...
def parse_quantity(text: str) -> float: ...
def read_path(path: str | os.PathLike[str]) -> list[tuple[str, str]]: ...
