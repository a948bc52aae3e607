//! Karpenter's own APIs as Rust types: `karpenter.sh/v1` NodePool and NodeClaim,
//! `karpenter.k8s.aws/v1` EC2NodeClass. The CRDs in `controller/crds/` are generated from them
//! by `fleetfit-crdgen`.
//!
//! The types follow Karpenter v1.14.3 (`sigs.k8s.io/karpenter`) and the AWS provider v1.14.1
//! (`github.com/aws/karpenter-provider-aws`) field for field, so that objects written for
//! Karpenter are read unchanged. `controller/tests/crd_schema.rs` holds the generated CRDs
//! against Karpenter's own (copied under `controller/tests/fixtures/karpenter-crds/`): every
//! property, JSON type, enum, pattern, bound, default, list and map type and CEL rule, the
//! printer columns and the names.
//!
//! Optional fields are `Option`s, left out when `None`; the apiserver's defaults (`expireAfter:
//! 720h`, one budget of 10%, the metadata options, ...) are in the schemas, and a value read back
//! from the apiserver has them. One required field with a default, a budget's `nodes`, is
//! filled in on reading as the apiserver would.
//!
//! What the CRDs do not carry of Karpenter's validation:
//! - Karpenter puts `maxLength: 63` and a label-value pattern on a requirement's `values` list
//!   itself, where the apiserver never applies them (they are string keywords on an array); the
//!   list is left without them.
//! - The AWS provider ships its own copy of the NodePool CRD that also restricts labels of the
//!   `karpenter.k8s.aws` domain in templates and requirements; the CRD here is the one of
//!   `sigs.k8s.io/karpenter`, which does not.
//! - The root `spec` of an EC2NodeClass is required here (kube's derive makes every root `spec`
//!   a field of the object); Karpenter's schema lets an EC2NodeClass leave it out, which makes
//!   a node class with no subnets, security groups or AMIs to launch with.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, JSONSchemaProps, JSONSchemaPropsOrArray, JSONSchemaPropsOrBool,
};
use kube::CustomResourceExt;

mod condition;
mod ec2nodeclass;
mod nodeclaim;
mod nodepool;
pub mod schema;

pub use condition::{Condition, ConditionStatus, NodeClaimCondition};
pub use ec2nodeclass::*;
pub use nodeclaim::*;
pub use nodepool::*;

/// Karpenter's API group (NodePool, NodeClaim).
pub const KARPENTER_GROUP: &str = "karpenter.sh";
/// The AWS provider's API group (EC2NodeClass).
pub const AWS_GROUP: &str = "karpenter.k8s.aws";

/// Label on NodeClaims and nodes: the NodePool that launched them.
pub const NODEPOOL_LABEL: &str = "karpenter.sh/nodepool";
/// Label on nodes: `true` once the node has registered with the cluster for its NodeClaim.
pub const REGISTERED_LABEL: &str = "karpenter.sh/registered";
/// Label on nodes: `true` once the node is initialized (ready, startup taints gone, resources
/// reported).
pub const INITIALIZED_LABEL: &str = "karpenter.sh/initialized";
/// Label on NodeClaims and nodes, and requirement key: `spot`, `on-demand` or `reserved`.
pub const CAPACITY_TYPE_LABEL: &str = "karpenter.sh/capacity-type";
/// Label on NodeClaims and nodes: the EC2NodeClass they were launched with.
pub const EC2NODECLASS_LABEL: &str = "karpenter.k8s.aws/ec2nodeclass";
/// Label on nodes: when `true`, the NodeClaim's taints are not copied onto the node.
pub const DO_NOT_SYNC_TAINTS_LABEL: &str = "karpenter.sh/do-not-sync-taints";

