//! The EC2 provider: a NodeClaim becomes one `CreateFleet` call of type `instant`, as
//! Karpenter's AWS provider makes it.
//!
//! - The EC2NodeClass's selectors are resolved with `DescribeSubnets`, `DescribeSecurityGroups`
//!   and `DescribeImages` (kept a minute per node class).
//! - One launch template per (AMI, max pods) of the claim's options, named as Karpenter names
//!   them (`karpenter.k8s.aws/<hash of everything in it>`), made once.
//! - One override per instance-type option × zone (the zone's subnet with the most free
//!   addresses), of one capacity type: spot (`price-capacity-optimized`) if the cheapest option
//!   is spot, else on-demand (`lowest-price`).
//! - Instance profiles for node classes that name a `role`, made with IAM as Karpenter makes
//!   them.
//! - Tags `kubernetes.io/cluster/<name>`, `karpenter.sh/nodepool`, `karpenter.sh/nodeclaim`,
//!   `karpenter.k8s.aws/ec2nodeclass`, `eks:eks-cluster-name` and the node class's own.
//! - Never twice for one claim: the claim's instance is looked for first (by its
//!   `karpenter.sh/nodeclaim` tag, batched), and the call's idempotency token is derived from
//!   the claim's UID and the overrides.
//! - Capacity errors (`InsufficientInstanceCapacity` and the like) mark that (capacity type,
//!   type, zone) unavailable for 3 minutes, and the claim is tried again at once with the rest.
//! - `TerminateInstances` and the instance lookups are batched ([`crate::batch`]).

use crate::batch::{Batcher, Window};
use crate::cloud::{CloudProvider, LaunchError, LaunchRequest, Launched, Unavailable};
use crate::crds::{AMIFamily, EC2NodeClass, EnabledOrDisabled, HttpTokens};
use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_sdk_ec2::types::{
    DefaultTargetCapacityType, Filter, FleetLaunchTemplateConfigRequest, FleetLaunchTemplateOverridesRequest,
    FleetLaunchTemplateSpecificationRequest, FleetOnDemandAllocationStrategy, FleetType, InstanceLifecycle,
    LaunchTemplateBlockDeviceMappingRequest, LaunchTemplateEbsBlockDeviceRequest, LaunchTemplateHttpTokensState,
    LaunchTemplateIamInstanceProfileSpecificationRequest, LaunchTemplateInstanceMetadataEndpointState,
    LaunchTemplateInstanceMetadataOptionsRequest, LaunchTemplateInstanceMetadataProtocolIpv6,
    LaunchTemplatesMonitoringRequest, OnDemandOptionsRequest, RequestLaunchTemplateData, ResourceType,
    SpotAllocationStrategy, SpotOptionsRequest, Tag, TagSpecification, TargetCapacitySpecificationRequest,
};
use fleetfit::catalog::CapacityType;
use fleetfit::claims::LaunchOption;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long resolved subnets, security groups and AMIs of a node class are kept.
const RESOLVED_FOR: Duration = Duration::from_secs(60);

/// EC2 error codes that mean "no capacity for this offering now" (Karpenter's list).
const CAPACITY_ERRORS: &[&str] = &[
    "InsufficientInstanceCapacity",
    "MaxSpotInstanceCountExceeded",
    "VcpuLimitExceeded",
    "UnfulfillableCapacity",
    "Unsupported",
    "InsufficientFreeAddressesInSubnet",
    "ReservationCapacityExceeded",
];

/// The provider ID prefix of EC2 instances (`aws:///<zone>/<instance id>`).
pub const AWS_PROVIDER_PREFIX: &str = "aws:///";

/// What nodes need to join the cluster (Karpenter's `clusterName`, `clusterEndpoint` and the
/// cluster's CA bundle and service CIDR).
#[derive(Debug, Clone, Default)]
pub struct Cluster {
    pub name: String,
    /// The API server's URL as nodes reach it.
    pub endpoint: String,
    /// The cluster's CA certificate, base64 (as in a kubeconfig).
    pub ca_bundle: String,
    /// The Service CIDR (kubelet's cluster DNS is derived from it).
    pub cidr: String,
    /// The Kubernetes version (`1.37`), for AMI aliases.
    pub version: String,
}

/// EC2 and IAM clients with rustls on ring (kube's crypto provider; no second one in the binary),
/// from the standard AWS SDK chain: credentials, and `AWS_ENDPOINT_URL` for a local endpoint.
pub async fn sdk_clients(region: &str) -> (aws_sdk_ec2::Client, aws_sdk_iam::Client) {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(http_client())
        .region(aws_config::Region::new(region.to_string()))
        .load()
        .await;
    (aws_sdk_ec2::Client::new(&config), aws_sdk_iam::Client::new(&config))
}

/// The SDK's HTTP client: HTTPS (and plain HTTP, for a local endpoint) through rustls on ring.
pub fn http_client() -> aws_sdk_ec2::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https()
}

/// An instance found for a claim.
#[derive(Debug, Clone)]
struct Found {
    instance_id: String,
    instance_type: String,
    zone: String,
    spot: bool,
}

/// A node class's selectors, resolved.
#[derive(Debug, Clone)]
struct Resolved {
    /// Per zone, the subnet with the most free addresses.
    subnets: BTreeMap<String, String>,
    security_groups: Vec<String>,
    /// Per architecture (`amd64`, `arm64`), the newest matching AMI.
    amis: BTreeMap<String, String>,
    family: AMIFamily,
}

/// Per (node class, resource version): when resolved, and what to.
type ResolvedCache = HashMap<(String, String), (Instant, Arc<Resolved>)>;

/// The EC2 provider.
pub struct Aws {
    ec2: aws_sdk_ec2::Client,
    iam: aws_sdk_iam::Client,
    cluster: Cluster,
    /// Instance profiles made for node classes' roles: profile name → role.
    profiles: tokio::sync::Mutex<HashMap<String, String>>,
    /// Held while resolving, so that a burst of launches resolves a node class once.
    resolved: tokio::sync::Mutex<ResolvedCache>,
    /// Launch templates made; held while making one, so that each is made once.
    templates: tokio::sync::Mutex<BTreeSet<String>>,
    find: Batcher<String, Result<Option<Found>, String>>,
    terminate: Batcher<String, Result<(), String>>,
}

fn filter(name: &str, values: impl IntoIterator<Item = String>) -> Filter {
    Filter::builder().name(name).set_values(Some(values.into_iter().collect())).build()
}

