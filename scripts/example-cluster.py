#!/usr/bin/env python3
"""Writes examples/cluster/snapshot.json: an over-provisioned example cluster for
`fleetfit consolidate`.

The snapshot has the shape of `kubectl get nodes,pods,pdb -A -o json` (a `kind: List`) and
shows a cluster on 2026-12-05T20:00:00Z, a Saturday evening, after a traffic drop. It has 16
nodes: 13 in the `general` NodePool (mostly m6i nodes each holding a few shop pods, one empty,
one c5.2xlarge that the pool's `instance-generation > 5` no longer allows, one holding a
`karpenter.sh/do-not-disrupt` Job pod, one whose redis pod a PodDisruptionBudget protects,
one whose newest pod is 30 seconds old), one `batch` node past its pool's 24h expireAfter,
one `gpu` node, and one node of an EKS managed node group that Karpenter does not manage. The
NodePools are in examples/nodepools.yaml; examples/cluster/README.md describes the cluster.

Each node's capacity and allocatable (cpu, memory, pods) come from
core/data/ec2-instance-types.csv. Its ephemeral storage is worked out from its root volume
(the EC2NodeClass's volumeSize; 20 GiB for the managed node group) as Karpenter does:
allocatable = volume - 10% (eviction threshold) - 1 GiB (kube-reserved), which gives the
CSV's 17 GiB for a 20 GiB volume.

The output is deterministic: names, UIDs, instance IDs and hashes are derived from the
objects' names, never drawn at random. Re-run after changing this script (standard library
only, Python 3.9 or later), from anywhere in the repository:

    python3 scripts/example-cluster.py
"""

import csv
import hashlib
import json
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

REPO = Path(__file__).resolve().parent.parent
CATALOG = REPO / "core" / "data" / "ec2-instance-types.csv"
OUTPUT = REPO / "examples" / "cluster" / "snapshot.json"

NOW = datetime(2026, 12, 5, 20, 0, 0, tzinfo=timezone.utc)
REGION = "us-east-1"
ZONES = {"a": "us-east-1a", "b": "us-east-1b", "c": "us-east-1c"}
# The third octet of a node's address and name, by zone (one private subnet per zone).
SUBNETS = {"a": 1, "b": 2, "c": 3}

KUBELET_VERSION = "v1.31.2-eks-94953ac"
OS_IMAGE = "Amazon Linux 2023.6.20241121"
KERNEL = "6.1.115-126.197.amzn2023"
CONTAINERD = "containerd://1.7.23"

Obj = Dict[str, Any]

# What examples/nodepools.yaml gives each NodePool's nodes: template labels, taints, and the
# EC2NodeClass (whose root volume size sets the ephemeral storage).
NODEPOOLS: Dict[str, Obj] = {
    "general": {"labels": {"team": "platform"}, "taints": [], "nodeclass": "default"},
    "gpu": {
        "labels": {},
        "taints": [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}],
        "nodeclass": "gpu",
    },
    "batch": {
        "labels": {"workload-class": "batch"},
        "taints": [{"key": "workload-class", "value": "batch", "effect": "NoSchedule"}],
        "nodeclass": "default",
    },
}
VOLUME_GIB = {"default": 50, "gpu": 200}
# EKS managed node groups default to a 20 GiB root volume.
NODEGROUP_VOLUME_GIB = 20

