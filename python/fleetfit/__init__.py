"""fleetfit: which nodes should a Kubernetes cluster run, and at what cost.

Karpenter's three jobs as functions over the manifests you already have: where pending pods
can go and why not (:func:`explain`), the cheapest nodes for them with a lower bound on any
better plan (:func:`plan`), which nodes to remove or replace within disruption budgets
(:func:`consolidate`), a day of a cluster replayed (:func:`simulate`), and thousands of
what-if scenarios priced in one call (:func:`sweep`).

>>> import fleetfit
>>> shop = fleetfit.load("examples/webshop", nodepools="examples/nodepools.yaml")  # doctest: +SKIP
>>> p = fleetfit.plan(shop, mode="optimize")  # doctest: +SKIP
>>> round(p.cost_per_hour, 2), round(p.lower_bound_per_hour, 2)  # doctest: +SKIP
(2.51, 2.32)
>>> p.to_pandas().groupby("instance_type").size()  # doctest: +SKIP

Every function that takes an :class:`Inventory` also takes what :func:`load` takes (with
``nodepools=``), and every ``catalog=`` has a ``region=`` shorthand:

>>> fleetfit.plan("examples/webshop", nodepools="examples/nodepools.yaml", region="eu-west-1")  # doctest: +SKIP

The engine is Rust (``fleetfit._native``). Every call releases the GIL while it works, so a
``concurrent.futures.ThreadPoolExecutor`` over scenarios uses every core; to fan out over
machines, hand the same calls to Dask (``client.map``) or Ray (``ray.remote``): inputs are
plain text and results plain data.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
from typing import Any, Iterable, Literal, Sequence, Union

from fleetfit import _native
from fleetfit.errors import FleetfitError, InfeasibleError, InputError
from fleetfit.results import ConsolidationPlan, Explanation, Plan, Sweep, Timeline

__all__ = [
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
]

__version__: str = _native.__version__

#: What :func:`load` accepts: a path (file or directory), YAML/JSON text, a dict (a
#: Kubernetes object or ``kind: List``, as ``json.load`` or the ``kubernetes`` client give
#: them), a ``kubernetes`` client model object, or a list of those.
Source = Union[str, "os.PathLike[str]", bytes, "dict[str, Any]", Any]

#: What every function that works on an inventory takes: an :class:`Inventory`, or what
#: :func:`load` takes (then loaded, with the function's ``nodepools=``).
InventoryArg = Union["Inventory", Source]

#: ``nodepools=``: Karpenter NodePools (and EC2NodeClasses) in any form :func:`load` takes.
NodePoolsArg = Union[Source, Sequence[Source], None]


class Inventory:
    """Kubernetes objects parsed for fleetfit: pods (workloads expanded one per replica),
    DaemonSets, nodes, NodePools, EC2NodeClasses, PDBs and volumes. Made by :func:`load`."""

    def __init__(self, native: _native.Inventory) -> None:
        self._native = native
        self._dict: dict[str, Any] | None = None

    @property
    def pending_pods(self) -> int:
        """Pods a plan would place (not bound to a node, not finished)."""
        return self._native.pending_pods

    @property
    def notes(self) -> list[str]:
        """What reading the input assumed or changed: older API versions converted (each
        change listed), autoscaled replicas, warnings under ``validate="warn"``."""
        return list(self.to_dict()["notes"])

    @property
    def skipped(self) -> list[dict[str, Any]]:
        """Objects not modelled: ``api_version``, ``kind``, ``name``, why (``reason``), and
        ``pods_not_counted``, true when the object makes pods (a custom resource with a pod
        template) that no answer counts; every answer's ``warnings`` say so."""
        return [{**s, "pods_not_counted": s.get("pods_not_counted", False)} for s in self.to_dict()["skipped"]]

    def to_dict(self) -> dict[str, Any]:
        """The inventory in the CLI's JSON shape (``pods``, ``workloads``, ``nodes``, ...)."""
        if self._dict is None:
            self._dict = json.loads(self._native.to_json())
        return self._dict

    def whatif(
        self,
        *,
        replicas: float = 1.0,
        requests: float = 1.0,
        spot_share: float | None = None,
        families: Sequence[str] | None = None,
    ) -> Inventory:
        """This inventory with each workload's pending pods times ``replicas`` (rounded up),
        their CPU and memory requests times ``requests``, ``spot_share`` of each workload's
        pods pinned to spot (the rest to on-demand), and every NodePool restricted to the
        instance ``families``.

        >>> bigger = shop.whatif(replicas=2, spot_share=0.5)  # doctest: +SKIP
        """
        fam = None if families is None else list(families)
        return Inventory(self._native.whatif(replicas, requests, spot_share, fam))

    def __repr__(self) -> str:
        return repr(self._native)


