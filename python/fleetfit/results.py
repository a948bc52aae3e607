"""Typed results of :func:`fleetfit.plan`, :func:`fleetfit.explain`, :func:`fleetfit.consolidate`,
:func:`fleetfit.simulate` and :func:`fleetfit.sweep`.

Their fields mirror the JSON the CLI prints (``fleetfit plan -o json`` and so on); every list
of records is a :class:`~fleetfit._records.Table`, whose ``to_pandas()`` gives a DataFrame with
numeric columns (CPU in cores, memory in GiB, prices per hour). Every result's own
``to_pandas()`` is its main table: a plan's new nodes, an explanation's workloads, a
consolidation's commands, a timeline's steps, a sweep's scenarios.

Column names are plain (letters, digits, ``_``): a resource such as ``nvidia.com/gpu`` is
``requests_nvidia_com_gpu``, and a resource a row does not have is 0, never NaN.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar

from fleetfit._records import Table, frame, require_pandas, resource_columns

R = TypeVar("R")

__all__ = [
    "Candidate",
    "CheapOption",
    "Command",
    "ConsolidationPlan",
    "ExistingPlacement",
    "Explanation",
    "KeptNode",
    "Move",
    "NodePoolSummary",
    "Plan",
    "PlannedNode",
    "Rejection",
    "Replacement",
    "SpotDiversity",
    "SpotPool",
    "Step",
    "Sweep",
    "Timeline",
    "Totals",
    "Unschedulable",
    "Utilisation",
    "WorkloadExplanation",
]


def _table(rows: list[R], row: Callable[[R], dict[str, Any]], columns: list[str]) -> Table[R]:
    return Table(rows, row, columns)


@dataclass(frozen=True)
class Utilisation:
    """Requested share of allocatable (0.0–1.0)."""

    cpu: float
    memory: float

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Utilisation:
        return cls(cpu=float(d["cpu"]), memory=float(d["memory"]))


def _use_columns(utilisation: Utilisation, requests: dict[str, str], allocatable: dict[str, str]) -> dict[str, Any]:
    """A node's use as table columns (:data:`_USE_COLUMNS`)."""
    return {
        "cpu_utilisation": utilisation.cpu,
        "memory_utilisation": utilisation.memory,
        **resource_columns("requests", requests),
        **resource_columns("allocatable", allocatable),
    }


_USE_COLUMNS = [
    "cpu_utilisation",
    "memory_utilisation",
    "requests_cpu",
    "requests_memory_gib",
    "requests_pods",
    "allocatable_cpu",
    "allocatable_memory_gib",
    "allocatable_pods",
]


@dataclass(frozen=True)
class PlannedNode:
    """A new node of a plan."""

    name: str
    nodepool: str
    instance_type: str
    zone: str
    capacity_type: str
    price_per_hour: float
    #: The NodeClaim's instance-type options, cheapest first.
    instance_types: list[str]
    #: ``namespace/name`` of its pods.
    pods: list[str]
    #: Summed requests and the node's allocatable, as Kubernetes quantities.
    requests: dict[str, str]
    allocatable: dict[str, str]
    utilisation: Utilisation
    #: A Windows node priced at the Linux rate (the embedded catalog has no Windows prices):
    #: it costs more than the plan says, and the plan's warnings say so.
    linux_priced: bool = False

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> PlannedNode:
        return cls(
            name=d["name"],
            nodepool=d["nodepool"],
            instance_type=d["instance_type"],
            zone=d["zone"],
            capacity_type=d["capacity_type"],
            price_per_hour=float(d["price_per_hour"]),
            instance_types=list(d["instance_types"]),
            pods=list(d["pods"]),
            requests=dict(d["requests"]),
            allocatable=dict(d["allocatable"]),
            utilisation=Utilisation.from_json(d["utilisation"]),
            linux_priced=bool(d.get("linux_priced", False)),
        )

    def row(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "nodepool": self.nodepool,
            "instance_type": self.instance_type,
            "zone": self.zone,
            "capacity_type": self.capacity_type,
            "price_per_hour": self.price_per_hour,
            "linux_priced": self.linux_priced,
            "pods": len(self.pods),
            "options": len(self.instance_types),
            **_use_columns(self.utilisation, self.requests, self.allocatable),
        }