/// EC2 filters for selector tags (`*`: the key with any value).
fn tag_filters(tags: &BTreeMap<String, String>) -> Vec<Filter> {
    tags.iter()
        .map(|(k, v)| if v == "*" { filter("tag-key", [k.clone()]) } else { filter(&format!("tag:{k}"), [v.clone()]) })
        .collect()
}

fn api_error(what: &str, e: impl ProvideErrorMetadata + std::fmt::Display) -> String {
    match (e.code(), e.message()) {
        (Some(code), Some(message)) => format!("{what}: {code}: {message}"),
        (Some(code), None) => format!("{what}: {code}"),
        _ => format!("{what}: {e}"),
    }
}

/// The name pattern and owner of the EKS-optimized AMIs of an alias's family, for one
/// architecture (`x86_64`, `arm64`) and Kubernetes version, at a release (`latest`: any).
pub fn alias_image_name(family: &str, release: &str, arch: &str, k8s: &str) -> Option<String> {
    let release = if release == "latest" { "*".to_string() } else { release.to_string() };
    match family {
        "al2023" => Some(format!("amazon-eks-node-al2023-{arch}-standard-{k8s}-{release}")),
        "al2" if arch == "x86_64" => Some(format!("amazon-eks-node-{k8s}-{release}")),
        "al2" => Some(format!("amazon-eks-arm64-node-{k8s}-{release}")),
        "bottlerocket" => {
            let arch = if arch == "arm64" { "aarch64" } else { arch };
            Some(format!("bottlerocket-aws-k8s-{k8s}-{arch}-{release}"))
        }
        _ => None,
    }
}

impl Aws {
    pub fn new(ec2: aws_sdk_ec2::Client, iam: aws_sdk_iam::Client, cluster: Cluster) -> Aws {
        let find = {
            let ec2 = ec2.clone();
            let cluster_tag = format!("kubernetes.io/cluster/{}", cluster.name);
            Batcher::new(Window { size: 200, ..Window::default() }, move |names: Vec<String>| {
                find_instances(ec2.clone(), cluster_tag.clone(), names)
            })
        };
        let terminate = {
            let ec2 = ec2.clone();
            Batcher::new(Window::default(), move |ids: Vec<String>| terminate_instances(ec2.clone(), ids))
        };
        Aws {
            ec2,
            iam,
            cluster,
            profiles: Default::default(),
            resolved: Default::default(),
            templates: Default::default(),
            find,
            terminate,
        }
    }

    /// The node class's subnets, security groups and AMIs (cached a minute per version of it).
    async fn resolve(&self, class: &EC2NodeClass) -> Result<Arc<Resolved>, LaunchError> {
        let name = class.metadata.name.clone().unwrap_or_default();
        let key = (name.clone(), class.metadata.resource_version.clone().unwrap_or_default());
        let mut cache = self.resolved.lock().await;
        if let Some((at, r)) = cache.get(&key) {
            if at.elapsed() < RESOLVED_FOR {
                return Ok(r.clone());
            }
        }
        let field = |f: &str, why: String| LaunchError::Api(format!("EC2NodeClass {name}: {f}: {why}"));
        let spec = &class.spec;
        // Subnets: one call per term (a term's fields are ANDed, terms ORed).
        let mut subnets: BTreeMap<String, (i32, String)> = BTreeMap::new();
        for term in &spec.subnet_selector_terms {
            let mut call = self
                .ec2
                .describe_subnets()
                .set_filters(Some(tag_filters(term.tags.as_ref().unwrap_or(&BTreeMap::new()))));
            if let Some(id) = &term.id {
                call = call.subnet_ids(id);
            }
            let out = call.send().await.map_err(|e| LaunchError::Api(api_error("DescribeSubnets", e)))?;
            for s in out.subnets() {
                let (Some(id), Some(zone)) = (s.subnet_id(), s.availability_zone()) else { continue };
                let free = s.available_ip_address_count().unwrap_or(0);
                let best = subnets.entry(zone.to_string()).or_insert((free, id.to_string()));
                if (free, std::cmp::Reverse(id)) > (best.0, std::cmp::Reverse(best.1.as_str())) {
                    *best = (free, id.to_string());
                }
            }
        }
        if subnets.is_empty() {
            return Err(field("spec.subnetSelectorTerms", "no subnet matches".into()));
        }
        let mut security_groups = BTreeSet::new();
        for term in &spec.security_group_selector_terms {
            let mut filters = tag_filters(term.tags.as_ref().unwrap_or(&BTreeMap::new()));
            if let Some(n) = &term.name {
                filters.push(filter("group-name", [n.clone()]));
            }
            let mut call = self.ec2.describe_security_groups().set_filters(Some(filters));
            if let Some(id) = &term.id {
                call = call.group_ids(id);
            }
            let out = call.send().await.map_err(|e| LaunchError::Api(api_error("DescribeSecurityGroups", e)))?;
            security_groups.extend(out.security_groups().iter().filter_map(|g| g.group_id().map(str::to_string)));
        }
        if security_groups.is_empty() {
            return Err(field("spec.securityGroupSelectorTerms", "no security group matches".into()));
        }
        let (family, amis) = self.resolve_amis(class, &name).await?;
        let resolved = Arc::new(Resolved {
            subnets: subnets.into_iter().map(|(zone, (_, id))| (zone, id)).collect(),
            security_groups: security_groups.into_iter().collect(),
            amis,
            family,
        });
        cache.insert(key, (Instant::now(), resolved.clone()));
        Ok(resolved)
    }