# The nodes: (host octet, zone, instance type, capacity type, NodePool or None for the
# managed node group, age).
NODES: List[Tuple[int, str, str, str, Optional[str], timedelta]] = [
    (11, "a", "m6i.2xlarge", "on-demand", "general", timedelta(days=5, hours=22, minutes=46, seconds=13)),
    (12, "b", "m6i.2xlarge", "on-demand", "general", timedelta(days=5, hours=22, minutes=45, seconds=41)),
    (13, "c", "m6i.xlarge", "on-demand", "general", timedelta(days=4, hours=21, minutes=12, seconds=5)),
    (14, "a", "m6i.xlarge", "on-demand", "general", timedelta(days=4, hours=1, minutes=37, seconds=52)),
    (15, "c", "m6i.2xlarge", "on-demand", "general", timedelta(days=3, hours=23, minutes=58, seconds=20)),
    (16, "b", "c6i.4xlarge", "spot", "general", timedelta(days=3, hours=1, minutes=4, seconds=33)),
    (17, "a", "m6i.4xlarge", "on-demand", "general", timedelta(days=2, hours=22, minutes=15, seconds=9)),
    (18, "b", "m6i.xlarge", "on-demand", "general", timedelta(days=2, hours=7, minutes=3, seconds=44)),
    (19, "c", "m6i.xlarge", "on-demand", "general", timedelta(days=2, hours=2, minutes=29, seconds=18)),
    (20, "a", "r6i.xlarge", "on-demand", "general", timedelta(days=5, hours=20, minutes=1, seconds=57)),
    (21, "b", "c5.2xlarge", "on-demand", "general", timedelta(days=5, hours=16, minutes=22, seconds=30)),
    (22, "c", "m6g.xlarge", "spot", "general", timedelta(days=2, hours=12, minutes=40, seconds=2)),
    (23, "b", "m6i.xlarge", "on-demand", "general", timedelta(days=2, hours=1, minutes=11, seconds=26)),
    (24, "a", "c6i.2xlarge", "spot", "batch", timedelta(hours=30)),
    (25, "b", "g5.xlarge", "on-demand", "gpu", timedelta(days=4, hours=3, minutes=50, seconds=15)),
    (8, "a", "m5.large", "on-demand", None, timedelta(days=5, hours=23, minutes=31, seconds=48)),
]

# The shop's Deployments: (cpu, memory) requested by their one container.
SHOP: Dict[str, Tuple[str, str]] = {
    "frontend": ("500m", "512Mi"),
    "api": ("1", "1Gi"),
    "checkout": ("500m", "1Gi"),
    "catalog": ("500m", "2Gi"),
    "cart": ("250m", "256Mi"),
    "search": ("1", "2Gi"),
    "worker": ("2", "4Gi"),
}

# Pods that are not DaemonSet pods, by node host octet: (kind, name, age). Kinds are the shop
# Deployments above, and "report", "redis", "batch", "inference", "coredns".
PODS: Dict[int, List[Tuple[str, timedelta]]] = {
    11: [
        ("frontend", timedelta(days=5, hours=22, minutes=47)),
        ("api", timedelta(days=5, hours=22, minutes=47)),
        ("checkout", timedelta(days=3, hours=6, minutes=12, seconds=40)),
    ],
    12: [
        ("frontend", timedelta(days=5, hours=22, minutes=46, seconds=30)),
        ("catalog", timedelta(days=4, hours=18, minutes=2, seconds=11)),
        ("cart", timedelta(days=1, hours=9, minutes=25, seconds=3)),
    ],
    13: [
        ("frontend", timedelta(days=4, hours=21, minutes=12, seconds=50)),
        ("api", timedelta(days=2, hours=14, minutes=51, seconds=36)),
    ],
    14: [
        ("catalog", timedelta(days=4, hours=1, minutes=38, seconds=30)),
        ("checkout", timedelta(hours=20, minutes=7, seconds=19)),
    ],
    15: [
        ("catalog", timedelta(days=3, hours=23, minutes=59, seconds=1)),
        ("cart", timedelta(days=3, hours=23, minutes=59, seconds=1)),
    ],
    16: [("search", timedelta(days=3, hours=1, minutes=5, seconds=14))],
    17: [("worker", timedelta(days=2, hours=22, minutes=15, seconds=52))],
    18: [],
    19: [("report", timedelta(hours=2))],
    20: [("redis", timedelta(days=5, hours=20, minutes=2, seconds=40))],
    21: [("api", timedelta(days=5, hours=16, minutes=23, seconds=12))],
    22: [("cart", timedelta(days=2, hours=12, minutes=40, seconds=45))],
    23: [
        ("api", timedelta(days=2, hours=1, minutes=12, seconds=8)),
        ("checkout", timedelta(seconds=30)),
    ],
    24: [("batch", timedelta(hours=30, seconds=-41))],
    25: [("inference", timedelta(days=4, hours=3, minutes=50, seconds=58))],
    8: [
        ("coredns", timedelta(days=5, hours=23, minutes=33, seconds=2)),
        ("coredns", timedelta(days=5, hours=23, minutes=33, seconds=2)),
    ],
}

