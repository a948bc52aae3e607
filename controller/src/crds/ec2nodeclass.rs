//! `karpenter.k8s.aws/v1` EC2NodeClass: how nodes are launched on EC2 — the AMIs, subnets,
//! security groups, IAM role, disks, kubelet settings and instance metadata options — and what
//! the selectors resolved to.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::condition::{Condition, ConditionStatus};
use super::schema;

/// The EC2 side of a node: image, network, identity, storage, kubelet and metadata settings.
// Clippy reads the repeated `printcolumn(name = ..., type_ = ...)` lists as duplicated attributes.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "karpenter.k8s.aws",
    version = "v1",
    kind = "EC2NodeClass",
    plural = "ec2nodeclasses",
    singular = "ec2nodeclass",
    shortname = "ec2nc",
    shortname = "ec2ncs",
    category = "karpenter",
    status = "EC2NodeClassStatus",
    derive = "PartialEq",
    doc = "How a node is launched on EC2, and what its selectors resolved to.",
    printcolumn(name = "Ready", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].status"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    printcolumn(name = "Role", type_ = "string", json_path = ".spec.role", priority = 1)
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "message": "must specify exactly one of ['role', 'instanceProfile']",
        "rule": "(has(self.role) && !has(self.instanceProfile)) || (!has(self.role) && has(self.instanceProfile))",
    },
    {
        "message": "if set, amiFamily must be 'AL2' or 'Custom' when using an AL2 alias",
        "rule": "!has(self.amiFamily) || (self.amiSelectorTerms.exists(x, has(x.alias) && x.alias.find('^[^@]+') == 'al2') ? (self.amiFamily == 'Custom' || self.amiFamily == 'AL2') : true)",
    },
    {
        "message": "if set, amiFamily must be 'AL2023' or 'Custom' when using an AL2023 alias",
        "rule": "!has(self.amiFamily) || (self.amiSelectorTerms.exists(x, has(x.alias) && x.alias.find('^[^@]+') == 'al2023') ? (self.amiFamily == 'Custom' || self.amiFamily == 'AL2023') : true)",
    },
    {
        "message": "if set, amiFamily must be 'Bottlerocket' or 'Custom' when using a Bottlerocket alias",
        "rule": "!has(self.amiFamily) || (self.amiSelectorTerms.exists(x, has(x.alias) && x.alias.find('^[^@]+') == 'bottlerocket') ? (self.amiFamily == 'Custom' || self.amiFamily == 'Bottlerocket') : true)",
    },
    {
        "message": "if set, amiFamily must be 'Windows2019' or 'Custom' when using a Windows2019 alias",
        "rule": "!has(self.amiFamily) || (self.amiSelectorTerms.exists(x, has(x.alias) && x.alias.find('^[^@]+') == 'windows2019') ? (self.amiFamily == 'Custom' || self.amiFamily == 'Windows2019') : true)",
    },
    {
        "message": "if set, amiFamily must be 'Windows2022' or 'Custom' when using a Windows2022 alias",
        "rule": "!has(self.amiFamily) || (self.amiSelectorTerms.exists(x, has(x.alias) && x.alias.find('^[^@]+') == 'windows2022') ? (self.amiFamily == 'Custom' || self.amiFamily == 'Windows2022') : true)",
    },
    {
        "message": "if set, amiFamily must be 'Windows2025' or 'Custom' when using a Windows2025 alias",
        "rule": "!has(self.amiFamily) || (self.amiSelectorTerms.exists(x, has(x.alias) && x.alias.find('^[^@]+') == 'windows2025') ? (self.amiFamily == 'Custom' || self.amiFamily == 'Windows2025') : true)",
    },
    {
        "message": "must specify amiFamily if amiSelectorTerms does not contain an alias",
        "rule": "self.amiSelectorTerms.exists(x, has(x.alias)) ? true : has(self.amiFamily)",
    },
]))]
pub struct EC2NodeClassSpec {
    /// The subnets nodes may be launched in; the terms are ORed.
    #[schemars(length(max = 30), extend("x-kubernetes-validations" = [
        {"message": "subnetSelectorTerms cannot be empty", "rule": "self.size() != 0"},
        {"message": "expected at least one, got none, ['tags', 'id']", "rule": "self.all(x, has(x.tags) || has(x.id))"},
        {
            "message": "'id' is mutually exclusive, cannot be set with a combination of other fields in a subnet selector term",
            "rule": "!self.all(x, has(x.id) && has(x.tags))",
        },
    ]))]
    pub subnet_selector_terms: Vec<SubnetSelectorTerm>,
    /// The security groups nodes get; the terms are ORed.
    #[schemars(length(max = 30), extend("x-kubernetes-validations" = [
        {"message": "securityGroupSelectorTerms cannot be empty", "rule": "self.size() != 0"},
        {"message": "expected at least one, got none, ['tags', 'id', 'name']", "rule": "self.all(x, has(x.tags) || has(x.id) || has(x.name))"},
        {
            "message": "'id' is mutually exclusive, cannot be set with a combination of other fields in a security group selector term",
            "rule": "!self.all(x, has(x.id) && (has(x.tags) || has(x.name)))",
        },
        {
            "message": "'name' is mutually exclusive, cannot be set with a combination of other fields in a security group selector term",
            "rule": "!self.all(x, has(x.name) && (has(x.tags) || has(x.id)))",
        },
    ]))]
    pub security_group_selector_terms: Vec<SecurityGroupSelectorTerm>,
    /// The capacity reservations nodes may be launched into; the terms are ORed.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 30), extend("x-kubernetes-validations" = [
        {
            "message": "expected at least one, got none, ['tags', 'id', 'instanceMatchCriteria']",
            "rule": "self.all(x, has(x.tags) || has(x.id) || has(x.instanceMatchCriteria))",
        },
        {
            "message": "'id' is mutually exclusive, cannot be set along with other fields in a capacity reservation selector term",
            "rule": "!self.all(x, has(x.id) && (has(x.tags) || has(x.ownerID) || has(x.instanceMatchCriteria)))",
        },
    ]))]
    pub capacity_reservation_selector_terms: Option<Vec<CapacityReservationSelectorTerm>>,
    /// Whether instances get a public IP address; unset, the subnet decides.
    #[serde(rename = "associatePublicIPAddress", skip_serializing_if = "Option::is_none")]
    pub associate_public_ip_address: Option<bool>,
    /// How many IPv4 prefixes the primary network interface gets.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub ip_prefix_count: Option<i32>,
    /// The network interfaces instances are launched with (for EFA: several, on several
    /// network cards).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 150), extend("x-kubernetes-validations" = [
        {
            "message": "networkInterfaces must include a primary interface with interfaceType='interface'",
            "rule": "self.size() == 0 || self.exists(x, x.deviceIndex == 0 && x.networkCardIndex == 0 && x.interfaceType == 'interface')",
        },
        {
            "message": "networkInterfaces must not have duplicate networkCardIndex and deviceIndex pairs, and can have at most one efa device per network card",
            "rule": "self.all(x, self.filter(y, x.networkCardIndex == y.networkCardIndex && x.deviceIndex == y.deviceIndex).size() == 1 && (x.interfaceType != 'efa-only' || self.filter(y, x.networkCardIndex == y.networkCardIndex && y.interfaceType == 'efa-only').size() == 1))",
        },
    ]))]
    pub network_interfaces: Option<Vec<NetworkInterface>>,
    /// Idle connection tracking timeouts of the network interfaces (EFA-only interfaces aside).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection_tracking: Option<ConnectionTracking>,
    /// The placement group instances are launched in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub placement_group_selector: Option<PlacementGroupSelector>,
    /// The AMIs nodes may run; the terms are ORed. An `alias` term stands alone.
    #[schemars(length(min = 1, max = 30), extend("x-kubernetes-validations" = [
        {
            "message": "expected at least one, got none, ['tags', 'id', 'name', 'alias', 'ssmParameter']",
            "rule": "self.all(x, has(x.tags) || has(x.id) || has(x.name) || has(x.alias) || has(x.ssmParameter))",
        },
        {
            "message": "'id' is mutually exclusive, cannot be set with a combination of other fields in amiSelectorTerms",
            "rule": "!self.exists(x, has(x.id) && (has(x.alias) || has(x.tags) || has(x.name) || has(x.owner)))",
        },
        {
            "message": "'alias' is mutually exclusive, cannot be set with a combination of other fields in amiSelectorTerms",
            "rule": "!self.exists(x, has(x.alias) && (has(x.id) || has(x.tags) || has(x.name) || has(x.owner)))",
        },
        {
            "message": "'alias' is mutually exclusive, cannot be set with a combination of other amiSelectorTerms",
            "rule": "!(self.exists(x, has(x.alias)) && self.size() != 1)",
        },
    ]))]
    pub ami_selector_terms: Vec<AMISelectorTerm>,
    /// The AMI family: the user data format and default block devices. Optional with an
    /// `alias` term (the alias names the family), required otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ami_family: Option<AMIFamily>,
    /// User data for the instances, in the AMI family's format; Karpenter merges its own
    /// settings into it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_data: Option<String>,
    /// The IAM role of the nodes; Karpenter makes an instance profile for it. Exactly one of
    /// `role` and `instanceProfile`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-validations" = [{"message": "role cannot be empty", "rule": "self != ''"}]))]
    pub role: Option<String>,
    /// An existing instance profile for the nodes (its role must be passable by Karpenter).
    /// Exactly one of `role` and `instanceProfile`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-validations" = [{"message": "instanceProfile cannot be empty", "rule": "self != ''"}]))]
    pub instance_profile: Option<String>,
    /// Tags for the instances, volumes and launch templates. Tags Karpenter sets itself are
    /// not allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-validations" = [
        {"message": "empty tag keys aren't supported", "rule": "self.all(k, k != '')"},
        {"message": "tag contains a restricted tag matching eks:eks-cluster-name", "rule": "self.all(k, k !='eks:eks-cluster-name')"},
        {"message": "tag contains a restricted tag matching kubernetes.io/cluster/", "rule": "self.all(k, !k.startsWith('kubernetes.io/cluster') )"},
        {"message": "tag contains a restricted tag matching karpenter.sh/nodepool", "rule": "self.all(k, k != 'karpenter.sh/nodepool')"},
        {"message": "tag contains a restricted tag matching karpenter.sh/nodeclaim", "rule": "self.all(k, k !='karpenter.sh/nodeclaim')"},
        {
            "message": "tag contains a restricted tag matching karpenter.k8s.aws/ec2nodeclass",
            "rule": "self.all(k, k !='karpenter.k8s.aws/ec2nodeclass')",
        },
    ]))]
    pub tags: Option<BTreeMap<String, String>>,
    /// Kubelet settings for the nodes (a subset of the kubelet's configuration).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kubelet: Option<KubeletConfiguration>,
    /// The block devices of the instances; at most one is the kubelet's root volume.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 50), extend("x-kubernetes-validations" = [{
        "message": "must have only one blockDeviceMappings with rootVolume",
        "rule": "self.filter(x, has(x.rootVolume)?x.rootVolume==true:false).size() <= 1",
    }]))]
    pub block_device_mappings: Option<Vec<BlockDeviceMapping>>,
    /// What to do with instance-store disks: RAID0 makes one array of them for the kubelet and
    /// the container runtime.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_store_policy: Option<InstanceStorePolicy>,
    /// Whether CloudWatch detailed (one-minute) monitoring is on for the instances.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detailed_monitoring: Option<bool>,
    /// The instance metadata service settings. Unset: endpoint enabled, IPv6 endpoint
    /// disabled, a hop limit of 1 and tokens (IMDSv2) required.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = {
        "httpEndpoint": "enabled",
        "httpProtocolIPv6": "disabled",
        "httpPutResponseHopLimit": 1,
        "httpTokens": "required",
    }))]
    pub metadata_options: Option<MetadataOptions>,
    /// CPU options of the instances.
    #[serde(rename = "cpuOptions", skip_serializing_if = "Option::is_none")]
    pub cpu_options: Option<CPUOptions>,
    /// EC2's reserved `Context` field of CreateFleet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
}