    /// Per Kubernetes architecture, the newest AMI any term matches; and the AMI family.
    async fn resolve_amis(
        &self,
        class: &EC2NodeClass,
        name: &str,
    ) -> Result<(AMIFamily, BTreeMap<String, String>), LaunchError> {
        let field = |f: &str, why: String| LaunchError::Api(format!("EC2NodeClass {name}: {f}: {why}"));
        let spec = &class.spec;
        let mut family = spec.ami_family;
        // (creation date, image ID) per EC2 architecture.
        let mut newest: BTreeMap<String, (String, String)> = BTreeMap::new();
        for (i, term) in spec.ami_selector_terms.iter().enumerate() {
            if term.ssm_parameter.is_some() {
                return Err(field(
                    &format!("spec.amiSelectorTerms[{i}].ssmParameter"),
                    "SSM parameters are not read by this provider; select the AMI by id, name or tags".into(),
                ));
            }
            let mut calls = Vec::new();
            if let Some(alias) = &term.alias {
                let (fam, release) = alias.split_once('@').unwrap_or((alias, "latest"));
                family = family.or(match fam {
                    "al2" => Some(AMIFamily::AL2),
                    "al2023" => Some(AMIFamily::AL2023),
                    "bottlerocket" => Some(AMIFamily::Bottlerocket),
                    _ => None,
                });
                for arch in ["x86_64", "arm64"] {
                    let pattern = alias_image_name(fam, release, arch, &self.cluster.version).ok_or_else(|| {
                        field(
                            &format!("spec.amiSelectorTerms[{i}].alias"),
                            format!("{alias:?}: not supported by this provider (al2023, al2, bottlerocket are)"),
                        )
                    })?;
                    calls.push(
                        self.ec2
                            .describe_images()
                            .owners("amazon")
                            .filters(filter("name", [pattern]))
                            .filters(filter("architecture", [arch.to_string()])),
                    );
                }
            } else {
                let mut call = self
                    .ec2
                    .describe_images()
                    .set_filters(Some(tag_filters(term.tags.as_ref().unwrap_or(&BTreeMap::new()))));
                if let Some(id) = &term.id {
                    call = call.image_ids(id);
                }
                if let Some(n) = &term.name {
                    call = call.filters(filter("name", [n.clone()]));
                    if term.owner.is_none() {
                        call = call.owners("self").owners("amazon");
                    }
                }
                if let Some(owner) = &term.owner {
                    call = call.owners(owner);
                }
                calls.push(call);
            }
            for call in calls {
                let out = call.send().await.map_err(|e| LaunchError::Api(api_error("DescribeImages", e)))?;
                for image in out.images() {
                    let (Some(id), Some(arch)) = (image.image_id(), image.architecture()) else { continue };
                    let date = image.creation_date().unwrap_or_default().to_string();
                    let entry = newest.entry(arch.as_str().to_string()).or_insert((date.clone(), id.to_string()));
                    if (date.as_str(), id) > (entry.0.as_str(), entry.1.as_str()) {
                        *entry = (date, id.to_string());
                    }
                }
            }
        }
        if newest.is_empty() {
            return Err(field("spec.amiSelectorTerms", "no AMI matches".into()));
        }
        let amis = newest
            .into_iter()
            .map(|(arch, (_, id))| (if arch == "x86_64" { "amd64".to_string() } else { arch }, id))
            .collect();
        let family = family.ok_or_else(|| field("spec.amiFamily", "required when no AMI alias is given".into()))?;
        Ok((family, amis))
    }

    /// The instance profile the node class's instances get: `spec.instanceProfile` as named,
    /// or for `spec.role` one made as Karpenter makes it (`<cluster>_<hash of region and node
    /// class>`, path `/karpenter/<region>/<cluster>/<node class uid>/`, tagged), holding the role.
    async fn instance_profile(&self, class: &EC2NodeClass) -> Result<String, LaunchError> {
        let name = class.metadata.name.clone().unwrap_or_default();
        if let Some(profile) = &class.spec.instance_profile {
            return Ok(profile.clone());
        }
        let Some(role) = class.spec.role.clone() else {
            return Err(LaunchError::Api(format!(
                "EC2NodeClass {name}: spec.role: one of role and instanceProfile is required"
            )));
        };
        // A role given as an ARN is named by its last part.
        let role = role.rsplit('/').next().unwrap_or(&role).to_string();
        let region = self.ec2.config().region().map(|r| r.to_string()).unwrap_or_default();
        let profile = format!("{}_{}", self.cluster.name, crate::fnv64(format!("{region}{name}").as_bytes()));
        let mut made = self.profiles.lock().await;
        if made.get(&profile) == Some(&role) {
            return Ok(profile);
        }
        let failed = |call: &str, e: String| LaunchError::Api(format!("EC2NodeClass {name}: spec.role: {call}: {e}"));
        let holds = match self.iam.get_instance_profile().instance_profile_name(&profile).send().await {
            Ok(out) => out
                .instance_profile()
                .map(|p| p.roles().iter().map(|r| r.role_name().to_string()).collect::<Vec<_>>())
                .unwrap_or_default(),
            Err(e) if e.code() == Some("NoSuchEntity") => {
                let uid = class.metadata.uid.clone().unwrap_or_default();
                let tag = |k: String, v: &str| aws_sdk_iam::types::Tag::builder().key(k).value(v).build();
                let tags = [
                    tag(format!("kubernetes.io/cluster/{}", self.cluster.name), "owned"),
                    tag("karpenter.k8s.aws/ec2nodeclass".into(), &name),
                    tag("topology.kubernetes.io/region".into(), &region),
                ];
                let mut call = self
                    .iam
                    .create_instance_profile()
                    .instance_profile_name(&profile)
                    .path(format!("/karpenter/{region}/{}/{uid}/", self.cluster.name));
                for t in tags {
                    call = call.tags(t.map_err(|e| failed("CreateInstanceProfile", e.to_string()))?);
                }
                match call.send().await {
                    Ok(_) => {}
                    Err(e) if e.code() == Some("EntityAlreadyExists") => {}
                    Err(e) => return Err(failed("CreateInstanceProfile", api_error("IAM", e))),
                }
                Vec::new()
            }
            Err(e) => return Err(failed("GetInstanceProfile", api_error("IAM", e))),
        };
        if !holds.contains(&role) {
            // A profile holds one role: another one (the node class's role changed) goes first.
            for old in &holds {
                let removed = self
                    .iam
                    .remove_role_from_instance_profile()
                    .instance_profile_name(&profile)
                    .role_name(old)
                    .send()
                    .await;
                removed.map_err(|e| failed("RemoveRoleFromInstanceProfile", api_error("IAM", e)))?;
            }
            let added =
                self.iam.add_role_to_instance_profile().instance_profile_name(&profile).role_name(&role).send().await;
            added.map_err(|e| failed("AddRoleToInstanceProfile", api_error("IAM", e)))?;
            tracing::info!(ec2nodeclass = %name, instance_profile = %profile, role = %role, "instance profile made for the role");
        }
        made.insert(profile.clone(), role);
        Ok(profile)
    }

