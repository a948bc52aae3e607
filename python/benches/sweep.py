"""Throughput of what-if sweeps, and what a Python call adds over the engine.

Run after ``pip install .``: ``python python/benches/sweep.py [SCENARIOS]`` (default 48). Prints
figures; never fails on speed.

- Sweep throughput (scenarios per second) of one ``fleetfit.sweep`` call over the bundled
  web shop, with the engine on 1 and on 2 threads, and of a ``ThreadPoolExecutor`` of 1 and 2
  workers each planning one scenario per call (which shows the GIL is released).
- The overhead of ``fleetfit.plan`` (arguments in, typed result objects out) over the
  engine's own call (``fleetfit._native.plan``, which returns JSON text).
"""

from __future__ import annotations

import pathlib
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import numpy as np

import fleetfit
from fleetfit import _native

ROOT = pathlib.Path(__file__).resolve().parents[2]


def best_of(runs: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 48
    shop = fleetfit.load(ROOT / "examples" / "webshop", nodepools=ROOT / "examples" / "nodepools.yaml")
    catalog = fleetfit.Catalog.aws("us-east-1")
    rng = np.random.default_rng(7)
    replicas = rng.uniform(0.5, 3.0, n)
    spot = rng.uniform(0.0, 1.0, n)
    print(f"web shop: {shop.pending_pods} pending pods; {n} scenarios (replicas 0.5-3x, spot share 0-1)")

    for threads in (1, 2):
        seconds = best_of(3, lambda: fleetfit.sweep(shop, catalog, replicas=replicas, spot_share=spot, threads=threads))
        print(f"sweep, engine on {threads} thread(s): {seconds:.3f} s, {n / seconds:.1f} scenarios/s")

    def one(k: int) -> float:
        return fleetfit.plan(shop.whatif(replicas=float(replicas[k]), spot_share=float(spot[k])), catalog).cost_per_hour

    for workers in (1, 2):

        def pool() -> None:
            with ThreadPoolExecutor(max_workers=workers) as ex:
                list(ex.map(one, range(n)))

        seconds = best_of(3, pool)
        print(f"plan per scenario, ThreadPoolExecutor({workers}): {seconds:.3f} s, {n / seconds:.1f} scenarios/s")

    engine = [best_of(1, lambda: _native.plan(shop._native, catalog._native, "optimize", None)) for _ in range(15)]
    python = [best_of(1, lambda: fleetfit.plan(shop, catalog)) for _ in range(15)]
    e, p = statistics.median(engine), statistics.median(python)
    print(f"plan of the web shop: engine {e * 1e3:.2f} ms, Python call {p * 1e3:.2f} ms, overhead {(p - e) * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