/// The CEL rule on a selector term's tags: no empty keys or values.
fn selector_tags_rules() -> serde_json::Value {
    serde_json::json!([{"message": "empty tag keys or values aren't supported", "rule": "self.all(k, k != '' && self[k] != '')"}])
}

/// Subnets by ID or by tags (the fields of one term are ANDed).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubnetSelectorTerm {
    /// Tags the subnets must have; `*` as a value matches any value.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("maxProperties" = 20, "x-kubernetes-validations" = selector_tags_rules()))]
    pub tags: Option<BTreeMap<String, String>>,
    /// A subnet ID (`subnet-...`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = "subnet-[0-9a-z]+"))]
    pub id: Option<String>,
}

/// Security groups by ID, by name or by tags (the fields of one term are ANDed).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecurityGroupSelectorTerm {
    /// Tags the security groups must have; `*` as a value matches any value.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("maxProperties" = 20, "x-kubernetes-validations" = selector_tags_rules()))]
    pub tags: Option<BTreeMap<String, String>>,
    /// A security group ID (`sg-...`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = "sg-[0-9a-z]+"))]
    pub id: Option<String>,
    /// A security group's name (the group name, not a `Name` tag).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// How instances match capacity reservations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum InstanceMatchCriteria {
    Open,
    Targeted,
}