    /// Makes the launch template (once) and returns its name.
    async fn launch_template(&self, template: &Template) -> Result<String, LaunchError> {
        let json = serde_json::to_string(template).map_err(|e| LaunchError::Api(e.to_string()))?;
        let name = format!("karpenter.k8s.aws/{}", crate::fnv64(json.as_bytes()));
        let mut made = self.templates.lock().await;
        if made.contains(&name) {
            return Ok(name);
        }
        let mut data = RequestLaunchTemplateData::builder()
            .image_id(&template.ami)
            .set_security_group_ids(Some(template.security_groups.clone()))
            .user_data(base64_encode(template.user_data.as_bytes()))
            .iam_instance_profile(
                LaunchTemplateIamInstanceProfileSpecificationRequest::builder()
                    .name(&template.instance_profile)
                    .build(),
            )
            .monitoring(LaunchTemplatesMonitoringRequest::builder().enabled(template.detailed_monitoring).build())
            .metadata_options(
                LaunchTemplateInstanceMetadataOptionsRequest::builder()
                    .http_endpoint(LaunchTemplateInstanceMetadataEndpointState::from(
                        template.metadata.http_endpoint.as_str(),
                    ))
                    .http_protocol_ipv6(LaunchTemplateInstanceMetadataProtocolIpv6::from(
                        template.metadata.http_protocol_ipv6.as_str(),
                    ))
                    .http_put_response_hop_limit(template.metadata.hop_limit)
                    .http_tokens(LaunchTemplateHttpTokensState::from(template.metadata.http_tokens.as_str()))
                    .build(),
            );
        for b in &template.block_devices {
            let mut ebs = LaunchTemplateEbsBlockDeviceRequest::builder()
                .set_volume_size(b.size_gib)
                .set_volume_type(b.volume_type.as_deref().map(aws_sdk_ec2::types::VolumeType::from))
                .set_encrypted(b.encrypted)
                .set_delete_on_termination(b.delete_on_termination)
                .set_iops(b.iops)
                .set_throughput(b.throughput)
                .set_kms_key_id(b.kms_key_id.clone())
                .set_snapshot_id(b.snapshot_id.clone());
            if let Some(rate) = b.initialization_rate {
                ebs = ebs.volume_initialization_rate(rate);
            }
            data = data.block_device_mappings(
                LaunchTemplateBlockDeviceMappingRequest::builder().device_name(&b.device_name).ebs(ebs.build()).build(),
            );
        }
        let tags = TagSpecification::builder()
            .resource_type(ResourceType::LaunchTemplate)
            .tags(Tag::builder().key("karpenter.k8s.aws/cluster").value(&self.cluster.name).build())
            .tags(Tag::builder().key("karpenter.k8s.aws/ec2nodeclass").value(&template.nodeclass).build())
            .tags(Tag::builder().key(format!("kubernetes.io/cluster/{}", self.cluster.name)).value("owned").build())
            .build();
        let answer = self
            .ec2
            .create_launch_template()
            .launch_template_name(&name)
            .launch_template_data(data.build())
            .tag_specifications(tags)
            .send()
            .await;
        match answer {
            Ok(_) => {}
            Err(e) if e.code().is_some_and(|c| c.contains("AlreadyExists")) => {}
            Err(e) => return Err(LaunchError::Api(api_error("CreateLaunchTemplate", e))),
        }
        made.insert(name.clone());
        Ok(name)
    }
}

/// Looks up, in one `DescribeInstances`, the live instances of the named claims.
async fn find_instances(
    ec2: aws_sdk_ec2::Client,
    cluster_tag: String,
    names: Vec<String>,
) -> Vec<Result<Option<Found>, String>> {
    let wanted: BTreeSet<String> = names.iter().cloned().collect();
    let mut pages = ec2
        .describe_instances()
        .filters(filter("tag:karpenter.sh/nodeclaim", wanted))
        .filters(filter("tag-key", [cluster_tag]))
        .filters(filter("instance-state-name", ["pending".to_string(), "running".to_string()]))
        .into_paginator()
        .send();
    let mut found: HashMap<String, Found> = HashMap::new();
    while let Some(page) = pages.next().await {
        let page = match page {
            Ok(p) => p,
            Err(e) => {
                let e = api_error("DescribeInstances", e);
                return names.iter().map(|_| Err(e.clone())).collect();
            }
        };
        for i in page.reservations().iter().flat_map(|r| r.instances()) {
            let claim = i.tags().iter().find(|t| t.key() == Some("karpenter.sh/nodeclaim")).and_then(|t| t.value());
            let (Some(claim), Some(id)) = (claim, i.instance_id()) else { continue };
            found.insert(
                claim.to_string(),
                Found {
                    instance_id: id.to_string(),
                    instance_type: i.instance_type().map(|t| t.as_str().to_string()).unwrap_or_default(),
                    zone: i.placement().and_then(|p| p.availability_zone()).unwrap_or_default().to_string(),
                    spot: i.instance_lifecycle() == Some(&aws_sdk_ec2::types::InstanceLifecycleType::Spot),
                },
            );
        }
    }
    names.iter().map(|n| Ok(found.get(n).cloned())).collect()
}

/// Terminates instances in one call; if that fails as a whole, one by one (an instance that
/// is gone already counts as terminated).
async fn terminate_instances(ec2: aws_sdk_ec2::Client, ids: Vec<String>) -> Vec<Result<(), String>> {
    let gone = |code: Option<&str>| code.is_some_and(|c| c.starts_with("InvalidInstanceID"));
    match ec2.terminate_instances().set_instance_ids(Some(ids.clone())).send().await {
        Ok(_) => ids.iter().map(|_| Ok(())).collect(),
        Err(e) if ids.len() == 1 => vec![if gone(e.code()) { Ok(()) } else { Err(api_error("TerminateInstances", e)) }],
        Err(_) => {
            let mut answers = Vec::with_capacity(ids.len());
            for id in ids {
                answers.push(match ec2.terminate_instances().instance_ids(&id).send().await {
                    Ok(_) => Ok(()),
                    Err(e) if gone(e.code()) => Ok(()),
                    Err(e) => Err(api_error("TerminateInstances", e)),
                });
            }
            answers
        }
    }
}

/// Everything a launch template holds; its name is a hash of this.
#[derive(Debug, Clone, Serialize)]
struct Template {
    nodeclass: String,
    ami: String,
    security_groups: Vec<String>,
    user_data: String,
    instance_profile: String,
    detailed_monitoring: bool,
    block_devices: Vec<Device>,
    metadata: Metadata,
}

#[derive(Debug, Clone, Serialize)]
struct Device {
    device_name: String,
    size_gib: Option<i32>,
    volume_type: Option<String>,
    encrypted: Option<bool>,
    delete_on_termination: Option<bool>,
    iops: Option<i32>,
    throughput: Option<i32>,
    kms_key_id: Option<String>,
    snapshot_id: Option<String>,
    initialization_rate: Option<i32>,
}