_NODE_COLUMNS = [
    "name",
    "nodepool",
    "instance_type",
    "zone",
    "capacity_type",
    "price_per_hour",
    "linux_priced",
    "pods",
    "options",
    *_USE_COLUMNS,
]


@dataclass(frozen=True)
class ExistingPlacement:
    """A pending pod placed on a node that already runs."""

    pod: str
    node: str

    def row(self) -> dict[str, Any]:
        return {"pod": self.pod, "node": self.node}


@dataclass(frozen=True)
class ExistingNodeUse:
    """A node of the input as a plan leaves it: its pods and the pending pods placed there."""

    name: str
    #: Its ``node.kubernetes.io/instance-type`` label, zone and capacity type, if labelled.
    instance_type: str | None
    zone: str | None
    capacity_type: str | None
    #: Pods take it: not cordoned, not being deleted.
    schedulable: bool
    #: Pods bound to it (not finished).
    pods: int
    #: Pending pods the plan places on it.
    placed: int
    #: Requests of both, and the node's allocatable, as Kubernetes quantities.
    requests: dict[str, str]
    allocatable: dict[str, str]
    utilisation: Utilisation

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ExistingNodeUse:
        return cls(
            name=d["name"],
            instance_type=d.get("instance_type"),
            zone=d.get("zone"),
            capacity_type=d.get("capacity_type"),
            schedulable=bool(d["schedulable"]),
            pods=int(d["pods"]),
            placed=int(d["placed"]),
            requests=dict(d["requests"]),
            allocatable=dict(d["allocatable"]),
            utilisation=Utilisation.from_json(d["utilisation"]),
        )

    def row(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "instance_type": self.instance_type,
            "zone": self.zone,
            "capacity_type": self.capacity_type,
            "schedulable": self.schedulable,
            "pods": self.pods,
            "placed": self.placed,
            **_use_columns(self.utilisation, self.requests, self.allocatable),
        }


_EXISTING_NODE_COLUMNS = [
    "name",
    "instance_type",
    "zone",
    "capacity_type",
    "schedulable",
    "pods",
    "placed",
    *_USE_COLUMNS,
]


@dataclass(frozen=True)
class Unschedulable:
    """A pod no node can take, and why (one reason per NodePool or constraint)."""

    pod: str
    reasons: list[str]

    def row(self) -> dict[str, Any]:
        return {"pod": self.pod, "reasons": "; ".join(self.reasons)}


