#!/usr/bin/env python3
"""Writes core/src/manifest/schema.json: the field names of every object kind fleetfit reads,
taken from the published API definitions, so that a misspelt field is an error (as with
`kubectl apply`'s strict field validation) instead of a silently different plan.

Sources, fetched from the Go module proxy (facts only; no code is used):
  k8s.io/kubernetes v1.37.2                 api/openapi-spec/swagger.json
  sigs.k8s.io/karpenter v1.14.3             pkg/apis/crds/karpenter.sh_nodepools.yaml, karpenter.sh_nodeclaims.yaml
  github.com/aws/karpenter-provider-aws v1.14.1  pkg/apis/crds/karpenter.k8s.aws_ec2nodeclasses.yaml
  github.com/aws/karpenter-provider-aws v1.0.8   the same two CRDs, for their v1beta1 schemas

Usage: scripts/kube-schema.py [CACHE_DIR]   (downloads go to ~/.cache/fleetfit-schema)

The output is compact: `types` maps a type name to {field: type expression}; a type
expression is "" (a scalar), "*" (anything: free-form or not checked), a type name, "[T]" (a
list of T) or "{T}" (a map from strings to T). `kinds` maps "group/version/Kind" (group empty
for the core API) to the type of the whole object.
"""

import io
import json
import os
import sys
import urllib.request
import zipfile

import yaml

PROXY = "https://proxy.golang.org"
SOURCES = {
    "kubernetes": ("k8s.io/kubernetes", "v1.37.2"),
    "karpenter": ("sigs.k8s.io/karpenter", "v1.14.3"),
    "aws": ("github.com/aws/karpenter-provider-aws", "v1.14.1"),
    "aws-v1beta1": ("github.com/aws/karpenter-provider-aws", "v1.0.8"),
}

# The Kubernetes kinds fleetfit reads (group/version/Kind); older versions of the same kind are
# checked against these.
KUBE_KINDS = [
    "/v1/Pod",
    "/v1/Node",
    "/v1/PersistentVolumeClaim",
    "/v1/PersistentVolume",
    "/v1/ReplicationController",
    "apps/v1/Deployment",
    "apps/v1/ReplicaSet",
    "apps/v1/StatefulSet",
    "apps/v1/DaemonSet",
    "batch/v1/Job",
    "batch/v1/CronJob",
    "storage.k8s.io/v1/StorageClass",
    "policy/v1/PodDisruptionBudget",
    "scheduling.k8s.io/v1/PriorityClass",
    "autoscaling/v2/HorizontalPodAutoscaler",
    "autoscaling/v1/HorizontalPodAutoscaler",
]

OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
# Read by fleetfit only where it says (status.phase, conditions, ...); a newer cluster's
# status fields must not make its snapshot unreadable.
OPAQUE_FIELDS = {"status", "managedFields"}


def module_zip(cache, key):
    module, version = SOURCES[key]
    path = os.path.join(cache, f"{module.replace('/', '_')}@{version}.zip")
    if not os.path.exists(path):
        os.makedirs(cache, exist_ok=True)
        url = f"{PROXY}/{module.lower()}/@v/{version}.zip"
        with urllib.request.urlopen(url) as response:
            data = response.read()
        with open(path + ".part", "wb") as f:
            f.write(data)
        os.replace(path + ".part", path)
    return zipfile.ZipFile(path), f"{module}@{version}/"


def read_member(cache, key, member):
    archive, prefix = module_zip(cache, key)
    with archive.open(prefix + member) as f:
        return f.read()