/// Annotation on pods and nodes: `true` keeps the node from voluntary disruption
/// (consolidation, drift); a draining node waits for such pods up to its
/// `terminationGracePeriod`.
pub const DO_NOT_DISRUPT_ANNOTATION: &str = "karpenter.sh/do-not-disrupt";
/// Annotation on NodeClaims: when a draining node's pods are deleted regardless (from
/// `terminationGracePeriod`).
pub const NODECLAIM_TERMINATION_TIMESTAMP_ANNOTATION: &str = "karpenter.sh/nodeclaim-termination-timestamp";

/// Finalizer on NodeClaims and nodes: the instance is terminated before the object goes.
pub const TERMINATION_FINALIZER: &str = "karpenter.sh/termination";

/// Taint key on a node until it has registered for its NodeClaim (effect NoExecute).
pub const UNREGISTERED_TAINT: &str = "karpenter.sh/unregistered";
/// Taint key on a node being disrupted, so no new pods land on it (effect NoSchedule).
pub const DISRUPTED_TAINT: &str = "karpenter.sh/disrupted";

/// Condition type on every kind: the object is ready (for a NodeClaim: launched, registered and
/// initialized).
pub const CONDITION_READY: &str = "Ready";
/// NodeClaim condition: the instance was launched.
pub const CONDITION_LAUNCHED: &str = "Launched";
/// NodeClaim condition: the instance's node registered with the cluster.
pub const CONDITION_REGISTERED: &str = "Registered";
/// NodeClaim condition: the node is ready, without startup taints and reporting its resources.
pub const CONDITION_INITIALIZED: &str = "Initialized";
/// NodeClaim condition: consolidation may consider the node (its `consolidateAfter` passed).
pub const CONDITION_CONSOLIDATABLE: &str = "Consolidatable";
/// NodeClaim condition: the node no longer matches its NodePool or node class.
pub const CONDITION_DRIFTED: &str = "Drifted";
/// NodeClaim condition: the node's pods have been drained.
pub const CONDITION_DRAINED: &str = "Drained";
/// NodeClaim condition: the node's volumes are detached.
pub const CONDITION_VOLUMES_DETACHED: &str = "VolumesDetached";
/// NodeClaim condition: the instance is being terminated.
pub const CONDITION_INSTANCE_TERMINATING: &str = "InstanceTerminating";
/// NodeClaim condition: the node and the NodeClaim agree (labels, taints, resources).
pub const CONDITION_CONSISTENT_STATE_FOUND: &str = "ConsistentStateFound";
/// NodeClaim condition: why the node is being disrupted.
pub const CONDITION_DISRUPTION_REASON: &str = "DisruptionReason";
/// NodePool and EC2NodeClass condition: the object passed validation.
pub const CONDITION_VALIDATION_SUCCEEDED: &str = "ValidationSucceeded";
/// NodePool condition: its node class exists and is ready.
pub const CONDITION_NODE_CLASS_READY: &str = "NodeClassReady";
/// NodePool condition: its nodes register; false when launches keep failing to.
pub const CONDITION_NODE_REGISTRATION_HEALTHY: &str = "NodeRegistrationHealthy";
/// EC2NodeClass condition: its subnet selectors found subnets.
pub const CONDITION_SUBNETS_READY: &str = "SubnetsReady";
/// EC2NodeClass condition: its security group selectors found security groups.
pub const CONDITION_SECURITY_GROUPS_READY: &str = "SecurityGroupsReady";
/// EC2NodeClass condition: its AMI selectors found AMIs.
pub const CONDITION_AMIS_READY: &str = "AMIsReady";
/// EC2NodeClass condition: the instance profile exists (or was created for the role).
pub const CONDITION_INSTANCE_PROFILE_READY: &str = "InstanceProfileReady";
/// EC2NodeClass condition: its capacity reservation selectors were resolved.
pub const CONDITION_CAPACITY_RESERVATIONS_READY: &str = "CapacityReservationsReady";
/// EC2NodeClass condition: its placement group selector found a placement group.
pub const CONDITION_PLACEMENT_GROUP_READY: &str = "PlacementGroupReady";