/// Capacity reservations by ID, or by tags, owner and match criteria (ANDed).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CapacityReservationSelectorTerm {
    /// Tags the reservations must have; `*` as a value matches any value.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("maxProperties" = 20, "x-kubernetes-validations" = selector_tags_rules()))]
    pub tags: Option<BTreeMap<String, String>>,
    /// A capacity reservation ID (`cr-...`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = "^cr-[0-9a-z]+$"))]
    pub id: Option<String>,
    /// The AWS account (12 digits) that owns the reservations.
    #[serde(rename = "ownerID", skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = "^[0-9]{12}$"))]
    pub owner_id: Option<String>,
    /// `open` or `targeted` reservations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_match_criteria: Option<InstanceMatchCriteria>,
}

/// AMIs by alias, ID, name, SSM parameter or tags (the fields of one term are ANDed).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AMISelectorTerm {
    /// An EKS-optimized AMI as `family@version`: al2, al2023, bottlerocket, windows2019,
    /// windows2022 or windows2025, at a release (`al2023@v20240625`) or `latest` (Windows:
    /// `latest` only). `latest` drifts the nodes at every new release.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 30), extend("x-kubernetes-validations" = [
        {
            "message": "'alias' is improperly formatted, must match the format 'family@version'",
            "rule": "self.matches('^[a-zA-Z0-9]+@.+$')",
        },
        {
            "message": "family is not supported, must be one of the following: 'al2', 'al2023', 'bottlerocket', 'windows2019', 'windows2022', 'windows2025'",
            "rule": "self.split('@')[0] in ['al2','al2023','bottlerocket','windows2019','windows2022','windows2025']",
        },
        {
            "message": "windows families may only specify version 'latest'",
            "rule": "self.split('@')[0] in ['windows2019','windows2022','windows2025'] ? self.split('@')[1] == 'latest' : true",
        },
    ]))]
    pub alias: Option<String>,
    /// Tags the AMIs must have; `*` as a value matches any value.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("maxProperties" = 20, "x-kubernetes-validations" = selector_tags_rules()))]
    pub tags: Option<BTreeMap<String, String>>,
    /// An AMI ID (`ami-...`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = "ami-[0-9a-z]+"))]
    pub id: Option<String>,
    /// An AMI's name (the image name, not a `Name` tag).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The AMIs' owner: account IDs, `self`, `amazon` or `aws-marketplace`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The name or ARN of an SSM parameter holding an AMI ID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssm_parameter: Option<String>,
}