@dataclass(frozen=True)
class SpotPool:
    """A plan's new spot nodes in one EC2 capacity pool: an instance type in a zone."""

    instance_type: str
    zone: str
    nodes: int
    #: Of the plan's new spot nodes (0.0–1.0).
    share: float

    def row(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class SpotDiversity:
    """What keeping a plan's spot nodes spread over capacity pools did and cost
    (``plan(..., spot_diversity=share)``)."""

    #: At most this share of the spot nodes in one pool, as asked.
    max_pool_share: float
    #: Whether the plan keeps to it (else the plan's warnings say where not, and why).
    satisfied: bool
    #: Spot nodes moved to another pool.
    nodes_moved: int
    #: What the plan would cost without ``spot_diversity``, per hour.
    cost_per_hour_without: float
    #: The plan's cost less ``cost_per_hour_without``: the price of diversity.
    extra_cost_per_hour: float


@dataclass(frozen=True)
class Plan:
    """Where the pending pods go, what the new nodes cost, and how far from optimal that can be."""

    mode: str
    region: str
    currency: str
    nodes: Table[PlannedNode]
    existing: Table[ExistingPlacement]
    #: The input's nodes as the plan leaves them (their pods, the pending pods placed there,
    #: requests over allocatable).
    existing_nodes: Table[ExistingNodeUse]
    unschedulable: Table[Unschedulable]
    #: The new nodes' price per hour.
    cost_per_hour: float
    #: What ``karpenter`` mode's plan costs on the same input (``optimize`` and ``exact``).
    karpenter_cost_per_hour: float | None
    #: No plan for the same pods launches new nodes for less.
    lower_bound_per_hour: float
    #: ``(cost − bound) / bound``; ``None`` when only the bound is 0.
    gap: float | None
    utilisation: Utilisation
    notes: list[str]
    #: What makes the plan incomplete or its prices too low: pods the input makes that are not
    #: counted, Windows nodes priced at Linux rates, a spot diversity share not met.
    warnings: list[str]
    #: The new spot nodes per capacity pool (instance type × zone), most first.
    spot_pools: Table[SpotPool]
    #: With ``spot_diversity=``: what keeping to it did and cost; else ``None``.
    spot_diversity: SpotDiversity | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, text: str) -> Plan:
        d = json.loads(text)
        return cls(
            mode=d["mode"],
            region=d["region"],
            currency=d["currency"],
            nodes=_table([PlannedNode.from_json(n) for n in d["nodes"]], PlannedNode.row, _NODE_COLUMNS),
            existing=_table(
                [ExistingPlacement(pod=e["pod"], node=e["node"]) for e in d["existing"]],
                ExistingPlacement.row,
                ["pod", "node"],
            ),
            existing_nodes=_table(
                [ExistingNodeUse.from_json(n) for n in d.get("existing_nodes", [])],
                ExistingNodeUse.row,
                _EXISTING_NODE_COLUMNS,
            ),
            unschedulable=_table(
                [Unschedulable(pod=u["pod"], reasons=list(u["reasons"])) for u in d["unschedulable"]],
                Unschedulable.row,
                ["pod", "reasons"],
            ),
            cost_per_hour=float(d["cost_per_hour"]),
            karpenter_cost_per_hour=_optional_float(d.get("karpenter_cost_per_hour")),
            lower_bound_per_hour=float(d["lower_bound_per_hour"]),
            gap=_optional_float(d.get("gap")),
            utilisation=Utilisation.from_json(d["utilisation"]),
            notes=list(d["notes"]),
            warnings=list(d["warnings"]),
            spot_pools=_table(
                [SpotPool(**p) for p in d["spot_pools"]], SpotPool.row, ["instance_type", "zone", "nodes", "share"]
            ),
            spot_diversity=None if d.get("spot_diversity") is None else SpotDiversity(**d["spot_diversity"]),
            raw=d,
        )

    @property
    def placements(self) -> Table[ExistingPlacement]:
        """Every placed pod and its node (new or existing), by pod."""
        rows = [ExistingPlacement(pod=p, node=n.name) for n in self.nodes for p in n.pods]
        rows.extend(self.existing)
        rows.sort(key=lambda r: r.pod)
        return _table(rows, ExistingPlacement.row, ["pod", "node"])

    def to_pandas(self) -> Any:
        """The new nodes, one row each (``plan.nodes.to_pandas()``): name, NodePool, instance
        type, zone, capacity type, price, pods, utilisation, requests and allocatable.
        Pods placed on existing nodes are ``plan.existing.to_pandas()``, those nodes' use
        ``plan.existing_nodes.to_pandas()``, every pod's node
        ``plan.placements.to_pandas()``, pods with nowhere to go
        ``plan.unschedulable.to_pandas()``, the spot nodes per capacity pool
        ``plan.spot_pools.to_pandas()``."""
        return self.nodes.to_pandas()

    def to_dict(self) -> dict[str, Any]:
        """The plan as the CLI's JSON shape."""
        return self.raw


@dataclass(frozen=True)
class NodePoolSummary:
    """A NodePool as filtering saw it."""

    name: str
    weight: int
    requirements: list[str]
    taints: list[str]
    daemon_overhead: dict[str, str]
    instance_types_allowed: int
    instance_types_total: int

    def row(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "weight": self.weight,
            "requirements": "; ".join(self.requirements),
            "taints": "; ".join(self.taints),
            "instance_types_allowed": self.instance_types_allowed,
            "instance_types_total": self.instance_types_total,
            **resource_columns("daemon_overhead", self.daemon_overhead),
        }