class Catalog:
    """Instance types with their capacity and offerings (zone, capacity type, price per hour).

    >>> catalog = fleetfit.Catalog.aws(region="eu-west-1")  # doctest: +SKIP
    >>> cheaper = catalog.with_prices({"onDemandDiscountPercent": 28})  # doctest: +SKIP
    """

    def __init__(self, native: _native.Catalog) -> None:
        self._native = native

    @classmethod
    def aws(cls, region: str = "us-east-1") -> Catalog:
        """The embedded AWS EC2 catalog of ``region`` (see :meth:`regions`)."""
        return cls(_native.Catalog.aws(region))

    @staticmethod
    def regions() -> list[str]:
        """The regions of the embedded AWS catalog."""
        return list(_native.Catalog.regions())

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> Catalog:
        """A catalog of one's own: ``.json`` (the embedded catalog's shape) or ``.csv``."""
        name = os.fspath(path)
        with open(name, encoding="utf-8") as f:
            text = f.read()
        return cls(_native.Catalog.parse(name, text, "csv" if name.endswith(".csv") else "json"))

    @classmethod
    def from_text(cls, text: str, format: str = "json", source_name: str = "<string>") -> Catalog:
        """A catalog from JSON or CSV text (``format`` ``"json"`` or ``"csv"``)."""
        return cls(_native.Catalog.parse(source_name, text, format))

    def with_prices(self, adjustments: dict[str, Any] | str | os.PathLike[str]) -> Catalog:
        """This catalog with price adjustments: a dict such as ``{"onDemandDiscountPercent":
        28, "spotDiscountPercent": 0, "overrides": [{"family": "c7g", "onDemand": ...}]}``, or
        a JSON/YAML file path, or such text."""
        if isinstance(adjustments, dict):
            return Catalog(self._native.with_prices("<prices>", json.dumps(adjustments)))
        text, name = _text_or_file(adjustments)
        return Catalog(self._native.with_prices(name, text))

    @property
    def region(self) -> str:
        return self._native.region

    @property
    def currency(self) -> str:
        return self._native.currency

    @property
    def notes(self) -> list[str]:
        """Facts about the data (price fallbacks, ...)."""
        return list(self._native.notes)

    def instance_types(self) -> list[dict[str, Any]]:
        """Every instance type: name, capacity, overhead, requirements, offerings."""
        types: list[dict[str, Any]] = json.loads(self._native.instance_types_json())
        return types

    def offerings(self) -> Any:
        """A DataFrame with one row per offering: instance type, zone, capacity type, price,
        and the type's capacity (``capacity_cpu`` in cores, ``capacity_memory_gib``,
        ``capacity_pods``, ``capacity_nvidia_com_gpu``..., 0 when the type has none)."""
        from fleetfit._records import frame, resource_columns

        rows = []
        for t in self.instance_types():
            capacity = resource_columns("capacity", {k: str(v) for k, v in t["capacity"].items()})
            for o in t["offerings"]:
                rows.append(
                    {
                        "instance_type": t["name"],
                        "zone": o["zone"],
                        "capacity_type": o["capacity_type"],
                        "price_per_hour": float(o["price"]),
                        "available": bool(o.get("available", True)),
                        **capacity,
                    }
                )
        columns = ["instance_type", "zone", "capacity_type", "price_per_hour", "available"]
        return frame(rows, columns + ["capacity_cpu", "capacity_memory_gib"])

    def __repr__(self) -> str:
        return repr(self._native)