/// The family of an AMI: its user data format and default block devices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum AMIFamily {
    AL2,
    AL2023,
    Bottlerocket,
    Custom,
    Windows2019,
    Windows2022,
    Windows2025,
}

/// What to do with instance-store disks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum InstanceStorePolicy {
    RAID0,
}

/// Kubelet settings; the names and types are the kubelet's.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "message": "imageGCHighThresholdPercent must be greater than imageGCLowThresholdPercent",
        "rule": "has(self.imageGCHighThresholdPercent) && has(self.imageGCLowThresholdPercent) ?  self.imageGCHighThresholdPercent > self.imageGCLowThresholdPercent  : true",
    },
    {
        "message": "evictionSoft OwnerKey does not have a matching evictionSoftGracePeriod",
        "rule": "has(self.evictionSoft) ? self.evictionSoft.all(e, (e in self.evictionSoftGracePeriod)):true",
    },
    {
        "message": "evictionSoftGracePeriod OwnerKey does not have a matching evictionSoft",
        "rule": "has(self.evictionSoftGracePeriod) ? self.evictionSoftGracePeriod.all(e, (e in self.evictionSoft)):true",
    },
]))]
pub struct KubeletConfiguration {
    /// The cluster DNS servers' addresses.
    #[serde(rename = "clusterDNS", skip_serializing_if = "Option::is_none")]
    pub cluster_dns: Option<Vec<String>>,
    /// The most pods on a node.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub max_pods: Option<i32>,
    /// The most pods per CPU core on a node (never above `maxPods`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub pods_per_core: Option<i32>,
    /// Resources reserved for operating system daemons: `cpu`, `memory`, `ephemeral-storage`,
    /// `pid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(transform = schema::quantity_strings, extend("x-kubernetes-validations" = [
        {
            "message": "valid keys for systemReserved are ['cpu','memory','ephemeral-storage','pid']",
            "rule": "self.all(x, x=='cpu' || x=='memory' || x=='ephemeral-storage' || x=='pid')",
        },
        {"message": "systemReserved value cannot be a negative resource quantity", "rule": "self.all(x, !self[x].startsWith('-'))"},
    ]))]
    pub system_reserved: Option<BTreeMap<String, String>>,
    /// Resources reserved for Kubernetes' own daemons: `cpu`, `memory`, `ephemeral-storage`,
    /// `pid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(transform = schema::quantity_strings, extend("x-kubernetes-validations" = [
        {
            "message": "valid keys for kubeReserved are ['cpu','memory','ephemeral-storage','pid']",
            "rule": "self.all(x, x=='cpu' || x=='memory' || x=='ephemeral-storage' || x=='pid')",
        },
        {"message": "kubeReserved value cannot be a negative resource quantity", "rule": "self.all(x, !self[x].startsWith('-'))"},
    ]))]
    pub kube_reserved: Option<BTreeMap<String, String>>,
    /// Hard eviction thresholds by signal (`memory.available: 5%`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(transform = schema::eviction_thresholds, extend("x-kubernetes-validations" = [{
        "message": "valid keys for evictionHard are ['memory.available','nodefs.available','nodefs.inodesFree','imagefs.available','imagefs.inodesFree','pid.available']",
        "rule": "self.all(x, x in ['memory.available','nodefs.available','nodefs.inodesFree','imagefs.available','imagefs.inodesFree','pid.available'])",
    }]))]
    pub eviction_hard: Option<BTreeMap<String, String>>,
    /// Soft eviction thresholds by signal; each needs a grace period.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(transform = schema::eviction_thresholds, extend("x-kubernetes-validations" = [{
        "message": "valid keys for evictionSoft are ['memory.available','nodefs.available','nodefs.inodesFree','imagefs.available','imagefs.inodesFree','pid.available']",
        "rule": "self.all(x, x in ['memory.available','nodefs.available','nodefs.inodesFree','imagefs.available','imagefs.inodesFree','pid.available'])",
    }]))]
    pub eviction_soft: Option<BTreeMap<String, String>>,
    /// How long each soft eviction threshold must hold before pods are evicted (`1m30s`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-validations" = [{
        "message": "valid keys for evictionSoftGracePeriod are ['memory.available','nodefs.available','nodefs.inodesFree','imagefs.available','imagefs.inodesFree','pid.available']",
        "rule": "self.all(x, x in ['memory.available','nodefs.available','nodefs.inodesFree','imagefs.available','imagefs.inodesFree','pid.available'])",
    }]))]
    pub eviction_soft_grace_period: Option<BTreeMap<String, String>>,
    /// The longest grace period, in seconds, given to pods evicted for a soft threshold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eviction_max_pod_grace_period: Option<i32>,
    /// The disk use, in percent, above which image garbage collection always runs.
    #[serde(rename = "imageGCHighThresholdPercent", skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 100))]
    pub image_gc_high_threshold_percent: Option<i32>,
    /// The disk use, in percent, garbage collection frees images down to.
    #[serde(rename = "imageGCLowThresholdPercent", skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 100))]
    pub image_gc_low_threshold_percent: Option<i32>,
    /// Whether CPU limits are enforced with CFS quota.
    #[serde(rename = "cpuCFSQuota", skip_serializing_if = "Option::is_none")]
    pub cpu_cfs_quota: Option<bool>,
}