/// A generated CRD and the file name Karpenter gives it.
#[derive(Clone, Debug)]
pub struct CrdFile {
    /// `karpenter.sh_nodepools.yaml`, ...
    pub file_name: &'static str,
    /// The CRD.
    pub crd: CustomResourceDefinition,
}

/// The three CRDs, NodePool, NodeClaim and EC2NodeClass, in that order.
pub fn crds() -> Vec<CrdFile> {
    [
        ("karpenter.sh_nodepools.yaml", NodePool::crd()),
        ("karpenter.sh_nodeclaims.yaml", NodeClaim::crd()),
        ("karpenter.k8s.aws_ec2nodeclasses.yaml", EC2NodeClass::crd()),
    ]
    .into_iter()
    .map(|(file_name, crd)| CrdFile { file_name, crd: finish(crd) })
    .collect()
}

/// What kube's derive leaves out of a CRD, or says otherwise than Karpenter's CRDs:
/// - `listKind`, which kube leaves to the apiserver's default (the same `<Kind>List`);
/// - the root's `apiVersion`, `kind` and `metadata` properties, which the Rust root type has
///   but kube keeps out of the schema, and the root's `title` (the Rust type's name), which
///   schemars adds;
/// - `nullable: true` on every optional field (and `null` among an optional enum's values):
///   Karpenter's fields are not nullable, so an explicit `null` is dropped by the apiserver
///   like an absent field instead of being stored, and `has()` in CEL rules is false for it.
fn finish(mut crd: CustomResourceDefinition) -> CustomResourceDefinition {
    let kind = crd.spec.names.kind.clone();
    crd.spec.names.list_kind = Some(format!("{kind}List"));
    let api_version = format!("{}/{}", crd.spec.group, crd.spec.versions.first().map_or("v1", |v| v.name.as_str()));
    for version in &mut crd.spec.versions {
        let Some(root) = version.schema.as_mut().and_then(|s| s.open_api_v3_schema.as_mut()) else {
            continue;
        };
        drop_nullable(root);
        root.title = None;
        let properties = root.properties.get_or_insert_with(Default::default);
        let string = |description: String| JSONSchemaProps {
            description: Some(description),
            type_: Some("string".into()),
            ..Default::default()
        };
        properties.insert("apiVersion".into(), string(format!("The object's API version: {api_version}.")));
        properties.insert("kind".into(), string(format!("The object's kind: {kind}.")));
        // The apiserver allows nothing but the type here (metadata's schema is its own).
        properties.insert("metadata".into(), JSONSchemaProps { type_: Some("object".into()), ..Default::default() });
    }
    crd
}

/// Removes `nullable: true`, and `null` from the enum of a nullable enum, throughout a schema.
fn drop_nullable(schema: &mut JSONSchemaProps) {
    if schema.nullable.take() == Some(true) {
        if let Some(values) = &mut schema.enum_ {
            values.retain(|value| !value.0.is_null());
        }
    }
    let mut children: Vec<&mut JSONSchemaProps> = Vec::new();
    children.extend(schema.properties.iter_mut().flat_map(|p| p.values_mut()));
    match &mut schema.items {
        Some(JSONSchemaPropsOrArray::Schema(items)) => children.push(items),
        Some(JSONSchemaPropsOrArray::Schemas(items)) => children.extend(items.iter_mut()),
        None => {}
    }
    if let Some(JSONSchemaPropsOrBool::Schema(values)) = &mut schema.additional_properties {
        children.push(values);
    }
    for list in [&mut schema.any_of, &mut schema.all_of, &mut schema.one_of] {
        children.extend(list.iter_mut().flatten());
    }
    for child in children {
        drop_nullable(child);
    }
}

/// The first line of every generated file.
pub const GENERATED_HEADER: &str =
    "# Generated by fleetfit-crdgen from controller/src/crds/ (Karpenter v1.14.3, AWS provider v1.14.1). Do not edit.\n";

/// One CRD as a YAML document: the header line, `---`, then the CRD.
pub fn to_yaml(crd: &CustomResourceDefinition) -> Result<String, serde_yaml::Error> {
    Ok(format!("{GENERATED_HEADER}---\n{}", yaml_document(crd)?))
}