def load(
    *sources: Source,
    nodepools: NodePoolsArg = None,
    validate: Literal["strict", "warn"] = "strict",
    hpa: Literal["min", "max"] = "min",
) -> Inventory:
    """Parse manifests into an :class:`Inventory`.

    Each source may be a path (a file, or a directory searched for ``.yaml``, ``.yml`` and
    ``.json`` files), YAML or JSON text (any number of documents, ``kind: List``,
    ``kubectl get -o json`` output), a dict (as ``json.load`` or the ``kubernetes`` client's
    ``to_dict()`` give it), a ``kubernetes`` client model object (``V1Deployment``...), or a
    list of these. ``nodepools`` takes the same, for Karpenter ``NodePool`` and
    ``EC2NodeClass`` objects. Everything is parsed together, so a snapshot's Pods and their
    Deployments in different sources are counted once.

    An unknown field (a typo such as ``requirments``) or an unknown well-known label is an
    error, as ``kubectl apply`` validates strictly; ``validate="warn"`` makes it a warning in
    :attr:`Inventory.notes` and ignores it. A workload a HorizontalPodAutoscaler scales is
    counted at its written replicas clamped into the autoscaler's range (``minReplicas`` when it
    writes none); ``hpa="max"`` counts ``maxReplicas``.

    Raises :class:`InputError` naming the object and field when a source cannot be used.
    """
    return _load("load", sources, nodepools, validate=validate, hpa=hpa)


def _load(
    caller: str, sources: Sequence[Source], nodepools: NodePoolsArg, *, validate: str = "strict", hpa: str = "min"
) -> Inventory:
    texts: list[tuple[str, str]] = []
    for s in sources:
        texts.extend(_sources(caller, s))
    if nodepools is not None:
        texts.extend(_sources(caller, nodepools))
    if not texts:
        raise InputError(f"{caller}() needs at least one source: a path, YAML/JSON text, or a dict")
    return Inventory(_native.Inventory.parse(texts, validate, hpa))


def parse_manifests(text: str, source_name: str = "<string>") -> dict[str, Any]:
    """Parse Kubernetes YAML or JSON text into fleetfit's inventory, as a dict (the CLI's
    JSON shape). :func:`load` gives an :class:`Inventory` to plan with."""
    return Inventory(_native.Inventory.parse([(source_name, text)])).to_dict()


#: A catalog argument: a :class:`Catalog`, an AWS region name, or ``None`` for us-east-1.
CatalogArg = Union[Catalog, str, None]

_REGIONS: dict[str, Catalog] = {}


def _catalog(caller: str, catalog: CatalogArg, region: str | None) -> _native.Catalog:
    """The catalog of ``catalog=`` or ``region=`` (one of them, or neither for us-east-1)."""
    if catalog is not None and region is not None:
        raise TypeError(
            f"{caller}(): pass catalog= or region=, not both "
            f"(region={region!r} is the same as catalog=fleetfit.Catalog.aws({region!r}))"
        )
    if isinstance(catalog, Catalog):
        return catalog._native
    name = catalog if catalog is not None else region if region is not None else "us-east-1"
    if not isinstance(name, str):
        raise TypeError(
            f"{caller}(): {'catalog' if catalog is not None else 'region'}= takes a fleetfit.Catalog "
            f"or an AWS region name such as 'eu-west-1', not {type(name).__name__} {name!r:.40}"
        )
    if name not in _REGIONS:
        _REGIONS[name] = Catalog.aws(name)
    return _REGIONS[name]._native


def _inventory(caller: str, inventory: InventoryArg, nodepools: NodePoolsArg) -> _native.Inventory:
    """The inventory to work on: ``inventory`` itself, or what it names loaded with ``nodepools``."""
    if isinstance(inventory, Inventory):
        if nodepools is not None:
            raise TypeError(
                f"{caller}(): nodepools= goes with manifests, not with an Inventory, which has its "
                "NodePools already: load them together with fleetfit.load(..., nodepools=...)"
            )
        return inventory._native
    return _load(caller, [inventory], nodepools)._native


def _zones(caller: str, zones: Sequence[str] | None) -> list[str] | None:
    """``zones=`` as the engine takes it: ``None``, or a list of zone names."""
    if zones is None:
        return None
    names = None if isinstance(zones, str) or not isinstance(zones, Iterable) else list(zones)
    if names is None or not all(isinstance(z, str) for z in names):
        raise TypeError(
            f"{caller}(): zones= takes a list of zone names such as ['us-east-1a', 'us-east-1b'], "
            f"not {type(zones).__name__} {zones!r:.40}"
        )
    return names