/// `enabled` or `disabled`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum EnabledOrDisabled {
    Enabled,
    Disabled,
}

/// Whether instance metadata requests need a session token (IMDSv2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum HttpTokens {
    Required,
    Optional,
}

/// The instance metadata service (IMDS) settings of the launch template.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MetadataOptions {
    /// Whether the metadata endpoint is reachable from the instance.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "enabled"))]
    pub http_endpoint: Option<EnabledOrDisabled>,
    /// Whether the metadata endpoint answers on IPv6 too.
    #[serde(rename = "httpProtocolIPv6", skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "disabled"))]
    pub http_protocol_ipv6: Option<EnabledOrDisabled>,
    /// How many network hops a metadata response may travel, 1 to 64 (1 keeps it from pods
    /// on other network namespaces).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 64), extend("default" = 1))]
    pub http_put_response_hop_limit: Option<i64>,
    /// `required`: metadata requests need a session token (IMDSv2 only); `optional`: IMDSv1
    /// too.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "required"))]
    pub http_tokens: Option<HttpTokens>,
}

/// A block device of the instances.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BlockDeviceMapping {
    /// The device name (`/dev/xvda`, `xvdh`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_name: Option<String>,
    /// The EBS volume behind the device.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ebs: Option<BlockDevice>,
    /// Whether this device holds the kubelet's root directory (at most one does).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root_volume: Option<bool>,
}