#[derive(Debug, Clone, Serialize)]
struct Metadata {
    http_endpoint: String,
    http_protocol_ipv6: String,
    hop_limit: i32,
    http_tokens: String,
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A volume size as whole GiB (`20Gi`, `100G`, `1Ti`).
fn gib(q: &str) -> Option<i32> {
    let bytes = q.parse::<fleetfit::quantity::Quantity>().ok()?.units();
    i32::try_from((bytes + (1 << 30) - 1) >> 30).ok()
}

/// The node class's block devices, or the family's root volume (20 GiB gp3, encrypted).
fn block_devices(class: &EC2NodeClass, family: AMIFamily) -> Vec<Device> {
    let name = |d: &crate::crds::BlockDeviceMapping| d.device_name.clone().unwrap_or_default();
    match &class.spec.block_device_mappings {
        Some(list) if !list.is_empty() => list
            .iter()
            .map(|d| {
                let ebs = d.ebs.clone().unwrap_or_default();
                Device {
                    device_name: name(d),
                    size_gib: ebs.volume_size.as_ref().and_then(|q| gib(&q.0)),
                    volume_type: ebs.volume_type.map(|t| {
                        serde_json::to_value(t).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
                    }),
                    encrypted: ebs.encrypted,
                    delete_on_termination: ebs.delete_on_termination,
                    iops: ebs.iops.and_then(|v| i32::try_from(v).ok()),
                    throughput: ebs.throughput.and_then(|v| i32::try_from(v).ok()),
                    kms_key_id: ebs.kms_key_id,
                    snapshot_id: ebs.snapshot_id,
                    initialization_rate: ebs.volume_initialization_rate,
                }
            })
            .collect(),
        _ => {
            let (device, size) = match family {
                AMIFamily::Bottlerocket => ("/dev/xvdb", 20),
                AMIFamily::Windows2019 | AMIFamily::Windows2022 | AMIFamily::Windows2025 => ("/dev/sda1", 50),
                _ => ("/dev/xvda", 20),
            };
            vec![Device {
                device_name: device.into(),
                size_gib: Some(size),
                volume_type: Some("gp3".into()),
                encrypted: Some(true),
                delete_on_termination: Some(true),
                iops: None,
                throughput: None,
                kms_key_id: None,
                snapshot_id: None,
                initialization_rate: None,
            }]
        }
    }
}

fn metadata(class: &EC2NodeClass) -> Metadata {
    let m = class.spec.metadata_options.clone().unwrap_or_default();
    let state = |s: Option<EnabledOrDisabled>, default: EnabledOrDisabled| {
        if s.unwrap_or(default) == EnabledOrDisabled::Enabled { "enabled" } else { "disabled" }.to_string()
    };
    Metadata {
        http_endpoint: state(m.http_endpoint, EnabledOrDisabled::Enabled),
        http_protocol_ipv6: state(m.http_protocol_ipv6, EnabledOrDisabled::Disabled),
        hop_limit: m.http_put_response_hop_limit.and_then(|v| i32::try_from(v).ok()).unwrap_or(1),
        http_tokens: if m.http_tokens.unwrap_or(HttpTokens::Required) == HttpTokens::Required {
            "required"
        } else {
            "optional"
        }
        .into(),
    }
}

/// The parts of MIME multipart user data (each with its headers), or `None` if it is not MIME.
fn mime_parts(text: &str) -> Option<Vec<String>> {
    let head_end = text.find("\n\n").or_else(|| text.find("\r\n\r\n"))?;
    let head = &text[..head_end];
    if !head.lines().any(|l| l.to_ascii_lowercase().starts_with("mime-version:")) {
        return None;
    }
    let boundary = head.split("boundary=").nth(1)?.lines().next()?.trim().trim_matches('"').to_string();
    let delimiter = format!("--{boundary}");
    let body = &text[head_end..];
    Some(
        body.split(&delimiter)
            .skip(1)
            .filter(|p| !p.starts_with("--"))
            .map(|p| p.trim_matches(['\r', '\n']).to_string())
            .filter(|p| !p.is_empty())
            .collect(),
    )
}

/// A user-data part with its content type: a NodeConfig, a shell script or cloud-config.
fn mime_part(text: &str) -> String {
    let kind = if text.contains("node.eks.aws/") {
        "application/node.eks.aws"
    } else if text.starts_with("#cloud-config") {
        "text/cloud-config"
    } else {
        "text/x-shellscript; charset=\"us-ascii\""
    };
    format!("Content-Type: {kind}\n\n{}", text.trim_end())
}

/// AL2023 user data: nodeadm's NodeConfig (cluster, kubelet flags with the node's labels and
/// taints, max pods) as the first MIME part, then the node class's own user data.
fn al2023_user_data(
    cluster: &Cluster,
    class: &EC2NodeClass,
    labels: &BTreeMap<String, String>,
    taints: &[String],
    max_pods: i64,
) -> String {
    let kubelet = class.spec.kubelet.clone().unwrap_or_default();
    let mut config = serde_json::Map::new();
    config.insert("maxPods".into(), serde_json::json!(kubelet.max_pods.map_or(max_pods, i64::from)));
    if let Some(dns) = &kubelet.cluster_dns {
        config.insert("clusterDNS".into(), serde_json::json!(dns));
    }
    for (key, value) in [
        ("systemReserved", &kubelet.system_reserved),
        ("kubeReserved", &kubelet.kube_reserved),
        ("evictionHard", &kubelet.eviction_hard),
        ("evictionSoft", &kubelet.eviction_soft),
        ("evictionSoftGracePeriod", &kubelet.eviction_soft_grace_period),
    ] {
        if let Some(v) = value {
            config.insert(key.into(), serde_json::json!(v));
        }
    }
    let labels = labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",");
    let node_config = serde_json::json!({
        "apiVersion": "node.eks.aws/v1alpha1",
        "kind": "NodeConfig",
        "spec": {
            "cluster": {
                "name": cluster.name,
                "apiServerEndpoint": cluster.endpoint,
                "certificateAuthority": cluster.ca_bundle,
                "cidr": cluster.cidr,
            },
            "kubelet": {
                "config": config,
                "flags": [format!("--node-labels={labels}"), format!("--register-with-taints={}", taints.join(","))],
            },
        },
    });
    let yaml = serde_yaml::to_string(&node_config).unwrap_or_default();
    let mut parts = vec![mime_part(&yaml)];
    if let Some(own) = &class.spec.user_data {
        match mime_parts(own) {
            Some(list) => parts.extend(list),
            None => parts.push(mime_part(own)),
        }
    }
    multipart(parts)
}

/// The cluster DNS address kubelets use: the node class's `kubelet.clusterDNS`, else the
/// tenth address of the Service CIDR (as EKS sets it up).
fn cluster_dns(cluster: &Cluster, class: &EC2NodeClass) -> Result<String, String> {
    if let Some(dns) = class.spec.kubelet.as_ref().and_then(|k| k.cluster_dns.as_ref()).and_then(|d| d.first()) {
        return Ok(dns.clone());
    }
    let base = cluster.cidr.split('/').next().unwrap_or_default();
    let ip: std::net::Ipv4Addr = base
        .parse()
        .map_err(|_| format!("--cluster-cidr {:?} is not an IPv4 CIDR; set spec.kubelet.clusterDNS", cluster.cidr))?;
    Ok(std::net::Ipv4Addr::from(u32::from(ip) + 10).to_string())
}