def plan(
    inventory: InventoryArg,
    catalog: CatalogArg = None,
    *,
    region: str | None = None,
    nodepools: NodePoolsArg = None,
    zones: Sequence[str] | None = None,
    mode: str = "optimize",
    time_limit: float | None = None,
    spot_diversity: float | None = None,
    strict: bool = False,
) -> Plan:
    """Place every pending pod on existing or new nodes at least cost.

    ``inventory`` is an :class:`Inventory`, or anything :func:`load` takes (a path, a
    directory, YAML/JSON text, dicts, ``kubernetes`` objects), loaded with ``nodepools``.
    ``catalog`` is a :class:`Catalog`; or give ``region`` for the embedded AWS catalog of that
    region (default ``"us-east-1"``). ``zones`` are the zones new nodes may launch in
    (``["us-east-1a", "us-east-1b"]``); by default, as the CLI without ``--zones``, those of
    the EC2NodeClasses' ``status.subnets``, else of the NodePools' zone requirements, else of
    the cluster's nodes, else every zone of the region. The notes say which zones and why; a
    zone the region does not have is an :class:`InputError` listing the region's.

    ``mode``: ``"karpenter"`` (Karpenter v1's decisions), ``"optimize"`` (cost-aware, never
    dearer than karpenter) or ``"exact"`` (a HiGHS MILP, ``time_limit`` seconds per solve).
    ``spot_diversity``: at most this share (above 0, at most 1) of the new spot nodes in one
    capacity pool (instance type × zone); nodes over it move, whole, to their next-cheapest
    spot options, and :attr:`Plan.spot_diversity` says what that cost (:attr:`Plan.spot_pools`
    lists the spot nodes per pool either way). With ``strict``, pods left unschedulable raise
    :class:`InfeasibleError` (carrying the plan) instead of being listed.

    >>> p = fleetfit.plan("shop/", nodepools="nodepools.yaml", region="eu-west-1")  # doctest: +SKIP
    >>> p = fleetfit.plan(shop, mode="exact", time_limit=5)  # doctest: +SKIP
    >>> p.gap  # doctest: +SKIP
    >>> fleetfit.plan(shop, zones=["us-east-1a", "us-east-1b"], spot_diversity=0.5).spot_diversity  # doctest: +SKIP
    """
    native = _inventory("plan", inventory, nodepools)
    result = Plan.from_json(
        _native.plan(
            native,
            _catalog("plan", catalog, region),
            mode,
            time_limit,
            spot_diversity,
            _zones("plan", zones),
        )
    )
    if strict and result.unschedulable:
        first = result.unschedulable[0]
        raise InfeasibleError(
            f"{len(result.unschedulable)} pods have nowhere to go; {first.pod}: {'; '.join(first.reasons)}",
            result,
        )
    return result


def explain(
    inventory: InventoryArg,
    catalog: CatalogArg = None,
    *,
    region: str | None = None,
    nodepools: NodePoolsArg = None,
    zones: Sequence[str] | None = None,
    top: int = 3,
) -> Explanation:
    """For each workload with pending pods: how many (NodePool, instance type) candidates can
    host it, the ``top`` cheapest (``top=0``: none), and every rejection grouped by reason.

    ``inventory``, ``nodepools``, ``catalog``, ``region`` and ``zones`` as for :func:`plan`.
    """
    native = _inventory("explain", inventory, nodepools)
    return Explanation.from_json(
        _native.explain(native, _catalog("explain", catalog, region), top, _zones("explain", zones))
    )


def consolidate(
    inventory: InventoryArg,
    catalog: CatalogArg = None,
    *,
    region: str | None = None,
    nodepools: NodePoolsArg = None,
    zones: Sequence[str] | None = None,
    now: _dt.datetime | str | None = None,
    mode: str = "optimize",
    spot_to_spot: bool = False,
    disruption_weight: float = 0.001,
    compare: bool = True,
) -> ConsolidationPlan:
    """Which nodes of a cluster snapshot to delete or replace at ``now`` (default: the current
    time), within disruption budgets, and why every other managed node stays.

    ``inventory``, ``nodepools``, ``catalog``, ``region`` and ``zones`` (where replacements
    may launch) as for :func:`plan`. ``mode``: ``"karpenter"``, ``"optimize"`` or ``"global"``
    (the set of moves worth the most: savings less ``disruption_weight`` per unit of
    disruption cost). ``compare`` also works out what Karpenter's rules alone would save.
    """
    native = _inventory("consolidate", inventory, nodepools)
    return ConsolidationPlan.from_json(
        _native.consolidate(
            native,
            _catalog("consolidate", catalog, region),
            _rfc3339(now),
            mode,
            spot_to_spot,
            disruption_weight,
            compare,
            _zones("consolidate", zones),
        )
    )