class Builder:
    def __init__(self):
        self.types = {}

    # --- swagger (Kubernetes) ---
    def swagger(self, definitions):
        self.definitions = definitions

    def swagger_expr(self, schema):
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            definition = self.definitions[name]
            if "properties" not in definition:
                return "*" if definition.get("type") == "object" else ""
            self.swagger_type(name)
            return name
        kind = schema.get("type")
        if kind == "array":
            return "[" + self.swagger_expr(schema["items"]) + "]"
        if kind == "object":
            if "additionalProperties" in schema:
                return "{" + self.swagger_expr(schema["additionalProperties"]) + "}"
            return "*"
        return ""

    def swagger_type(self, name):
        if name in self.types:
            return
        self.types[name] = None  # placed first, so cycles end
        fields = {}
        for field, schema in sorted(self.definitions[name].get("properties", {}).items()):
            fields[field] = "*" if field in OPAQUE_FIELDS else self.swagger_expr(schema)
        self.types[name] = fields

    # --- CRD openAPIV3Schema (Karpenter) ---
    def crd_expr(self, schema, name, root=False):
        if schema.get("x-kubernetes-preserve-unknown-fields"):
            return "*"
        kind = schema.get("type")
        if kind == "array":
            return "[" + self.crd_expr(schema.get("items", {}), name + "[]") + "]"
        if kind == "object" or "properties" in schema:
            props = schema.get("properties")
            if props is None:
                extra = schema.get("additionalProperties")
                if isinstance(extra, dict):
                    return "{" + self.crd_expr(extra, name + "{}") + "}"
                return "*"
            fields = {}
            for field, sub in sorted(props.items()):
                if field in OPAQUE_FIELDS:
                    fields[field] = "*"
                elif root and field == "metadata":
                    self.swagger_type(OBJECT_META)
                    fields[field] = OBJECT_META
                elif root and field in ("apiVersion", "kind"):
                    fields[field] = ""
                else:
                    fields[field] = self.crd_expr(sub, f"{name}.{field}")
            self.types[name] = fields
            return name
        return ""


def main():
    cache = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser("~/.cache/fleetfit-schema")
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "core", "src", "manifest", "schema.json")
    swagger = json.loads(read_member(cache, "kubernetes", "api/openapi-spec/swagger.json"))
    builder = Builder()
    builder.swagger(swagger["definitions"])
    by_gvk = {}
    for name, definition in swagger["definitions"].items():
        for gvk in definition.get("x-kubernetes-group-version-kind", []):
            by_gvk[f"{gvk['group']}/{gvk['version']}/{gvk['kind']}"] = name
    kinds = {}
    for gvk in KUBE_KINDS:
        name = by_gvk[gvk]
        builder.swagger_type(name)
        kinds[gvk] = name

    crds = [
        ("karpenter", "pkg/apis/crds/karpenter.sh_nodepools.yaml", {"v1"}),
        ("karpenter", "pkg/apis/crds/karpenter.sh_nodeclaims.yaml", {"v1"}),
        ("aws", "pkg/apis/crds/karpenter.k8s.aws_ec2nodeclasses.yaml", {"v1"}),
        ("aws-v1beta1", "pkg/apis/crds/karpenter.sh_nodepools.yaml", {"v1beta1"}),
        ("aws-v1beta1", "pkg/apis/crds/karpenter.k8s.aws_ec2nodeclasses.yaml", {"v1beta1"}),
    ]
    for key, member, versions in crds:
        crd = yaml.safe_load(read_member(cache, key, member))
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            if version["name"] not in versions:
                continue
            schema = version["schema"]["openAPIV3Schema"]
            kinds[f"{group}/{version['name']}/{kind}"] = builder.crd_expr(
                schema, f"{group}/{version['name']}/{kind}", root=True
            )

    provenance = {
        key: f"{module}@{version}" for key, (module, version) in SOURCES.items()
    }
    document = {
        "about": "Field names of the kinds fleetfit reads; generated by scripts/kube-schema.py. Do not edit.",
        "sources": provenance,
        "kinds": dict(sorted(kinds.items())),
        "types": dict(sorted(builder.types.items())),
    }
    text = json.dumps(document, separators=(",", ":"), sort_keys=False)
    # One type per line keeps diffs readable.
    text = text.replace('},"', '},\n"')
    with open(out, "w") as f:
        f.write(text + "\n")
    print(f"wrote {out}: {len(kinds)} kinds, {len(builder.types)} types, {len(text)} bytes")


if __name__ == "__main__":
    main()