/// AL2 user data: the node class's own parts first, then `/etc/eks/bootstrap.sh` with the
/// cluster, its DNS address and kubelet flags (labels, taints, max pods), as a MIME part.
fn al2_user_data(
    cluster: &Cluster,
    class: &EC2NodeClass,
    labels: &BTreeMap<String, String>,
    taints: &[String],
    max_pods: i64,
) -> Result<String, String> {
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let max_pods = class.spec.kubelet.as_ref().and_then(|k| k.max_pods).map_or(max_pods, i64::from);
    let labels = labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",");
    let kubelet = format!("--node-labels={labels} --register-with-taints={} --max-pods={max_pods}", taints.join(","));
    let script = format!(
        "#!/bin/bash -xe\nexec > >(tee /var/log/user-data.log|logger -t user-data -s 2>/dev/console) 2>&1\n\
         /etc/eks/bootstrap.sh {} --apiserver-endpoint {} --b64-cluster-ca {} --dns-cluster-ip {} --use-max-pods false \
         --kubelet-extra-args {}\n",
        quote(&cluster.name),
        quote(&cluster.endpoint),
        quote(&cluster.ca_bundle),
        quote(&cluster_dns(cluster, class)?),
        quote(&kubelet),
    );
    let mut parts = Vec::new();
    if let Some(own) = &class.spec.user_data {
        match mime_parts(own) {
            Some(list) => parts.extend(list),
            None => parts.push(mime_part(own)),
        }
    }
    parts.push(mime_part(&script));
    Ok(multipart(parts))
}

/// Parts as MIME multipart user data.
fn multipart(parts: Vec<String>) -> String {
    let boundary = "//";
    let mut out = format!("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"{boundary}\"\n\n");
    for p in parts {
        out.push_str(&format!("--{boundary}\n{p}\n\n"));
    }
    out.push_str(&format!("--{boundary}--\n"));
    out
}

/// The capacity type a claim launches with: that of its cheapest option (reserved offerings
/// aside: this provider does not target capacity reservations).
fn capacity_type(options: &[LaunchOption]) -> Option<CapacityType> {
    options.iter().map(|o| o.capacity_type).find(|c| *c != CapacityType::Reserved)
}