def generate_trace(
    inventory: InventoryArg,
    shape: str,
    *,
    nodepools: NodePoolsArg = None,
    start: _dt.datetime | str | None = None,
    days: int = 1,
) -> str:
    """A trace (YAML) of a common shape for the inventory's workloads: ``"diurnal"`` web
    traffic, ``"nightly-batch"`` or a ``"spike"``. ``inventory`` and ``nodepools`` as for
    :func:`plan`."""
    return _generated(_inventory("generate_trace", inventory, nodepools), shape, start, days)


def _generated(inventory: _native.Inventory, shape: str, start: _dt.datetime | str | None, days: int) -> str:
    return _native.generate_trace(
        inventory, shape, _rfc3339(start or "2026-12-01T00:00:00Z"), days
    )


def simulate(
    inventory: InventoryArg,
    catalog: CatalogArg = None,
    *,
    region: str | None = None,
    nodepools: NodePoolsArg = None,
    zones: Sequence[str] | None = None,
    trace: str | os.PathLike[str] | dict[str, Any] | None = None,
    generate: str | None = None,
    start: _dt.datetime | str | None = None,
    days: int = 1,
    mode: str = "optimize",
    consolidation: str | None = "optimize",
    consolidation_interval: str = "5m",
    startup: str = "60s",
) -> Timeline:
    """Replay a trace through provisioning and consolidation: cost, nodes and pending pods over
    time.

    ``inventory``, ``nodepools``, ``catalog``, ``region`` and ``zones`` as for :func:`plan`.
    ``trace`` is
    a file path, YAML/JSON text or a dict (the format is in the README); or ``generate`` one
    (``"diurnal"``, ``"nightly-batch"``, ``"spike"``) from ``start`` for ``days``.
    ``consolidation``: ``"optimize"``, ``"karpenter"``, ``"global"`` or ``None``.
    """
    if (trace is None) == (generate is None):
        raise InputError("simulate() needs a trace or generate=, not both and not neither")
    native = _inventory("simulate", inventory, nodepools)
    if generate is not None:
        text, name = _generated(native, generate, start, days), f"generated {generate}"
    elif isinstance(trace, dict):
        text, name = json.dumps(trace), "<trace>"
    else:
        assert trace is not None
        text, name = _text_or_file(trace)
    return Timeline.from_json(
        _native.simulate(
            native,
            _catalog("simulate", catalog, region),
            text,
            name,
            mode,
            consolidation,
            consolidation_interval,
            startup,
            _zones("simulate", zones),
        )
    )


def sweep(
    inventory: InventoryArg,
    catalog: CatalogArg = None,
    *,
    region: str | None = None,
    nodepools: NodePoolsArg = None,
    zones: Sequence[str] | None = None,
    replicas: Any = 1.0,
    requests: Any = 1.0,
    spot_share: Any = math.nan,
    family_set: Any = -1,
    families: Sequence[Sequence[str]] = (),
    mode: str = "optimize",
    threads: int = 1,
) -> Sweep:
    """Price many what-if scenarios in one call: arrays in, arrays out, no Python loop.

    ``inventory``, ``nodepools``, ``catalog``, ``region`` and ``zones`` as for :func:`plan`.
    ``replicas``, ``requests``, ``spot_share`` and ``family_set`` are numbers or 1-D arrays,
    broadcast together (``numpy.broadcast_arrays``); scenario *k* multiplies every
    workload's pending pods by ``replicas[k]`` and their requests by ``requests[k]``, pins
    ``spot_share[k]`` of each workload's pods to spot (NaN: as written), and restricts every
    NodePool to the instance families ``families[family_set[k]]`` (-1: as written). Each is
    planned in ``mode``, on up to ``threads`` threads (0: every core), without the GIL.

    Every scenario is checked before any is planned: a factor that is not a number in range,
    or one that would grow a workload past 100,000 pending pods or a scenario past 500,000
    (as many as manifests may ask for), is an :class:`InputError` naming the scenario, e.g.
    ``scenarios[0]: replicas: 1,000,000 × 4 pending pods would make 4,000,000 pods of
    Deployment shop/web; at most 100,000 per workload``.

    >>> import numpy as np
    >>> s = fleetfit.sweep(shop, spot_share=np.linspace(0, 1, 11))  # doctest: +SKIP
    >>> s.cost_per_hour  # doctest: +SKIP
    """
    import numpy as np

    native = _inventory("sweep", inventory, nodepools)
    r, q, s, f = np.broadcast_arrays(
        np.asarray(replicas, dtype=np.float64),
        np.asarray(requests, dtype=np.float64),
        np.asarray(spot_share, dtype=np.float64),
        np.asarray(family_set, dtype=np.int64),
    )
    r, q, s, f = (np.ascontiguousarray(a).reshape(-1) for a in (r, q, s, f))
    fam = [list(x) for x in families]
    cost, bound, nodes, spot, pods, unschedulable = _native.sweep(
        native, _catalog("sweep", catalog, region), r, q, s, f, fam, mode, threads, _zones("sweep", zones)
    )
    return Sweep(
        replicas=r,
        requests=q,
        spot_share=s,
        family_set=f,
        families=fam,
        cost_per_hour=cost,
        lower_bound_per_hour=bound,
        nodes=nodes,
        spot_nodes=spot,
        pods=pods,
        unschedulable=unschedulable,
    )