# Kubernetes' alphabet for generated name suffixes and pod-template hashes.
ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
UID_NAMESPACE = uuid.UUID("6f1c3a52-9d0e-4b8e-a7d4-2c5e8b1f0a93")


def digest(*parts: str) -> bytes:
    return hashlib.sha256("/".join(parts).encode()).digest()


def suffix(length: int, *parts: str) -> str:
    """A generated-name suffix (such as a pod's `-x2k4p`), fixed by `parts`."""
    return "".join(ALPHABET[b % len(ALPHABET)] for b in digest(*parts)[:length])


def uid(kind: str, namespace: str, name: str) -> str:
    return str(uuid.uuid5(UID_NAMESPACE, f"{kind}/{namespace}/{name}"))


def instance_id(node: str) -> str:
    """An EC2 instance ID: `i-` and 17 hex digits."""
    return "i-0" + digest("instance", node).hex()[:16]


def timestamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def load_catalog() -> Dict[str, Dict[str, str]]:
    with CATALOG.open(newline="") as f:
        return {row["name"]: row for row in csv.DictReader(f)}


def ephemeral_allocatable_bytes(volume_gib: int) -> int:
    """Karpenter's allocatable ephemeral storage: the volume less the 10% eviction threshold
    and 1 GiB kube-reserved."""
    return (volume_gib * 2**30 * 9) // 10 - 2**30


def owner(api_version: str, kind: str, namespace: str, name: str) -> Obj:
    return {
        "apiVersion": api_version,
        "kind": kind,
        "name": name,
        "uid": uid(kind, namespace, name),
        "controller": True,
        "blockOwnerDeletion": True,
    }