@dataclass(frozen=True)
class CheapOption:
    """One of the cheapest places for a workload's pods."""

    nodepool: str
    instance_type: str
    capacity_type: str
    zones: list[str]
    price_per_hour: float
    pods_per_node: int
    price_per_pod_hour: float
    #: The resource that limits ``pods_per_node``, in words (``memory: 1 pod of 1Gi per
    #: t3.small, 1.38Gi allocatable``).
    limited_by: str | None


@dataclass(frozen=True)
class Rejection:
    """Why a group of (NodePool, instance type) candidates cannot host a workload's pods."""

    nodepool: str
    #: ``taint``, ``label``, ``resource``, ``offering``, ``limit``, ...
    kind: str
    message: str
    #: How many instance types this rejects (0 when the whole NodePool is rejected).
    instance_types: int
    examples: list[str]
    nodepool_only: bool
    reason: dict[str, Any]


@dataclass(frozen=True)
class WorkloadExplanation:
    """Where one workload's pending pods (of one shape) can go, and where not."""

    #: ``Deployment shop/web``; for standalone Pods of one shape ``Pod shop/web-0`` or ``Pods
    #: shop/a, b, c and 17 more``.
    workload: str
    kind: str
    namespace: str
    name: str
    pods: int
    #: For standalone Pods, the first few of their names (empty for a workload's pods).
    pod_names: list[str]
    requests: dict[str, str]
    schedulable: bool
    candidates: int
    instance_types: int
    nodepools: list[str]
    cheapest: list[CheapOption]
    rejections: list[Rejection]

    def row(self) -> dict[str, Any]:
        return {
            "workload": self.workload,
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "pods": self.pods,
            "schedulable": self.schedulable,
            "candidates": self.candidates,
            "instance_types": self.instance_types,
            "nodepools": ", ".join(self.nodepools),
            "cheapest_price_per_pod_hour": self.cheapest[0].price_per_pod_hour if self.cheapest else float("nan"),
            **resource_columns("requests", self.requests),
        }