impl CloudProvider for Aws {
    fn name(&self) -> &'static str {
        "aws"
    }

    async fn create(&self, request: &LaunchRequest<'_>, unavailable: &Unavailable) -> Result<Launched, LaunchError> {
        let claim = request.claim;
        // An instance made for this claim already (a retry after a lost answer, a restart).
        if let Some(found) = self
            .find
            .ask(claim.name.clone())
            .await
            .map_err(|e| LaunchError::Api(e.to_string()))?
            .map_err(LaunchError::Api)?
        {
            let spot = if found.spot { CapacityType::Spot } else { CapacityType::OnDemand };
            let option = request
                .options
                .iter()
                .find(|o| o.instance_type == found.instance_type && o.zone == found.zone && o.capacity_type == spot)
                .or_else(|| request.options.iter().find(|o| o.instance_type == found.instance_type))
                .cloned()
                .ok_or_else(|| {
                    LaunchError::Api(format!(
                        "instance {} of this NodeClaim is a {} the claim no longer allows",
                        found.instance_id, found.instance_type
                    ))
                })?;
            return Ok(Launched {
                provider_id: format!("{AWS_PROVIDER_PREFIX}{}/{}", found.zone, found.instance_id),
                option,
            });
        }
        let class = request.nodeclass.ok_or_else(|| {
            LaunchError::Api(format!(
                "NodeClaim {}: spec.nodeClassRef: no such EC2NodeClass (the aws provider needs one)",
                claim.name
            ))
        })?;
        let class_name = class.metadata.name.clone().unwrap_or_default();
        let resolved = self.resolve(class).await?;
        let instance_profile = self.instance_profile(class).await?;
        let mut options: Vec<LaunchOption> = request.options.to_vec();
        for _attempt in 0..4 {
            options = unavailable.filter(options);
            let Some(capacity) = capacity_type(&options) else {
                return Err(LaunchError::InsufficientCapacity(
                    "every instance type and zone the NodeClaim allows is out of capacity".into(),
                ));
            };
            let chosen: Vec<&LaunchOption> = options
                .iter()
                .filter(|o| o.capacity_type == capacity && resolved.subnets.contains_key(&o.zone))
                .collect();
            if chosen.is_empty() {
                return Err(LaunchError::Api(format!(
                    "EC2NodeClass {class_name}: spec.subnetSelectorTerms: no subnet in the zones the NodeClaim allows ({})",
                    options.iter().map(|o| o.zone.as_str()).collect::<BTreeSet<_>>().into_iter().collect::<Vec<_>>().join(", ")
                )));
            }
            // One launch template per (AMI, max pods), in the order of their cheapest option.
            let mut groups: Vec<((String, i64), Vec<&LaunchOption>)> = Vec::new();
            for o in &chosen {
                let arch = o.labels.get(fleetfit::labels::ARCH).map_or("amd64", String::as_str);
                let Some(ami) = resolved.amis.get(arch) else { continue };
                let key = (ami.clone(), o.capacity.pods);
                match groups.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, list)) => list.push(o),
                    None => groups.push((key, vec![o])),
                }
            }
            if groups.is_empty() {
                return Err(LaunchError::Api(format!(
                    "EC2NodeClass {class_name}: spec.amiSelectorTerms: no AMI for the architectures the NodeClaim allows"
                )));
            }
            let mut labels: BTreeMap<String, String> = claim.labels.clone();
            labels.insert(fleetfit::labels::CAPACITY_TYPE.into(), capacity.as_str().into());
            let taints: Vec<String> = claim
                .taints
                .iter()
                .chain(&claim.startup_taints)
                .map(ToString::to_string)
                .chain([format!("{}:NoExecute", crate::crds::UNREGISTERED_TAINT)])
                .collect();
            let mut configs = Vec::new();
            let mut token_input = format!("{}/{}", request.uid, capacity.as_str());
            for ((ami, pods), group) in &groups {
                let user_data = match resolved.family {
                    AMIFamily::AL2023 => al2023_user_data(&self.cluster, class, &labels, &taints, *pods),
                    AMIFamily::AL2 => al2_user_data(&self.cluster, class, &labels, &taints, *pods)
                        .map_err(|e| LaunchError::Api(format!("EC2NodeClass {class_name}: {e}")))?,
                    AMIFamily::Custom => class.spec.user_data.clone().unwrap_or_default(),
                    other => {
                        return Err(LaunchError::Api(format!(
                            "EC2NodeClass {class_name}: spec.amiFamily: {other:?} nodes are not bootstrapped by this \
                             provider yet; use AL2023 (alias al2023@...), AL2, or Custom with your own user data"
                        )))
                    }
                };
                let template = Template {
                    nodeclass: class_name.clone(),
                    ami: ami.clone(),
                    security_groups: resolved.security_groups.clone(),
                    user_data,
                    instance_profile: instance_profile.clone(),
                    detailed_monitoring: class.spec.detailed_monitoring.unwrap_or(false),
                    block_devices: block_devices(class, resolved.family),
                    metadata: metadata(class),
                };
                let name = self.launch_template(&template).await?;
                let overrides: Vec<_> = group
                    .iter()
                    .map(|o| {
                        token_input.push_str(&format!("/{}@{}", o.instance_type, o.zone));
                        FleetLaunchTemplateOverridesRequest::builder()
                            .instance_type(aws_sdk_ec2::types::InstanceType::from(o.instance_type.as_str()))
                            .subnet_id(&resolved.subnets[&o.zone])
                            .availability_zone(&o.zone)
                            .build()
                    })
                    .collect();
                configs.push(
                    FleetLaunchTemplateConfigRequest::builder()
                        .launch_template_specification(
                            FleetLaunchTemplateSpecificationRequest::builder()
                                .launch_template_name(name)
                                .version("$Latest")
                                .build(),
                        )
                        .set_overrides(Some(overrides))
                        .build(),
                );
            }
            let tags = self.tags(request, &class_name, class);
            let mut call = self
                .ec2
                .create_fleet()
                .r#type(FleetType::Instant)
                .set_launch_template_configs(Some(configs))
                .client_token(format!("fleetfit-{}", crate::fnv64(token_input.as_bytes())));
            let mut resource_types = vec![ResourceType::Instance, ResourceType::Volume, ResourceType::Fleet];
            let target = if capacity == CapacityType::Spot {
                DefaultTargetCapacityType::Spot
            } else {
                DefaultTargetCapacityType::OnDemand
            };
            call = call.target_capacity_specification(
                TargetCapacitySpecificationRequest::builder()
                    .total_target_capacity(1)
                    .default_target_capacity_type(target)
                    .build(),
            );
            if capacity == CapacityType::Spot {
                resource_types.push(ResourceType::SpotInstancesRequest);
                call = call.spot_options(
                    SpotOptionsRequest::builder()
                        .allocation_strategy(SpotAllocationStrategy::PriceCapacityOptimized)
                        .build(),
                );
            } else {
                call = call.on_demand_options(
                    OnDemandOptionsRequest::builder()
                        .allocation_strategy(FleetOnDemandAllocationStrategy::LowestPrice)
                        .build(),
                );
            }
            for r in resource_types {
                call = call.tag_specifications(
                    TagSpecification::builder().resource_type(r).set_tags(Some(tags.clone())).build(),
                );
            }
            let out = call.send().await.map_err(|e| LaunchError::Api(api_error("CreateFleet", e)))?;
            let mut other_errors = Vec::new();
            for e in out.errors() {
                let code = e.error_code().unwrap_or_default();
                let over = e.launch_template_and_overrides().and_then(|l| l.overrides());
                let type_ = over.and_then(|o| o.instance_type()).map(|t| t.as_str().to_string());
                let zone = over.and_then(|o| o.availability_zone()).map(str::to_string);
                if CAPACITY_ERRORS.contains(&code) {
                    let spot = e.lifecycle() == Some(&InstanceLifecycle::Spot);
                    let ct = if spot { CapacityType::Spot } else { CapacityType::OnDemand };
                    for o in options.iter().filter(|o| {
                        o.capacity_type == ct
                            && type_.as_deref().is_none_or(|t| t == o.instance_type)
                            && zone.as_deref().is_none_or(|z| z == o.zone)
                    }) {
                        tracing::info!(
                            nodeclaim = %claim.name, instance_type = %o.instance_type, zone = %o.zone,
                            capacity_type = %ct.as_str(), code, "offering unavailable for 3 minutes"
                        );
                        unavailable.mark(o);
                    }
                } else {
                    other_errors.push(format!("{code}: {}", e.error_message().unwrap_or_default()));
                }
            }
            if let Some(instance) = out.instances().iter().find(|i| !i.instance_ids().is_empty()) {
                let id = instance.instance_ids()[0].clone();
                let type_ = instance.instance_type().map(|t| t.as_str().to_string()).unwrap_or_default();
                let over = instance.launch_template_and_overrides().and_then(|l| l.overrides());
                let zone = over
                    .and_then(|o| o.availability_zone().map(str::to_string))
                    .or_else(|| {
                        let subnet = over.and_then(|o| o.subnet_id())?;
                        resolved.subnets.iter().find(|(_, s)| s.as_str() == subnet).map(|(z, _)| z.clone())
                    })
                    .unwrap_or_default();
                let option = chosen
                    .iter()
                    .find(|o| o.instance_type == type_ && o.zone == zone)
                    .map(|o| (*o).clone())
                    .ok_or_else(|| {
                    LaunchError::Api(format!(
                        "CreateFleet launched {id} as {type_} in {zone:?}, which was not asked for"
                    ))
                })?;
                return Ok(Launched { provider_id: format!("{AWS_PROVIDER_PREFIX}{zone}/{id}"), option });
            }
            if !other_errors.is_empty() {
                return Err(LaunchError::Api(format!("CreateFleet: {}", other_errors.join("; "))));
            }
            // Only capacity errors: again with what is left.
        }
        Err(LaunchError::InsufficientCapacity("no capacity after 4 tries".into()))
    }

    async fn list(&self) -> Result<Vec<crate::cloud::Instance>, LaunchError> {
        let mut pages = self
            .ec2
            .describe_instances()
            .filters(filter(&format!("tag:kubernetes.io/cluster/{}", self.cluster.name), ["owned".to_string()]))
            .filters(filter("tag-key", ["karpenter.sh/nodepool".to_string()]))
            .filters(filter("instance-state-name", ["pending", "running", "stopping", "stopped"].map(str::to_string)))
            .into_paginator()
            .send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| LaunchError::Api(api_error("DescribeInstances", e)))?;
            for i in page.reservations().iter().flat_map(|r| r.instances()) {
                let (Some(id), Some(zone)) = (i.instance_id(), i.placement().and_then(|p| p.availability_zone()))
                else {
                    continue;
                };
                let tag =
                    |k: &str| i.tags().iter().find(|t| t.key() == Some(k)).and_then(|t| t.value()).map(str::to_string);
                out.push(crate::cloud::Instance {
                    provider_id: format!("{AWS_PROVIDER_PREFIX}{zone}/{id}"),
                    nodeclaim: tag("karpenter.sh/nodeclaim"),
                    launched: i.launch_time().map(|t| t.secs()),
                });
            }
        }
        Ok(out)
    }

    async fn delete(&self, provider_id: &str) -> Result<(), LaunchError> {
        let id = provider_id
            .strip_prefix(AWS_PROVIDER_PREFIX)
            .and_then(|rest| rest.rsplit('/').next())
            .filter(|id| id.starts_with("i-"))
            .ok_or_else(|| LaunchError::Api(format!("{provider_id:?} is not an EC2 provider ID")))?;
        self.terminate.ask(id.to_string()).await.map_err(|e| LaunchError::Api(e.to_string()))?.map_err(LaunchError::Api)
    }
}