def node_object(
    host: int, zone: str, instance: Dict[str, str], capacity_type: str, pool: Optional[str], age: timedelta
) -> Obj:
    octet = SUBNETS[zone]
    ip = f"10.0.{octet}.{host}"
    name = f"ip-10-0-{octet}-{host}.ec2.internal"
    created = NOW - age
    arch = instance["arch"]
    labels: Dict[str, str] = {
        "kubernetes.io/hostname": name,
        "kubernetes.io/arch": arch,
        "kubernetes.io/os": instance["os"],
        "node.kubernetes.io/instance-type": instance["name"],
        "topology.kubernetes.io/zone": ZONES[zone],
        "topology.kubernetes.io/region": REGION,
    }
    annotations = {
        "alpha.kubernetes.io/provided-node-ip": ip,
        "node.alpha.kubernetes.io/ttl": "0",
        "volumes.kubernetes.io/controller-managed-attach-detach": "true",
    }
    metadata: Obj = {"name": name, "uid": uid("Node", "", name), "creationTimestamp": timestamp(created)}
    spec: Obj = {"providerID": f"aws:///{ZONES[zone]}/{instance_id(name)}"}
    if pool is not None:
        nodepool = NODEPOOLS[pool]
        labels.update(
            {
                "karpenter.sh/capacity-type": capacity_type,
                "karpenter.sh/nodepool": pool,
                "karpenter.sh/initialized": "true",
                "karpenter.sh/registered": "true",
                "karpenter.k8s.aws/ec2nodeclass": nodepool["nodeclass"],
                "karpenter.k8s.aws/instance-category": instance["category"],
                "karpenter.k8s.aws/instance-family": instance["family"],
                "karpenter.k8s.aws/instance-generation": instance["generation"],
                "karpenter.k8s.aws/instance-size": instance["size"],
                "karpenter.k8s.aws/instance-cpu": instance["vcpu"],
                "karpenter.k8s.aws/instance-memory": instance["memory_mib"],
            }
        )
        if instance["gpu_count"]:
            labels.update(
                {
                    "karpenter.k8s.aws/instance-gpu-count": instance["gpu_count"],
                    "karpenter.k8s.aws/instance-gpu-manufacturer": instance["gpu_manufacturer"],
                    "karpenter.k8s.aws/instance-gpu-memory": instance["gpu_memory_mib"],
                    "karpenter.k8s.aws/instance-gpu-name": instance["gpu_name"],
                }
            )
        labels.update(nodepool["labels"])
        claim = f"{pool}-{suffix(5, 'nodeclaim', name)}"
        metadata["finalizers"] = ["karpenter.sh/termination"]
        metadata["ownerReferences"] = [
            {
                "apiVersion": "karpenter.sh/v1",
                "kind": "NodeClaim",
                "name": claim,
                "uid": uid("NodeClaim", "", claim),
                "blockOwnerDeletion": True,
            }
        ]
        if nodepool["taints"]:
            spec["taints"] = [dict(t) for t in nodepool["taints"]]
        volume = VOLUME_GIB[nodepool["nodeclass"]]
    else:
        labels.update(
            {
                "eks.amazonaws.com/capacityType": "ON_DEMAND",
                "eks.amazonaws.com/nodegroup": "system",
                "eks.amazonaws.com/nodegroup-image": "ami-0c3a5e1b8f2d47a96",
            }
        )
        volume = NODEGROUP_VOLUME_GIB
    metadata["labels"] = labels
    metadata["annotations"] = annotations

    capacity = {
        "cpu": instance["vcpu"],
        "ephemeral-storage": f"{volume * 1024 * 1024}Ki",
        "hugepages-1Gi": "0",
        "hugepages-2Mi": "0",
        "memory": f"{int(instance['memory_mib']) * 1024}Ki",
        "pods": instance["pods"],
    }
    allocatable = {
        "cpu": f"{instance['allocatable_cpu_millicores']}m",
        "ephemeral-storage": str(ephemeral_allocatable_bytes(volume)),
        "hugepages-1Gi": "0",
        "hugepages-2Mi": "0",
        "memory": f"{instance['allocatable_memory_mib']}Mi",
        "pods": instance["pods"],
    }
    if instance["nvidia_gpu"]:
        capacity["nvidia.com/gpu"] = instance["nvidia_gpu"]
        allocatable["nvidia.com/gpu"] = instance["nvidia_gpu"]

    ready_at = timestamp(created + timedelta(seconds=38))
    heartbeat = timestamp(NOW - timedelta(seconds=17 + host % 23))

    def condition(kind: str, status: str, reason: str, message: str) -> Obj:
        return {
            "type": kind,
            "status": status,
            "lastHeartbeatTime": heartbeat,
            "lastTransitionTime": ready_at if kind == "Ready" else timestamp(created + timedelta(seconds=9)),
            "reason": reason,
            "message": message,
        }

    machine = "x86_64" if arch == "amd64" else "aarch64"
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": metadata,
        "spec": spec,
        "status": {
            "addresses": [
                {"type": "InternalIP", "address": ip},
                {"type": "InternalDNS", "address": name},
                {"type": "Hostname", "address": name},
            ],
            "capacity": capacity,
            "allocatable": allocatable,
            "conditions": [
                condition(
                    "MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"
                ),
                condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                condition("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "architecture": arch,
                "containerRuntimeVersion": CONTAINERD,
                "kernelVersion": f"{KERNEL}.{machine}",
                "kubeProxyVersion": KUBELET_VERSION,
                "kubeletVersion": KUBELET_VERSION,
                "operatingSystem": instance["os"],
                "osImage": OS_IMAGE,
            },
        },
    }


# Tolerations admission adds to every pod.
DEFAULT_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
]

# Tolerations the DaemonSet controller adds to its pods.
DAEMONSET_TOLERATIONS = [
    {"operator": "Exists"},
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/network-unavailable", "operator": "Exists", "effect": "NoSchedule"},
]