/// An EBS volume type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum VolumeType {
    Standard,
    Io1,
    Io2,
    Gp2,
    Sc1,
    St1,
    Gp3,
}

/// An EBS volume made at launch. Needs a snapshot or a size.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {"message": "snapshotID or volumeSize must be defined", "rule": "has(self.snapshotID) || has(self.volumeSize)"},
    {
        "message": "snapshotID must be set when volumeInitializationRate is set",
        "rule": "!has(self.volumeInitializationRate) || (has(self.snapshotID) && self.snapshotID != '')",
    },
]))]
pub struct BlockDevice {
    /// Whether the volume is deleted when the instance terminates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delete_on_termination: Option<bool>,
    /// Whether the volume is encrypted (not settable for a volume from a snapshot).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encrypted: Option<bool>,
    /// Provisioned IOPS (gp3: 3,000 to 16,000; io1 and io2: 100 to 64,000); not for gp2, st1,
    /// sc1 or standard.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iops: Option<i64>,
    /// The KMS key (ID, alias or ARN) to encrypt the volume with.
    #[serde(rename = "kmsKeyID", skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    /// The snapshot the volume is made from.
    #[serde(rename = "snapshotID", skip_serializing_if = "Option::is_none")]
    pub snapshot_id: Option<String>,
    /// Provisioned throughput of a gp3 volume in MiB/s, 125 to 1,000.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub throughput: Option<i64>,
    /// How fast, in MiB/s (100 to 300), the snapshot's blocks are loaded into the volume; only
    /// with `snapshotID`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 100, max = 300))]
    pub volume_initialization_rate: Option<i32>,
    /// The volume's size in `Gi`, `G`, `Ti` or `T` (`100Gi`), within the volume type's bounds.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(
        with = "Option<String>",
        regex(
            pattern = r"^((?:[1-9][0-9]{0,3}|[1-4][0-9]{4}|[5][0-8][0-9]{3}|59000)Gi|(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|[6][0-3][0-9]{3}|64000)G|([1-9]||[1-5][0-7]|58)Ti|([1-9]||[1-5][0-9]|6[0-3]|64)T)$"
        )
    )]
    pub volume_size: Option<Quantity>,
    /// The EBS volume type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_type: Option<VolumeType>,
}