impl Aws {
    /// The tags of everything a launch makes.
    fn tags(&self, request: &LaunchRequest<'_>, class_name: &str, class: &EC2NodeClass) -> Vec<Tag> {
        let mut tags: BTreeMap<String, String> = class.spec.tags.clone().unwrap_or_default();
        tags.insert(format!("kubernetes.io/cluster/{}", self.cluster.name), "owned".into());
        tags.insert("eks:eks-cluster-name".into(), self.cluster.name.clone());
        tags.insert("karpenter.sh/nodepool".into(), request.claim.nodepool().unwrap_or_default().to_string());
        tags.insert("karpenter.sh/nodeclaim".into(), request.claim.name.clone());
        tags.insert("karpenter.k8s.aws/ec2nodeclass".into(), class_name.to_string());
        tags.into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_name_the_eks_optimized_images() {
        assert_eq!(
            alias_image_name("al2023", "latest", "x86_64", "1.37").as_deref(),
            Some("amazon-eks-node-al2023-x86_64-standard-1.37-*")
        );
        assert_eq!(
            alias_image_name("al2023", "v20260101", "arm64", "1.37").as_deref(),
            Some("amazon-eks-node-al2023-arm64-standard-1.37-v20260101")
        );
        assert_eq!(
            alias_image_name("bottlerocket", "latest", "arm64", "1.37").as_deref(),
            Some("bottlerocket-aws-k8s-1.37-aarch64-*")
        );
        assert_eq!(alias_image_name("windows2022", "latest", "x86_64", "1.37"), None);
    }

    #[test]
    fn user_data_keeps_the_node_class_parts_after_the_node_config() {
        let class: EC2NodeClass = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "default"},
            "spec": {
                "amiSelectorTerms": [{"alias": "al2023@latest"}],
                "subnetSelectorTerms": [{"tags": {"a": "b"}}],
                "securityGroupSelectorTerms": [{"tags": {"a": "b"}}],
                "instanceProfile": "p",
                "userData": "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"B\"\n\n--B\nContent-Type: text/x-shellscript\n\necho hi\n--B--\n",
                "kubelet": {"maxPods": 20},
            },
        }))
        .unwrap();
        let cluster = Cluster {
            name: "c".into(),
            endpoint: "https://k".into(),
            ca_bundle: "Q0E=".into(),
            cidr: "10.100.0.0/16".into(),
            version: "1.37".into(),
        };
        let labels = BTreeMap::from([("karpenter.sh/nodepool".to_string(), "default".to_string())]);
        let text = al2023_user_data(&cluster, &class, &labels, &["karpenter.sh/unregistered:NoExecute".into()], 58);
        let parts = mime_parts(&text).unwrap();
        assert_eq!(parts.len(), 2, "{text}");
        assert!(parts[0].starts_with("Content-Type: application/node.eks.aws"));
        assert!(parts[0].contains("maxPods: 20"), "{}", parts[0]);
        assert!(parts[0].contains("--node-labels=karpenter.sh/nodepool=default"));
        assert!(parts[0].contains("--register-with-taints=karpenter.sh/unregistered:NoExecute"));
        assert!(parts[0].contains("apiServerEndpoint: https://k"));
        assert_eq!(parts[1], "Content-Type: text/x-shellscript\n\necho hi");
    }

    #[test]
    fn al2_user_data_runs_the_bootstrap_after_the_node_class_script() {
        let class: EC2NodeClass = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "al2"},
            "spec": {
                "amiSelectorTerms": [{"alias": "al2@latest"}],
                "subnetSelectorTerms": [{"tags": {"a": "b"}}],
                "securityGroupSelectorTerms": [{"tags": {"a": "b"}}],
                "role": "r",
                "userData": "#!/bin/bash\necho hi\n",
            },
        }))
        .unwrap();
        let cluster = Cluster {
            name: "c".into(),
            endpoint: "https://k".into(),
            ca_bundle: "Q0E=".into(),
            cidr: "10.100.0.0/16".into(),
            version: "1.37".into(),
        };
        let labels = BTreeMap::from([("karpenter.sh/nodepool".to_string(), "default".to_string())]);
        let text =
            al2_user_data(&cluster, &class, &labels, &["karpenter.sh/unregistered:NoExecute".into()], 29).unwrap();
        let parts = mime_parts(&text).unwrap();
        assert_eq!(parts.len(), 2, "{text}");
        assert!(parts[0].ends_with("echo hi"), "{}", parts[0]);
        let bootstrap = &parts[1];
        assert!(
            bootstrap.contains("/etc/eks/bootstrap.sh 'c' --apiserver-endpoint 'https://k' --b64-cluster-ca 'Q0E='"),
            "{bootstrap}"
        );
        assert!(bootstrap.contains("--dns-cluster-ip '10.100.0.10'"), "{bootstrap}");
        assert!(bootstrap.contains("--kubelet-extra-args '--node-labels=karpenter.sh/nodepool=default --register-with-taints=karpenter.sh/unregistered:NoExecute --max-pods=29'"), "{bootstrap}");
        let bad = Cluster { cidr: "fd00::/108".into(), ..cluster };
        assert!(al2_user_data(&bad, &class, &labels, &[], 29).unwrap_err().contains("spec.kubelet.clusterDNS"));
    }

    #[test]
    fn volume_sizes_are_whole_gibibytes() {
        assert_eq!(gib("20Gi"), Some(20));
        assert_eq!(gib("100G"), Some(94));
        assert_eq!(gib("1Ti"), Some(1024));
    }
}