class Pods:
    """Builds pods, numbering their IPs per node."""

    def __init__(self) -> None:
        self.next_ip: Dict[str, int] = {}

    def pod_ip(self, node: Obj) -> str:
        host_ip = node["status"]["addresses"][0]["address"]
        prefix, host = host_ip.rsplit(".", 1)
        k = self.next_ip.get(host_ip, 0)
        self.next_ip[host_ip] = k + 1
        # Each node's pods take addresses 100 + 8 * (host - 8) onwards in its subnet.
        return f"{prefix}.{100 + 8 * (int(host) - 8) + k}"

    def pod(
        self,
        node: Obj,
        namespace: str,
        name: str,
        created: datetime,
        labels: Dict[str, str],
        owner_ref: Obj,
        containers: List[Obj],
        *,
        annotations: Optional[Dict[str, str]] = None,
        tolerations: Optional[List[Obj]] = None,
        extra_spec: Optional[Obj] = None,
        restart_policy: str = "Always",
        priority: int = 0,
        priority_class: Optional[str] = None,
        host_network: bool = False,
        qos: str = "Burstable",
    ) -> Obj:
        node_name = node["metadata"]["name"]
        host_ip = node["status"]["addresses"][0]["address"]
        pod_ip = host_ip if host_network else self.pod_ip(node)
        metadata: Obj = {
            "name": name,
            "generateName": name[: name.rfind("-") + 1],
            "namespace": namespace,
            "uid": uid("Pod", namespace, name),
            "creationTimestamp": timestamp(created),
            "labels": labels,
        }
        if annotations:
            metadata["annotations"] = annotations
        metadata["ownerReferences"] = [owner_ref]
        spec: Obj = {"containers": []}
        for c in containers:
            spec["containers"].append(
                {
                    **c,
                    "terminationMessagePath": "/dev/termination-log",
                    "terminationMessagePolicy": "File",
                    "imagePullPolicy": "IfNotPresent",
                }
            )
        spec.update(extra_spec or {})
        spec.update(
            {
                "restartPolicy": restart_policy,
                "terminationGracePeriodSeconds": 30,
                "dnsPolicy": "ClusterFirst",
                "serviceAccountName": "default",
                "serviceAccount": "default",
                "nodeName": node_name,
                "securityContext": {},
                "schedulerName": "default-scheduler",
                "tolerations": tolerations if tolerations is not None else [dict(t) for t in DEFAULT_TOLERATIONS],
            }
        )
        if host_network:
            spec["hostNetwork"] = True
        if priority_class:
            spec["priorityClassName"] = priority_class
        spec["priority"] = priority
        spec["enableServiceLinks"] = True
        spec["preemptionPolicy"] = "PreemptLowerPriority"

        # A pod created before its node (the pending pod Karpenter launched the node for) is
        # scheduled once the node is Ready; DaemonSet pods (host network) tolerate the node's
        # not-ready taint and start before.
        scheduled = created
        if not host_network:
            scheduled = max(created, parse_time(node["status"]["conditions"][-1]["lastTransitionTime"]))
        started = scheduled + timedelta(seconds=4)
        ready = scheduled + timedelta(seconds=9)

        def condition(kind: str, at: datetime) -> Obj:
            return {"type": kind, "status": "True", "lastProbeTime": None, "lastTransitionTime": timestamp(at)}

        status = {
            "phase": "Running",
            "conditions": [
                condition("PodReadyToStartContainers", started),
                condition("Initialized", scheduled + timedelta(seconds=1)),
                condition("Ready", ready),
                condition("ContainersReady", ready),
                condition("PodScheduled", scheduled),
            ],
            "hostIP": host_ip,
            "hostIPs": [{"ip": host_ip}],
            "podIP": pod_ip,
            "podIPs": [{"ip": pod_ip}],
            "startTime": timestamp(scheduled + timedelta(seconds=1)),
            "containerStatuses": [
                {
                    "name": c["name"],
                    "image": c["image"],
                    "imageID": c["image"].split(":")[0] + "@sha256:" + digest("image", c["image"]).hex(),
                    "containerID": "containerd://" + digest("container", namespace, name, c["name"]).hex(),
                    "ready": True,
                    "started": True,
                    "restartCount": 0,
                    "state": {"running": {"startedAt": timestamp(started)}},
                }
                for c in containers
            ],
            "qosClass": qos,
        }
        return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec, "status": status}