def _rfc3339(t: _dt.datetime | str | None) -> str:
    if t is None:
        t = _dt.datetime.now(_dt.timezone.utc)
    if isinstance(t, _dt.datetime):
        if t.tzinfo is None:
            raise InputError(f"now/start: {t!r} has no time zone; give one (datetime.timezone.utc)")
        return t.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return t


def _looks_like_text(s: str) -> bool:
    stripped = s.lstrip()
    return "\n" in s or stripped.startswith(("{", "[", "apiVersion", "kind:", "---"))


def _text_or_file(source: str | os.PathLike[str]) -> tuple[str, str]:
    """(text, name) of a file path or of text itself."""
    if isinstance(source, str) and _looks_like_text(source):
        return source, "<string>"
    name = os.fspath(source)
    try:
        with open(name, encoding="utf-8") as f:
            return f.read(), name
    except OSError as e:
        raise InputError(f"{name}: {e.strerror or e}") from e


def _sources(caller: str, source: Any, within: str = "") -> list[tuple[str, str]]:
    """(name, text) pairs of one source of :func:`load`; ``within`` says where in a list it is."""
    if isinstance(source, bytes):
        source = source.decode("utf-8")
    if isinstance(source, str) and _looks_like_text(source):
        return [("<string>", source)]
    if isinstance(source, (str, os.PathLike)):
        if not os.path.exists(source):
            raise InputError(f"{os.fspath(source)}: no such file or directory")
        return list(_native.read_path(os.fspath(source)))
    if isinstance(source, dict):
        return [(_name_of(source), json.dumps(source))]
    if isinstance(source, (list, tuple)):
        out: list[tuple[str, str]] = []
        for k, item in enumerate(source):
            out.extend(_sources(caller, item, f"{within}[{k}]"))
        return out
    if hasattr(source, "openapi_types"):
        # A kubernetes client model (V1Deployment, V1PodList, ...): its API form, camelCase.
        try:
            from kubernetes.client import ApiClient
        except ImportError as e:  # pragma: no cover - only with such objects
            raise InputError(f"{type(source).__name__}: reading kubernetes client objects needs the kubernetes package") from e
        obj = ApiClient().sanitize_for_serialization(source)
        return [(_name_of(obj), json.dumps(obj))]
    if hasattr(source, "to_dict"):
        obj = source.to_dict()
        return [(_name_of(obj), json.dumps(obj))]
    where = f" (item {within})" if within else ""
    wanted = "a path (a file or a directory), YAML/JSON text, a dict, a kubernetes object or a list of them"
    if caller != "load":
        wanted = f"a fleetfit.Inventory, or {wanted}"
    raise TypeError(
        f"{caller}(): cannot read manifests from {type(source).__name__} {source!r:.40}{where}; give {wanted}"
    )


def _name_of(obj: Any) -> str:
    """``Deployment shop/web`` for error messages, when the object says."""
    if not isinstance(obj, dict):
        return "<object>"
    meta = obj.get("metadata") or {}
    kind = obj.get("kind") or "object"
    name = meta.get("name") if isinstance(meta, dict) else None
    ns = meta.get("namespace") if isinstance(meta, dict) else None
    return f"{kind} {ns + '/' if ns else ''}{name}" if name else str(kind)