/// The type of a network interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum InterfaceType {
    #[serde(rename = "interface")]
    Interface,
    #[serde(rename = "efa-only")]
    EfaOnly,
}

/// A network interface of the instances.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NetworkInterface {
    /// The network card the interface is attached to.
    #[schemars(range(min = 0))]
    pub network_card_index: i32,
    /// The interface's device index on its card.
    #[schemars(range(min = 0))]
    pub device_index: i32,
    /// `interface` (IP and EFA) or `efa-only`.
    pub interface_type: InterfaceType,
}

/// Idle connection tracking timeouts, in seconds; unset ones keep EC2's defaults.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "message": "at least one of tcpEstablishedTimeout, udpStreamTimeout, or udpTimeout must be set",
    "rule": "has(self.tcpEstablishedTimeout) || has(self.udpStreamTimeout) || has(self.udpTimeout)",
}]))]
pub struct ConnectionTracking {
    /// Idle established TCP connections, 60 to 432,000 seconds.
    #[serde(rename = "tcpEstablishedTimeout", skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 60, max = 432000))]
    pub tcp_established_timeout: Option<i32>,
    /// Idle UDP flows that saw more than one request and response, 60 to 180 seconds.
    #[serde(rename = "udpStreamTimeout", skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 60, max = 180))]
    pub udp_stream_timeout: Option<i32>,
    /// Other idle UDP flows, 30 to 60 seconds.
    #[serde(rename = "udpTimeout", skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 30, max = 60))]
    pub udp_timeout: Option<i32>,
}

/// A placement group by name or by ID (exactly one).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {"message": "expected at least one, got none, ['name', 'id']", "rule": "has(self.name) || has(self.id)"},
    {"message": "'name' and 'id' are mutually exclusive", "rule": "!(has(self.name) && has(self.id))"},
]))]
pub struct PlacementGroupSelector {
    /// The placement group's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub name: Option<String>,
    /// The placement group's ID (`pg-...`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = "^pg-[0-9a-z]+$"))]
    pub id: Option<String>,
}

/// CPU options of the instances.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CPUOptions {
    /// Whether nested virtualization is on; `enabled` keeps to instance types that support it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nested_virtualization: Option<EnabledOrDisabled>,
}