def container(
    name: str, image: str, cpu: str, memory: str, port: Optional[int] = None, extra: Optional[Dict[str, str]] = None
) -> Obj:
    """A container requesting `cpu` and `memory` (its memory limit too) and `extra` resources
    (requested and limited alike, as extended resources must be)."""
    c: Obj = {"name": name, "image": image}
    if port is not None:
        c["ports"] = [{"containerPort": port, "protocol": "TCP"}]
    requests = {"cpu": cpu, "memory": memory, **(extra or {})}
    limits = {"memory": memory, **(extra or {})}
    c["resources"] = {"limits": limits, "requests": requests}
    return c


def template_hash(namespace: str, workload: str) -> str:
    return suffix(10, "pod-template-hash", namespace, workload)


def workload_pods(pods: Pods, node: Obj, kind: str, created: datetime, seen: Dict[str, int]) -> Obj:
    """The pod of `kind` on `node` (see PODS)."""
    seen[kind] = seen.get(kind, 0) + 1
    serial = str(seen[kind])
    node_name = node["metadata"]["name"]
    if kind in SHOP:
        cpu, memory = SHOP[kind]
        rs = f"{kind}-{template_hash('shop', kind)}"
        name = f"{rs}-{suffix(5, 'pod', rs, serial)}"
        labels = {
            "app.kubernetes.io/name": kind,
            "app.kubernetes.io/part-of": "shop",
            "pod-template-hash": rs.rsplit("-", 1)[1],
        }
        image = f"registry.example.com/shop/{kind}:1.4.2"
        return pods.pod(
            node,
            "shop",
            name,
            created,
            labels,
            owner("apps/v1", "ReplicaSet", "shop", rs),
            [container(kind, image, cpu, memory, 8080)],
        )
    if kind == "redis":
        name = f"redis-{seen[kind] - 1}"
        labels = {
            "app.kubernetes.io/name": "redis",
            "app.kubernetes.io/part-of": "shop",
            "apps.kubernetes.io/pod-index": str(seen[kind] - 1),
            "controller-revision-hash": f"redis-{template_hash('shop', 'redis')}",
            "statefulset.kubernetes.io/pod-name": name,
        }
        c = container("redis", "redis:7.4", "1", "8Gi", 6379)
        c["volumeMounts"] = [{"name": "data", "mountPath": "/data"}]
        pod = pods.pod(
            node,
            "shop",
            name,
            created,
            labels,
            owner("apps/v1", "StatefulSet", "shop", "redis"),
            [c],
            extra_spec={"volumes": [{"name": "data", "emptyDir": {}}], "hostname": name, "subdomain": "redis"},
        )
        # A StatefulSet names its pods itself.
        del pod["metadata"]["generateName"]
        return pod
    if kind == "report":
        # A CronJob's Job is named after its scheduled time in minutes since the epoch.
        job = f"report-{int(created.timestamp()) // 60}"
        name = f"{job}-{suffix(5, 'pod', job)}"
        job_uid = uid("Job", "shop", job)
        labels = {
            "batch.kubernetes.io/controller-uid": job_uid,
            "batch.kubernetes.io/job-name": job,
            "controller-uid": job_uid,
            "job-name": job,
        }
        return pods.pod(
            node,
            "shop",
            name,
            created,
            labels,
            owner("batch/v1", "Job", "shop", job),
            [container("report", "registry.example.com/shop/report:1.4.2", "1", "2Gi")],
            annotations={"karpenter.sh/do-not-disrupt": "true"},
            restart_policy="Never",
        )
    if kind == "batch":
        job = "backfill-orders"
        name = f"{job}-{suffix(5, 'pod', job)}"
        job_uid = uid("Job", "batch", job)
        labels = {
            "batch.kubernetes.io/controller-uid": job_uid,
            "batch.kubernetes.io/job-name": job,
            "controller-uid": job_uid,
            "job-name": job,
        }
        tolerations = [{"key": "workload-class", "operator": "Equal", "value": "batch", "effect": "NoSchedule"}]
        return pods.pod(
            node,
            "batch",
            name,
            created,
            labels,
            owner("batch/v1", "Job", "batch", job),
            [container("backfill", "registry.example.com/batch/backfill:0.9.0", "2", "4Gi")],
            tolerations=tolerations + [dict(t) for t in DEFAULT_TOLERATIONS],
            extra_spec={"nodeSelector": {"workload-class": "batch"}},
            restart_policy="Never",
        )
    if kind == "inference":
        rs = f"inference-{template_hash('ml', 'inference')}"
        name = f"{rs}-{suffix(5, 'pod', rs, serial)}"
        labels = {"app.kubernetes.io/name": "inference", "pod-template-hash": rs.rsplit("-", 1)[1]}
        tolerations = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
        return pods.pod(
            node,
            "ml",
            name,
            created,
            labels,
            owner("apps/v1", "ReplicaSet", "ml", rs),
            [
                container(
                    "inference", "registry.example.com/ml/inference:3.2.0", "2", "8Gi", 8000, {"nvidia.com/gpu": "1"}
                )
            ],
            tolerations=tolerations + [dict(t) for t in DEFAULT_TOLERATIONS],
        )
    if kind == "coredns":
        rs = f"coredns-{template_hash('kube-system', 'coredns')}"
        name = f"{rs}-{suffix(5, 'pod', rs, serial)}"
        labels = {
            "eks.amazonaws.com/component": "coredns",
            "k8s-app": "kube-dns",
            "pod-template-hash": rs.rsplit("-", 1)[1],
        }
        image = "602401143452.dkr.ecr.us-east-1.amazonaws.com/eks/coredns:v1.11.3-eksbuild.2"
        c = container("coredns", image, "100m", "70Mi", 53)
        c["resources"]["limits"]["memory"] = "170Mi"
        tolerations = [
            {"key": "CriticalAddonsOnly", "operator": "Exists"},
            {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"},
        ]
        return pods.pod(
            node,
            "kube-system",
            name,
            created,
            labels,
            owner("apps/v1", "ReplicaSet", "kube-system", rs),
            [c],
            tolerations=tolerations + [dict(t) for t in DEFAULT_TOLERATIONS],
            priority=2000000000,
            priority_class="system-cluster-critical",
        )
    raise ValueError(f"unknown pod kind {kind!r} on {node_name}")


def daemonset_pod(pods: Pods, node: Obj, daemonset: str, cpu: str, memory: str) -> Obj:
    node_name = node["metadata"]["name"]
    name = f"{daemonset}-{suffix(5, 'pod', daemonset, node_name)}"
    created = parse_time(node["metadata"]["creationTimestamp"]) + timedelta(seconds=21)
    labels = {
        "controller-revision-hash": suffix(10, "controller-revision-hash", daemonset),
        "k8s-app": daemonset,
        "pod-template-generation": "1",
    }
    image = {
        "aws-node": "602401143452.dkr.ecr.us-east-1.amazonaws.com/amazon-k8s-cni:v1.18.5-eksbuild.1",
        "kube-proxy": "602401143452.dkr.ecr.us-east-1.amazonaws.com/eks/kube-proxy:v1.31.2-minimal-eksbuild.3",
    }[daemonset]
    c: Obj = {"name": daemonset, "image": image, "resources": {"requests": {"cpu": cpu, "memory": memory}}}
    affinity = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node_name]}]}
                ]
            }
        }
    }
    return pods.pod(
        node,
        "kube-system",
        name,
        created,
        labels,
        owner("apps/v1", "DaemonSet", "kube-system", daemonset),
        [c],
        tolerations=[dict(t) for t in DAEMONSET_TOLERATIONS],
        extra_spec={"affinity": affinity},
        priority=2000001000,
        priority_class="system-node-critical",
        host_network=True,
    )