@dataclass(frozen=True)
class Explanation:
    """For each workload with pending pods: its candidates, the cheapest, every rejection."""

    region: str
    currency: str
    notes: list[str]
    #: Pods the input makes that are not counted.
    warnings: list[str]
    #: True when the input had no NodePool and Karpenter's default one was used.
    default_nodepool: bool
    nodepools: Table[NodePoolSummary]
    pending_pods: int
    workloads: Table[WorkloadExplanation]
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, text: str) -> Explanation:
        d = json.loads(text)
        pools = [
            NodePoolSummary(
                name=p["name"],
                weight=int(p["weight"]),
                requirements=list(p["requirements"]),
                taints=list(p["taints"]),
                daemon_overhead=dict(p["daemon_overhead"]),
                instance_types_allowed=int(p["instance_types_allowed"]),
                instance_types_total=int(p["instance_types_total"]),
            )
            for p in d["nodepools"]
        ]
        workloads = [
            WorkloadExplanation(
                workload=w["name"],
                kind=w["workload"]["kind"],
                namespace=w["workload"]["namespace"],
                name=w["workload"]["name"],
                pods=int(w["pods"]),
                pod_names=list(w["pod_names"]),
                requests=dict(w["requests"]),
                schedulable=bool(w["schedulable"]),
                candidates=int(w["candidates"]),
                instance_types=int(w["instance_types"]),
                nodepools=list(w["nodepools"]),
                cheapest=[
                    CheapOption(
                        nodepool=c["nodepool"],
                        instance_type=c["instance_type"],
                        capacity_type=c["capacity_type"],
                        zones=list(c["zones"]),
                        price_per_hour=float(c["price_per_hour"]),
                        pods_per_node=int(c["pods_per_node"]),
                        price_per_pod_hour=float(c["price_per_pod_hour"]),
                        limited_by=c.get("limited_by"),
                    )
                    for c in w["cheapest"]
                ],
                rejections=[
                    Rejection(
                        nodepool=r["nodepool"],
                        kind=str(r["reason"].get("kind", "")),
                        message=r["message"],
                        instance_types=int(r["instance_types"]),
                        examples=list(r["examples"]),
                        nodepool_only=bool(r["nodepool_only"]),
                        reason=dict(r["reason"]),
                    )
                    for r in w["rejections"]
                ],
            )
            for w in d["workloads"]
        ]
        return cls(
            region=d["region"],
            currency=d["currency"],
            notes=list(d["notes"]),
            warnings=list(d["warnings"]),
            default_nodepool=bool(d["default_nodepool"]),
            nodepools=_table(pools, NodePoolSummary.row, ["name", "weight", "requirements", "taints"]),
            pending_pods=int(d["pending_pods"]),
            workloads=_table(workloads, WorkloadExplanation.row, ["workload", "kind", "namespace", "name", "pods"]),
            raw=d,
        )

    @property
    def rejections(self) -> Table[tuple[str, Rejection]]:
        """Every rejection, with its workload: why each (NodePool, instance type) said no."""
        rows = [(w.workload, r) for w in self.workloads for r in w.rejections]

        def row(item: tuple[str, Rejection]) -> dict[str, Any]:
            workload, r = item
            return {
                "workload": workload,
                "nodepool": r.nodepool,
                "kind": r.kind,
                "instance_types": r.instance_types,
                "nodepool_only": r.nodepool_only,
                "message": r.message,
                "examples": ", ".join(r.examples),
            }

        columns = ["workload", "nodepool", "kind", "instance_types", "nodepool_only", "message", "examples"]
        return _table(rows, row, columns)

    @property
    def offerings(self) -> Table[tuple[str, CheapOption]]:
        """The cheapest places per workload, with the workload."""
        rows = [(w.workload, c) for w in self.workloads for c in w.cheapest]

        def row(item: tuple[str, CheapOption]) -> dict[str, Any]:
            workload, c = item
            return {
                "workload": workload,
                "nodepool": c.nodepool,
                "instance_type": c.instance_type,
                "capacity_type": c.capacity_type,
                "zones": ", ".join(c.zones),
                "price_per_hour": c.price_per_hour,
                "pods_per_node": c.pods_per_node,
                "price_per_pod_hour": c.price_per_pod_hour,
                "limited_by": c.limited_by,
            }

        columns = [
            "workload",
            "nodepool",
            "instance_type",
            "capacity_type",
            "zones",
            "price_per_hour",
            "pods_per_node",
            "price_per_pod_hour",
            "limited_by",
        ]
        return _table(rows, row, columns)

    def to_pandas(self) -> Any:
        """The workloads, one row each (``explanation.workloads.to_pandas()``): pods, whether
        they can be scheduled, candidates, the cheapest price per pod-hour, requests. Why not
        is ``explanation.rejections.to_pandas()``."""
        return self.workloads.to_pandas()

    def to_dict(self) -> dict[str, Any]:
        return self.raw


@dataclass(frozen=True)
class Candidate:
    """A node a consolidation command disrupts."""

    node: str
    nodepool: str
    instance_type: str
    zone: str
    capacity_type: str
    price_per_hour: float
    pods: int
    disruption_cost: float


@dataclass(frozen=True)
class Replacement:
    """A node a consolidation command launches."""

    name: str
    nodepool: str
    instance_type: str
    instance_types: list[str]
    zone: str
    capacity_type: str
    price_per_hour: float
    pods: list[str]


@dataclass(frozen=True)
class Move:
    """A pod that moves, and where to."""

    pod: str
    to: str