/// All three CRDs as one multi-document YAML stream (what `fleetfit-crdgen` prints).
pub fn all_yaml() -> Result<String, serde_yaml::Error> {
    let mut out = String::from(GENERATED_HEADER);
    for file in crds() {
        out.push_str("---\n");
        out.push_str(&yaml_document(&file.crd)?);
    }
    Ok(out)
}

/// A CRD as YAML, with whole-number bounds written as integers (`maximum: 100`, not `100.0`:
/// k8s-openapi holds `minimum` and `maximum` as floats).
fn yaml_document(crd: &CustomResourceDefinition) -> Result<String, serde_yaml::Error> {
    let mut value = serde_yaml::to_value(crd)?;
    whole_numbers_as_integers(&mut value);
    serde_yaml::to_string(&value)
}

fn whole_numbers_as_integers(value: &mut serde_yaml::Value) {
    match value {
        serde_yaml::Value::Number(number) => {
            if let Some(float) = number.as_f64().filter(|_| number.is_f64()) {
                if float.fract() == 0.0 && float.abs() < 9.0e15 {
                    *number = serde_yaml::Number::from(float as i64);
                }
            }
        }
        serde_yaml::Value::Sequence(items) => items.iter_mut().for_each(whole_numbers_as_integers),
        serde_yaml::Value::Mapping(entries) => entries.values_mut().for_each(whole_numbers_as_integers),
        serde_yaml::Value::Tagged(tagged) => whole_numbers_as_integers(&mut tagged.value),
        serde_yaml::Value::Null | serde_yaml::Value::Bool(_) | serde_yaml::Value::String(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

    use super::*;

    fn nodepool(yaml: &str) -> NodePool {
        serde_yaml::from_str(yaml).expect("a valid NodePool")
    }

    const NODEPOOL: &str = "
apiVersion: karpenter.sh/v1
kind: NodePool
metadata: {name: default}
spec:
  template:
    spec:
      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}
      requirements:
        - {key: karpenter.sh/capacity-type, operator: In, values: [spot, on-demand], minValues: 2}
        - {key: karpenter.k8s.aws/instance-family, operator: Exists}
      startupTaints:
        - {key: example.com/not-ready, effect: NoExecute}
      expireAfter: Never
  limits: {cpu: 1000, memory: 4000Gi}
  disruption:
    consolidateAfter: 30s
    budgets:
      - schedule: '0 9 * * mon-fri'
        duration: 8h
        reasons: [Drifted]
";

    #[test]
    fn a_nodepool_reads_as_karpenter_writes_it() {
        let pool = nodepool(NODEPOOL);
        let requirements = &pool.spec.template.spec.requirements;
        assert_eq!(requirements[0].operator, NodeSelectorOperator::In);
        assert_eq!(requirements[0].values(), ["spot", "on-demand"]);
        assert_eq!(requirements[0].min_values, Some(2));
        assert_eq!(requirements[1].operator, NodeSelectorOperator::Exists);
        assert!(requirements[1].values().is_empty());
        let limits = pool.spec.limits.as_ref().unwrap();
        assert_eq!(limits["cpu"].0, "1000", "an integer quantity reads as its digits");
        assert_eq!(limits["memory"].0, "4000Gi");
        let disruption = pool.spec.disruption.as_ref().unwrap();
        assert_eq!(disruption.consolidation_policy, None, "left to the apiserver's default");
        let budget = &disruption.budgets.as_ref().unwrap()[0];
        assert_eq!(budget.nodes, DEFAULT_BUDGET_NODES, "a budget's nodes default as the apiserver's do");
        assert_eq!(budget.reasons.as_deref(), Some(&[DisruptionReason::Drifted][..]));
    }

    #[test]
    fn unknown_enum_values_are_refused() {
        let bad = NODEPOOL.replace("operator: Exists", "operator: Like");
        assert!(serde_yaml::from_str::<NodePool>(&bad).is_err());
        let bad = NODEPOOL.replace("effect: NoExecute", "effect: NoLongerSchedule");
        assert!(serde_yaml::from_str::<NodePool>(&bad).is_err());
    }

    #[test]
    fn a_template_makes_a_nodeclaim_spec() {
        let pool = nodepool(NODEPOOL);
        let requests = BTreeMap::from([("cpu".to_owned(), Quantity("1500m".into()))]);
        let spec = pool.spec.template.spec.to_nodeclaim_spec(Some(requests.clone()));
        assert_eq!(spec.requirements, pool.spec.template.spec.requirements);
        assert_eq!(spec.node_class_ref.name, "default");
        assert_eq!(spec.expire_after.as_deref(), Some("Never"));
        assert_eq!(spec.resources.unwrap().requests, Some(requests));
        let startup = spec.startup_taints.unwrap();
        let taint: k8s_openapi::api::core::v1::Taint = startup[0].clone().into();
        assert_eq!((taint.key.as_str(), taint.effect.as_str()), ("example.com/not-ready", "NoExecute"));
    }

    #[test]
    fn conditions_are_found_by_type() {
        let claim: NodeClaim = serde_json::from_value(serde_json::json!({
            "apiVersion": "karpenter.sh/v1",
            "kind": "NodeClaim",
            "metadata": {"name": "default-x7k2p", "labels": {NODEPOOL_LABEL: "default"}},
            "spec": {
                "nodeClassRef": {"group": AWS_GROUP, "kind": "EC2NodeClass", "name": "default"},
                "requirements": [{"key": "node.kubernetes.io/instance-type", "operator": "In", "values": ["m5.large"]}],
            },
            "status": {
                "providerID": "aws:///us-east-1a/i-0123456789abcdef0",
                "conditions": [
                    {"type": CONDITION_LAUNCHED, "status": "True", "lastTransitionTime": "2026-12-01T12:00:00Z"},
                    {"type": CONDITION_REGISTERED, "status": "False", "reason": "NodeNotFound",
                     "lastTransitionTime": "2026-12-01T12:00:00Z"},
                ],
            },
        }))
        .expect("a NodeClaim without reasons on some conditions");
        let status = claim.status.as_ref().unwrap();
        assert_eq!(status.provider_id.as_deref(), Some("aws:///us-east-1a/i-0123456789abcdef0"));
        assert!(status.is_true(CONDITION_LAUNCHED));
        assert!(!status.is_true(CONDITION_REGISTERED));
        assert_eq!(status.condition(CONDITION_REGISTERED).unwrap().reason.as_deref(), Some("NodeNotFound"));
        assert!(status.condition(CONDITION_READY).is_none());
        let back = serde_json::to_value(&claim).unwrap();
        assert_eq!(back["status"]["providerID"], "aws:///us-east-1a/i-0123456789abcdef0");
        assert!(back["status"]["conditions"][0].get("reason").is_none(), "absent fields stay absent");
    }

    #[test]
    fn crds_are_cluster_scoped_and_named_as_karpenter_files_them() {
        let files = crds();
        let names: Vec<_> = files.iter().map(|f| (f.file_name, f.crd.metadata.name.as_deref().unwrap())).collect();
        assert_eq!(
            names,
            [
                ("karpenter.sh_nodepools.yaml", "nodepools.karpenter.sh"),
                ("karpenter.sh_nodeclaims.yaml", "nodeclaims.karpenter.sh"),
                ("karpenter.k8s.aws_ec2nodeclasses.yaml", "ec2nodeclasses.karpenter.k8s.aws"),
            ]
        );
        let yaml = to_yaml(&files[0].crd).unwrap();
        assert!(yaml.starts_with(GENERATED_HEADER));
        assert!(yaml.contains("maximum: 100\n"), "whole-number bounds are written as integers");
        assert!(!yaml.contains("nullable"));
    }
}