def pdb(name: str, created: datetime, selects: str, pods: List[Obj], **spec: int) -> Obj:
    """A policy/v1 PodDisruptionBudget over the pods labelled app.kubernetes.io/name=`selects`,
    with the status the disruption controller would give it."""
    matching = [p for p in pods if p["metadata"]["labels"].get("app.kubernetes.io/name") == selects]
    expected = len(matching)
    healthy = sum(1 for p in matching if p["status"]["phase"] == "Running")
    if "minAvailable" in spec:
        desired = spec["minAvailable"]
    else:
        desired = max(expected - spec["maxUnavailable"], 0)
    allowed = max(healthy - desired, 0)
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {
            "name": name,
            "namespace": "shop",
            "uid": uid("PodDisruptionBudget", "shop", name),
            "generation": 1,
            "creationTimestamp": timestamp(created),
        },
        "spec": {**spec, "selector": {"matchLabels": {"app.kubernetes.io/name": selects}}},
        "status": {
            "conditions": [
                {
                    "type": "DisruptionAllowed",
                    "status": "True" if allowed > 0 else "False",
                    "reason": "SufficientPods" if allowed > 0 else "InsufficientPods",
                    "message": "",
                    "observedGeneration": 1,
                    "lastTransitionTime": timestamp(created + timedelta(seconds=30)),
                }
            ],
            "currentHealthy": healthy,
            "desiredHealthy": desired,
            "disruptionsAllowed": allowed,
            "expectedPods": expected,
            "observedGeneration": 1,
        },
    }