@dataclass(frozen=True)
class Command:
    """One disruption decision: candidates, replacements, the pods that move."""

    #: ``expiration``, ``emptiness``, ``drift``, ``multi-node``, ``single-node`` or ``global``.
    method: str
    #: ``Empty``, ``Underutilized``, ``Drifted`` or ``Expired``.
    reason: str
    #: ``delete`` or ``replace``.
    action: str
    candidates: list[Candidate]
    replacements: list[Replacement]
    moves: list[Move]
    savings_per_hour: float
    disruption_cost: float

    def row(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "reason": self.reason,
            "action": self.action,
            "nodes": len(self.candidates),
            "replacements": len(self.replacements),
            "moves": len(self.moves),
            "savings_per_hour": self.savings_per_hour,
            "disruption_cost": self.disruption_cost,
            "candidates": ", ".join(c.node for c in self.candidates),
            "replacement_types": ", ".join(r.instance_type for r in self.replacements),
        }


@dataclass(frozen=True)
class KeptNode:
    """A managed node no command touches, and why."""

    node: str
    nodepool: str
    reasons: list[str]

    def row(self) -> dict[str, Any]:
        return {"node": self.node, "nodepool": self.nodepool, "reasons": "; ".join(self.reasons)}


@dataclass(frozen=True)
class ConsolidationPlan:
    """Which nodes to delete or replace, in order, and why every other managed node stays."""

    mode: str
    now: str
    region: str
    currency: str
    commands: Table[Command]
    kept: Table[KeptNode]
    cost_per_hour_before: float
    cost_per_hour_after: float
    savings_per_hour: float
    #: What Karpenter's rules alone save on the same snapshot (``optimize``, ``global``).
    karpenter_savings_per_hour: float | None
    notes: list[str]
    #: What makes the answer incomplete: NodePools the nodes name that are not in the input,
    #: unpriced nodes, Windows nodes priced at Linux rates, pending pods not considered, a
    #: decision time before the snapshot, pods the input makes that are not counted.
    warnings: list[str]
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, text: str) -> ConsolidationPlan:
        d = json.loads(text)
        commands = [
            Command(
                method=c["method"],
                reason=c["reason"],
                action=c["action"],
                candidates=[Candidate(**x) for x in c["candidates"]],
                replacements=[Replacement(**x) for x in c["replacements"]],
                moves=[Move(**x) for x in c["moves"]],
                savings_per_hour=float(c["savings_per_hour"]),
                disruption_cost=float(c["disruption_cost"]),
            )
            for c in d["commands"]
        ]
        kept = [KeptNode(node=k["node"], nodepool=k["nodepool"], reasons=list(k["reasons"])) for k in d["kept"]]
        command_columns = ["method", "reason", "action", "nodes", "replacements", "moves", "savings_per_hour"]
        return cls(
            mode=d["mode"],
            now=d["now"],
            region=d["region"],
            currency=d["currency"],
            commands=_table(commands, Command.row, command_columns),
            kept=_table(kept, KeptNode.row, ["node", "nodepool", "reasons"]),
            cost_per_hour_before=float(d["cost_per_hour_before"]),
            cost_per_hour_after=float(d["cost_per_hour_after"]),
            savings_per_hour=float(d["savings_per_hour"]),
            karpenter_savings_per_hour=_optional_float(d.get("karpenter_savings_per_hour")),
            notes=list(d["notes"]),
            warnings=list(d["warnings"]),
            raw=d,
        )

    @property
    def disrupted(self) -> Table[tuple[int, Command, Candidate]]:
        """Every disrupted node: the command (by index), its method and reason, the node."""
        rows = [(i, c, n) for i, c in enumerate(self.commands) for n in c.candidates]

        def row(item: tuple[int, Command, Candidate]) -> dict[str, Any]:
            i, c, n = item
            return {
                "command": i,
                "method": c.method,
                "reason": c.reason,
                "action": c.action,
                "node": n.node,
                "nodepool": n.nodepool,
                "instance_type": n.instance_type,
                "capacity_type": n.capacity_type,
                "zone": n.zone,
                "price_per_hour": n.price_per_hour,
                "pods": n.pods,
                "disruption_cost": n.disruption_cost,
            }

        columns = ["command", "method", "reason", "action", "node", "nodepool", "instance_type", "capacity_type"]
        return _table(rows, row, columns + ["zone", "price_per_hour", "pods", "disruption_cost"])

    @property
    def moves(self) -> Table[tuple[int, Move]]:
        """Every pod that moves, with its command (by index) and destination."""
        rows = [(i, m) for i, c in enumerate(self.commands) for m in c.moves]
        return _table(rows, lambda r: {"command": r[0], "pod": r[1].pod, "to": r[1].to}, ["command", "pod", "to"])

    def to_pandas(self) -> Any:
        """The commands in order, one row each (``consolidation.commands.to_pandas()``).
        The nodes they disrupt are ``consolidation.disrupted.to_pandas()``, the pods that move
        ``consolidation.moves.to_pandas()``, the nodes kept ``consolidation.kept.to_pandas()``."""
        return self.commands.to_pandas()

    def to_dict(self) -> dict[str, Any]:
        return self.raw