/// What an EC2NodeClass's selectors resolved to.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EC2NodeClassStatus {
    /// The subnets the subnet selectors found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subnets: Option<Vec<Subnet>>,
    /// The security groups the security group selectors found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_groups: Option<Vec<SecurityGroup>>,
    /// The capacity reservations the capacity reservation selectors found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capacity_reservations: Option<Vec<CapacityReservation>>,
    /// The AMIs the AMI selectors found, with the instance types each suits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amis: Option<Vec<AMI>>,
    /// The instance profile of the nodes (made for `role`, or `instanceProfile`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_profile: Option<String>,
    /// SubnetsReady, SecurityGroupsReady, AMIsReady, InstanceProfileReady, ... and Ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
}

impl EC2NodeClassStatus {
    /// The condition of type `type_` (one of the `CONDITION_*` constants), if there is one.
    pub fn condition(&self, type_: &str) -> Option<&Condition> {
        self.conditions.as_deref()?.iter().find(|c| c.type_ == type_)
    }

    /// Whether the condition of type `type_` is there and True.
    pub fn is_true(&self, type_: &str) -> bool {
        self.condition(type_).is_some_and(|c| c.status == ConditionStatus::True)
    }
}

/// A subnet found by the selectors.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Subnet {
    /// The subnet's ID.
    pub id: String,
    /// The subnet's availability zone (`us-east-1a`).
    pub zone: String,
    /// The zone's ID (`use1-az1`).
    #[serde(rename = "zoneID", skip_serializing_if = "Option::is_none")]
    pub zone_id: Option<String>,
}

/// A security group found by the selectors.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecurityGroup {
    /// The security group's ID.
    pub id: String,
    /// The security group's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// The kind of a capacity reservation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CapacityReservationType {
    Default,
    CapacityBlock,
}

/// The state of a capacity reservation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CapacityReservationState {
    Active,
    Expiring,
}

/// A capacity reservation found by the selectors.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CapacityReservation {
    /// The reservation's ID.
    #[schemars(regex(pattern = "^cr-[0-9a-z]+$"))]
    pub id: String,
    /// The zone the reservation is in.
    pub availability_zone: String,
    /// The instance type reserved.
    pub instance_type: String,
    /// Which launches the reservation takes: `open` (any matching) or `targeted`.
    pub instance_match_criteria: InstanceMatchCriteria,
    /// The AWS account that owns the reservation.
    #[serde(rename = "ownerID")]
    #[schemars(regex(pattern = "^[0-9]{12}$"))]
    pub owner_id: String,
    /// When the reservation ends and its capacity is released.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<schema::TimeSchema>")]
    pub end_time: Option<Time>,
    /// Whether the reservation's capacity can be interrupted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interruptible: Option<bool>,
    /// `default` or `capacity-block`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "default"))]
    pub reservation_type: Option<CapacityReservationType>,
    /// `active`, or `expiring` (a capacity block within EC2's reclaim window).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "active"))]
    pub state: Option<CapacityReservationState>,
}

/// An AMI found by the selectors.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AMI {
    /// The AMI's ID.
    pub id: String,
    /// The AMI's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Whether the AMI is deprecated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deprecated: Option<bool>,
    /// The instance types the AMI suits (architecture, GPU, ...), as node selector requirements.
    pub requirements: Vec<NodeSelectorRequirement>,
}

/// A node selector requirement as `core/v1` has it (an AMI's; without Karpenter's validation of
/// operators and values).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeSelectorRequirement {
    /// The label the requirement is about.
    pub key: String,
    /// In, NotIn, Exists, DoesNotExist, Gt or Lt.
    pub operator: String,
    /// The values the operator compares with.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-list-type" = "atomic"))]
    pub values: Option<Vec<String>>,
}

impl From<NodeSelectorRequirement> for k8s_openapi::api::core::v1::NodeSelectorRequirement {
    fn from(requirement: NodeSelectorRequirement) -> Self {
        k8s_openapi::api::core::v1::NodeSelectorRequirement {
            key: requirement.key,
            operator: requirement.operator,
            values: requirement.values,
        }
    }
}