def build() -> Obj:
    catalog = load_catalog()
    # The formula must give the CSV's figure for the 20 GiB volume its figures assume.
    assert ephemeral_allocatable_bytes(20) == int(catalog["m5.large"]["ephemeral_storage_gib"]) * 2**30
    pods = Pods()
    nodes: List[Obj] = []
    app_pods: List[Obj] = []
    system_pods: List[Obj] = []
    seen: Dict[str, int] = {}
    for host, zone, instance_type, capacity_type, pool, age in NODES:
        node = node_object(host, zone, catalog[instance_type], capacity_type, pool, age)
        nodes.append(node)
        system_pods.append(daemonset_pod(pods, node, "aws-node", "25m", "64Mi"))
        system_pods.append(daemonset_pod(pods, node, "kube-proxy", "100m", "128Mi"))
        for kind, pod_age in PODS[host]:
            assert pod_age >= timedelta(hours=1) or pod_age == timedelta(seconds=30), (kind, host)
            app_pods.append(workload_pods(pods, node, kind, NOW - pod_age, seen))
    all_pods = sorted(system_pods + app_pods, key=lambda p: (p["metadata"]["namespace"], p["metadata"]["name"]))
    names = [(p["metadata"]["namespace"], p["metadata"]["name"]) for p in all_pods]
    assert len(set(names)) == len(names), "pod names must be unique"
    pdbs = [
        pdb("frontend-pdb", NOW - timedelta(days=41, hours=3), "frontend", all_pods, maxUnavailable=1),
        pdb("redis-pdb", NOW - timedelta(days=41, hours=3), "redis", all_pods, minAvailable=1),
    ]
    return {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": nodes + all_pods + pdbs}


def main() -> None:
    snapshot = build()
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps(snapshot, indent=2) + "\n")
    kinds: Dict[str, int] = {}
    for item in snapshot["items"]:
        kinds[item["kind"]] = kinds.get(item["kind"], 0) + 1
    summary = ", ".join(f"{n} {kind}s" for kind, n in kinds.items())
    print(f"wrote {OUTPUT.relative_to(REPO)}: {summary}")


if __name__ == "__main__":
    main()