@dataclass(frozen=True)
class Step:
    """The cluster at the end of one step of a simulation."""

    at: str
    cost_per_hour: float
    nodes: int
    instance_types: dict[str, int]
    spot_nodes: int
    on_demand_nodes: int
    pending_pods: int
    unschedulable_pods: int
    running_pods: int
    launches: int
    terminations: int
    evictions: int

    def row(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "instance_types"}
        out["instance_types"] = ", ".join(f"{t}×{n}" for t, n in sorted(self.instance_types.items()))
        return out


_STEP_COLUMNS = [
    "at",
    "cost_per_hour",
    "nodes",
    "spot_nodes",
    "on_demand_nodes",
    "pending_pods",
    "unschedulable_pods",
    "running_pods",
    "launches",
    "terminations",
    "evictions",
    "instance_types",
]


@dataclass(frozen=True)
class Totals:
    """A simulation's totals."""

    cost: float
    node_hours: float
    pending_pod_seconds: float
    launches: int
    terminations: int
    evictions: int
    max_nodes: int
    max_cost_per_hour: float


@dataclass(frozen=True)
class Timeline:
    """A simulated run: every step, and the totals."""

    options: dict[str, Any]
    currency: str
    steps: Table[Step]
    totals: Totals
    notes: list[str]
    #: Pods the input makes that are not counted.
    warnings: list[str]
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, text: str) -> Timeline:
        d = json.loads(text)
        steps = [Step(**s) for s in d["steps"]]
        return cls(
            options=dict(d["options"]),
            currency=d["currency"],
            steps=_table(steps, Step.row, _STEP_COLUMNS),
            totals=Totals(**d["totals"]),
            notes=list(d["notes"]),
            warnings=list(d["warnings"]),
            raw=d,
        )

    def to_pandas(self) -> Any:
        """The steps as a DataFrame indexed by time (``at``, UTC)."""
        frame = self.steps.to_pandas()
        pandas = require_pandas()
        frame["at"] = pandas.to_datetime(frame["at"], utc=True)
        return frame.set_index("at")

    def to_dict(self) -> dict[str, Any]:
        return self.raw


@dataclass(frozen=True)
class Sweep:
    """One value per scenario of :func:`fleetfit.sweep`, as numpy arrays."""

    replicas: Any
    requests: Any
    spot_share: Any
    family_set: Any
    families: list[list[str]]
    cost_per_hour: Any
    lower_bound_per_hour: Any
    nodes: Any
    spot_nodes: Any
    pods: Any
    unschedulable: Any

    def __len__(self) -> int:
        return len(self.cost_per_hour)

    def to_pandas(self) -> Any:
        """One row per scenario: its inputs (``families`` joined by commas) and results."""
        names = [",".join(self.families[i]) if i >= 0 else "" for i in self.family_set.tolist()]
        return frame(
            {
                "replicas": self.replicas,
                "requests": self.requests,
                "spot_share": self.spot_share,
                "families": names,
                "cost_per_hour": self.cost_per_hour,
                "lower_bound_per_hour": self.lower_bound_per_hour,
                "nodes": self.nodes,
                "spot_nodes": self.spot_nodes,
                "pods": self.pods,
                "unschedulable": self.unschedulable,
            }
        )


def _optional_float(v: Any) -> float | None:
    return None if v is None else float(v)
