//! The EC2 provider against moto (EC2's wire protocol on 127.0.0.1), on a real control plane:
//! NodeClaims become `CreateFleet` instances with Karpenter's tags and fleet parameters, a
//! helper registers each instance's Node as a kubelet would, the real kube-scheduler binds every
//! pod. Capacity errors come from a proxy in front of moto ([`support::ec2_faults`]): the claim
//! launches on the next offering and the failed one is left alone for a while. A launch asked
//! twice makes one instance; a deleted NodeClaim's instance is terminated.
#![cfg(feature = "aws")]

mod support;

use aws_sdk_ec2::types::{Filter, InstanceStateName};
use fleetfit_controller::aws::{Aws, Cluster};
use fleetfit_controller::cloud::{CloudProvider, LaunchError, LaunchRequest, Unavailable};
use fleetfit_controller::crds::EC2NodeClass;
use fleetfit_controller::run::{run, Config};
use fleetfit_controller::state::karpenter_resource;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, PostParams};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};
use support::ec2_faults::Ec2Faults;
use support::{deployment, eventually, nodepool, TestEnv};

const REGION: &str = "us-west-2";
const CLUSTER: &str = "test";
const ZONES: [&str; 3] = ["us-west-2a", "us-west-2b", "us-west-2c"];

/// An EC2 client for `endpoint` (moto, or the fault proxy in front of it).
fn ec2(endpoint: &str) -> aws_sdk_ec2::Client {
    let config = aws_sdk_ec2::Config::builder()
        .behavior_version(aws_sdk_ec2::config::BehaviorVersion::latest())
        .region(aws_sdk_ec2::config::Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_ec2::config::Credentials::new("testing", "testing", None, None, "tests"))
        .http_client(fleetfit_controller::aws::http_client())
        .build();
    aws_sdk_ec2::Client::from_conf(config)
}

fn iam(endpoint: &str) -> aws_sdk_iam::Client {
    let config = aws_sdk_iam::Config::builder()
        .behavior_version(aws_sdk_iam::config::BehaviorVersion::latest())
        .region(aws_sdk_iam::config::Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_iam::config::Credentials::new("testing", "testing", None, None, "tests"))
        .http_client(fleetfit_controller::aws::http_client())
        .build();
    aws_sdk_iam::Client::from_conf(config)
}

/// The provider, talking to `endpoint`.
fn aws(endpoint: &str) -> Aws {
    Aws::new(ec2(endpoint), iam(endpoint), cluster())
}

fn cluster() -> Cluster {
    Cluster {
        name: CLUSTER.into(),
        endpoint: "https://127.0.0.1:6443".into(),
        ca_bundle: "Q0E=".into(),
        cidr: "10.100.0.0/16".into(),
        version: "1.37".into(),
    }
}

/// What the node class selects (and an untagged subnet it must not pick).
async fn network(ec2: &aws_sdk_ec2::Client) -> support::moto::Network {
    let net = support::moto::network(ec2, &ZONES, 24).await;
    ec2.create_subnet()
        .vpc_id(&net.vpc)
        .cidr_block("10.0.9.0/24")
        .availability_zone("us-west-2a")
        .send()
        .await
        .unwrap();
    net
}

/// The nodes' IAM role the node class names.
async fn node_role(iam: &aws_sdk_iam::Client) {
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    iam.create_role().role_name("KarpenterNodeRole-test").assume_role_policy_document(trust).send().await.unwrap();
}

const NODECLASS: &str = "apiVersion: karpenter.k8s.aws/v1
kind: EC2NodeClass
metadata: {name: default}
spec:
  amiFamily: AL2023
  role: KarpenterNodeRole-test
  amiSelectorTerms: [{tags: {karpenter.sh/discovery: test}}]
  subnetSelectorTerms: [{tags: {karpenter.sh/discovery: test}}]
  securityGroupSelectorTerms: [{tags: {karpenter.sh/discovery: test}}]
  tags: {team: platform}
";

fn tag_of<'a>(tags: &'a [aws_sdk_ec2::types::Tag], key: &str) -> Option<&'a str> {
    tags.iter().find(|t| t.key() == Some(key)).and_then(|t| t.value())
}

/// The cluster's instances in moto that are not terminated.
async fn live_instances(ec2: &aws_sdk_ec2::Client) -> Vec<aws_sdk_ec2::types::Instance> {
    let out = ec2
        .describe_instances()
        .filters(Filter::builder().name("tag-key").values(format!("kubernetes.io/cluster/{CLUSTER}")).build())
        .send()
        .await
        .unwrap();
    out.reservations()
        .iter()
        .flat_map(|r| r.instances().iter().cloned())
        .filter(|i| i.state().and_then(|s| s.name()) != Some(&InstanceStateName::Terminated))
        .collect()
}

/// Plays the kubelets: each running instance of the cluster gets its Node (provider ID, the
/// instance type's capacity, the unregistered taint), which KWOK then keeps Ready.
async fn kubelets(ec2: aws_sdk_ec2::Client, client: kube::Client) {
    let catalog = fleetfit::Catalog::aws(REGION).unwrap();
    let types = catalog.instance_types_shared(&fleetfit::model::NodeClass::default());
    let nodes: Api<Node> = Api::all(client);
    let mut registered = BTreeSet::new();
    loop {
        for i in live_instances(&ec2).await {
            let id = i.instance_id().unwrap().to_string();
            if registered.contains(&id) {
                continue;
            }
            let type_ = i.instance_type().unwrap().as_str().to_string();
            let zone = i.placement().and_then(|p| p.availability_zone()).unwrap().to_string();
            let t = types.iter().find(|t| t.name == type_).unwrap_or_else(|| panic!("{type_} is not in the catalog"));
            let name = i.private_dns_name().filter(|n| !n.is_empty()).map_or(id.clone(), str::to_string);
            let node: Node = serde_json::from_value(serde_json::json!({
                "metadata": {
                    "name": name,
                    "annotations": {"kwok.x-k8s.io/node": "fake"},
                    "labels": {
                        "kubernetes.io/hostname": name, "kubernetes.io/arch": "amd64", "kubernetes.io/os": "linux",
                        "node.kubernetes.io/instance-type": type_, "topology.kubernetes.io/zone": zone,
                        "topology.kubernetes.io/region": REGION,
                    },
                },
                "spec": {
                    "providerID": format!("aws:///{zone}/{id}"),
                    "taints": [{"key": "karpenter.sh/unregistered", "effect": "NoExecute"}],
                },
                "status": {
                    "capacity": fleetfit_controller::cloud::resource_list(&t.capacity),
                    "allocatable": fleetfit_controller::cloud::resource_list(&t.allocatable),
                },
            }))
            .unwrap();
            match nodes.create(&PostParams::default(), &node).await {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 409 => {}
                Err(e) => panic!("registering {name}: {e}"),
            }
            registered.insert(id);
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodeclaims_launch_as_ec2_fleets_and_their_pods_run() {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter("info,fleetfit_controller=debug,kube=warn,aws=warn")
        .try_init();
    let env = TestEnv::start("provision-aws");
    let client = env.client().await;
    let moto = ec2(env.ec2_endpoint.as_deref().unwrap());
    let net = network(&moto).await;
    node_role(&iam(env.ec2_endpoint.as_deref().unwrap())).await;
    let faults = Ec2Faults::start(env.require_moto()).await;
    env.apply_karpenter_crds();
    env.apply_yaml(&[nodepool("web", "on-demand"), nodepool("batch", "spot"), NODECLASS.to_string()].join("---\n"));
    let kubelets = tokio::spawn(kubelets(moto.clone(), client.clone()));

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let config = Config {
        cluster_name: CLUSTER.into(),
        region: REGION.into(),
        http: "127.0.0.1:0".parse().unwrap(),
        resync: Duration::from_secs(2),
        ..Config::default()
    };
    let provider = aws(&faults.endpoint);
    let controller = tokio::spawn(run(client.clone(), provider, config, None, async {
        let _ = stopped.await;
    }));
    let started = Instant::now();
    env.apply_yaml(&format!(
        "apiVersion: v1\nkind: Namespace\nmetadata: {{name: shop}}\n---\n{}---\n{}",
        deployment("web", 10, "500m", "1Gi", ""),
        deployment("batch", 6, "1", "2Gi", "")
    ));
    let pods: Api<Pod> = Api::namespaced(client.clone(), "shop");
    eventually("all 16 pods Running", Duration::from_secs(120), || {
        let pods = pods.clone();
        async move {
            let list = pods.list(&ListParams::default()).await.ok()?;
            let running = list
                .items
                .iter()
                .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
                .count();
            (running == 16 && list.items.len() == 16).then_some(())
        }
    })
    .await;
    println!("16 pods pending to Running on moto's instances: {:.1}s", started.elapsed().as_secs_f64());

    // One instance per NodeClaim, with Karpenter's tags, of the claim's type and zone.
    let claims: Api<DynamicObject> = Api::all_with(client.clone(), &karpenter_resource("NodeClaim"));
    let claims = claims.list(&ListParams::default()).await.unwrap().items;
    let instances = live_instances(&moto).await;
    assert_eq!(instances.len(), claims.len(), "one instance per NodeClaim");
    let mut pools = BTreeSet::new();
    for c in &claims {
        let value = serde_json::to_value(c).unwrap();
        let name = value["metadata"]["name"].as_str().unwrap();
        let provider_id = value["status"]["providerID"].as_str().unwrap();
        let id = provider_id.rsplit('/').next().unwrap();
        let i = instances.iter().find(|i| i.instance_id() == Some(id)).unwrap_or_else(|| panic!("{provider_id}"));
        let labels = &value["metadata"]["labels"];
        assert_eq!(labels["node.kubernetes.io/instance-type"], i.instance_type().unwrap().as_str());
        let zone = i.placement().unwrap().availability_zone().unwrap();
        assert_eq!(labels["topology.kubernetes.io/zone"], zone);
        assert_eq!(provider_id, format!("aws:///{zone}/{id}"));
        assert_eq!(i.subnet_id(), Some(net.subnets[zone].as_str()), "the tagged subnet of the zone");
        assert_eq!(i.image_id(), Some(net.ami.as_str()));
        let pool = labels["karpenter.sh/nodepool"].as_str().unwrap();
        let tags = i.tags();
        assert_eq!(tag_of(tags, "kubernetes.io/cluster/test"), Some("owned"));
        assert_eq!(tag_of(tags, "karpenter.sh/nodepool"), Some(pool));
        assert_eq!(tag_of(tags, "karpenter.sh/nodeclaim"), Some(name));
        assert_eq!(tag_of(tags, "karpenter.k8s.aws/ec2nodeclass"), Some("default"));
        assert_eq!(tag_of(tags, "eks:eks-cluster-name"), Some("test"));
        assert_eq!(tag_of(tags, "team"), Some("platform"), "the node class's own tags");
        assert_eq!(labels["karpenter.sh/capacity-type"], if pool == "batch" { "spot" } else { "on-demand" });
        pools.insert(pool.to_string());
    }
    assert_eq!(pools, BTreeSet::from(["batch".to_string(), "web".to_string()]));

    // The fleets: instant, one per launch, spot by price-capacity-optimized, on-demand by
    // lowest price; their launch templates are Karpenter-named, with the nodes' user data.
    let fleets = moto.describe_fleets().send().await.unwrap();
    assert_eq!(fleets.fleets().len(), claims.len());
    for f in fleets.fleets() {
        assert_eq!(f.r#type().map(|t| t.as_str()), Some("instant"));
        let total = f.target_capacity_specification().unwrap();
        assert_eq!(total.total_target_capacity(), Some(1));
        match total.default_target_capacity_type().map(|t| t.as_str()) {
            Some("spot") => assert_eq!(
                f.spot_options().and_then(|o| o.allocation_strategy()).map(|s| s.as_str()),
                Some("price-capacity-optimized")
            ),
            Some("on-demand") => assert_eq!(
                f.on_demand_options().and_then(|o| o.allocation_strategy()).map(|s| s.as_str()),
                Some("lowest-price")
            ),
            other => panic!("target capacity type {other:?}"),
        }
        for config in f.launch_template_configs() {
            let spec = config.launch_template_specification().unwrap();
            assert!(
                spec.launch_template_name().unwrap_or_default().starts_with("karpenter.k8s.aws/")
                    || spec.launch_template_id().is_some()
            );
        }
    }
    let templates = moto.describe_launch_templates().send().await.unwrap();
    let template = templates
        .launch_templates()
        .iter()
        .find(|t| t.launch_template_name().is_some_and(|n| n.starts_with("karpenter.k8s.aws/")))
        .expect("a launch template named as Karpenter names them");
    let versions = moto
        .describe_launch_template_versions()
        .launch_template_id(template.launch_template_id().unwrap())
        .send()
        .await
        .unwrap();
    let data = versions.launch_template_versions()[0].launch_template_data().unwrap();
    use base64::Engine;
    let user_data = base64::engine::general_purpose::STANDARD.decode(data.user_data().unwrap()).unwrap();
    let user_data = String::from_utf8(user_data).unwrap();
    assert!(user_data.contains("kind: NodeConfig") && user_data.contains("name: test"), "{user_data}");
    assert!(user_data.contains("--register-with-taints=karpenter.sh/unregistered:NoExecute"), "{user_data}");
    // The role became an instance profile, as Karpenter makes it.
    let profile = data.iam_instance_profile().and_then(|p| p.name()).unwrap().to_string();
    assert!(profile.starts_with("test_"), "{profile}");
    let made = iam(env.ec2_endpoint.as_deref().unwrap())
        .get_instance_profile()
        .instance_profile_name(&profile)
        .send()
        .await
        .unwrap();
    let made = made.instance_profile().unwrap();
    assert_eq!(made.roles().iter().map(|r| r.role_name()).collect::<Vec<_>>(), ["KarpenterNodeRole-test"]);
    assert!(made.path().starts_with("/karpenter/us-west-2/test/"), "{}", made.path());
    println!(
        "EC2 calls: CreateFleet {}, DescribeInstances {}, CreateLaunchTemplate {}, DescribeSubnets {} for {} NodeClaims",
        faults.calls("CreateFleet"),
        faults.calls("DescribeInstances"),
        faults.calls("CreateLaunchTemplate"),
        faults.calls("DescribeSubnets"),
        claims.len()
    );
    assert_eq!(faults.calls("CreateFleet"), claims.len(), "one CreateFleet per NodeClaim, none retried");
    assert!(faults.calls("DescribeInstances") <= claims.len());

    // A deleted NodeClaim's instance is terminated.
    let gone = claims[0].metadata.name.clone().unwrap();
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &karpenter_resource("NodeClaim"));
    api.delete(&gone, &DeleteParams::default()).await.unwrap();
    eventually("the deleted NodeClaim's instance terminated", Duration::from_secs(60), || {
        let moto = moto.clone();
        let api = api.clone();
        let gone = gone.clone();
        async move {
            let left = live_instances(&moto).await;
            let claim_gone = api.get_opt(&gone).await.ok()?.is_none();
            (claim_gone && !left.iter().any(|i| tag_of(i.tags(), "karpenter.sh/nodeclaim") == Some(gone.as_str())))
                .then_some(())
        }
    })
    .await;
    let _ = stop.send(());
    controller.await.unwrap().unwrap();
    kubelets.abort();
    // Nothing it called is outside controller/deploy/iam-policy.json.
    support::iam_policy::assert_allowed(&faults.recorded(), CLUSTER, "KarpenterNodeRole-test");
}

/// A NodeClaim as the core reads it, with the node class and the launch options it has.
fn claim(name: &str, types: &[&str]) -> (fleetfit::model::NodeClaim, Vec<fleetfit::claims::LaunchOption>) {
    let yaml = format!(
        "apiVersion: karpenter.sh/v1
kind: NodeClaim
metadata: {{name: {name}, labels: {{karpenter.sh/nodepool: web}}}}
spec:
  nodeClassRef: {{group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}}
  requirements:
    - {{key: node.kubernetes.io/instance-type, operator: In, values: [{}]}}
    - {{key: topology.kubernetes.io/zone, operator: In, values: [us-west-2a]}}
    - {{key: karpenter.sh/capacity-type, operator: In, values: [on-demand]}}
  resources: {{requests: {{cpu: 500m, memory: 1Gi}}}}
---
{NODECLASS}",
        types.join(", ")
    );
    let inventory = fleetfit::manifest::parse("claim.yaml", &yaml).unwrap();
    let catalog = fleetfit::Catalog::aws(REGION).unwrap();
    let claim = inventory.nodeclaims[0].clone();
    let options = fleetfit::claims::launch_options(&claim, &inventory, &catalog);
    (claim, options)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capacity_errors_move_a_launch_to_the_next_offering_and_a_retry_never_launches_twice() {
    let env = TestEnv::start("aws-capacity");
    let moto = ec2(env.ec2_endpoint.as_deref().unwrap());
    network(&moto).await;
    node_role(&iam(env.ec2_endpoint.as_deref().unwrap())).await;
    let faults = Ec2Faults::start(env.require_moto()).await;
    let aws = aws(&faults.endpoint);
    let class: EC2NodeClass = serde_yaml::from_str(NODECLASS).unwrap();
    let unavailable = Unavailable::default();

    let (a, options) = claim("claim-a", &["m5.large", "m5.xlarge", "m5.2xlarge"]);
    let order: Vec<&str> = options.iter().map(|o| o.instance_type.as_str()).collect();
    assert_eq!(order, ["m5.large", "m5.xlarge", "m5.2xlarge"], "cheapest first");
    // The cheapest is out of capacity: one CreateFleet launches the next.
    faults.fail("m5.large", "us-west-2a");
    let request = LaunchRequest { claim: &a, uid: "uid-a", nodeclass: Some(&class), options: &options };
    let launched = aws.create(&request, &unavailable).await.unwrap();
    assert_eq!(launched.option.instance_type, "m5.xlarge");
    assert!(launched.provider_id.starts_with("aws:///us-west-2a/i-"), "{}", launched.provider_id);
    assert_eq!(faults.calls("CreateFleet"), 1);
    let left: Vec<String> = unavailable.filter(options.clone()).into_iter().map(|o| o.instance_type).collect();
    assert_eq!(left, ["m5.xlarge", "m5.2xlarge"], "m5.large in us-west-2a is marked unavailable");

    // Asked again (a lost answer, a restart): the claim's instance is found, none is made.
    let again = aws.create(&request, &Unavailable::default()).await.unwrap();
    assert_eq!(again.provider_id, launched.provider_id);
    assert_eq!(faults.calls("CreateFleet"), 1);
    let tagged = live_instances(&moto).await;
    assert_eq!(tagged.iter().filter(|i| tag_of(i.tags(), "karpenter.sh/nodeclaim") == Some("claim-a")).count(), 1);

    // Nothing left with capacity: an error, every offering marked.
    let (b, options) = claim("claim-b", &["c5.large", "c5.xlarge"]);
    faults.fail("c5.large", "us-west-2a");
    faults.fail("c5.xlarge", "us-west-2a");
    let request = LaunchRequest { claim: &b, uid: "uid-b", nodeclass: Some(&class), options: &options };
    let err = aws.create(&request, &unavailable).await.unwrap_err();
    assert!(matches!(err, LaunchError::InsufficientCapacity(_)), "{err}");
    assert!(unavailable.filter(options.clone()).is_empty());
    // Once capacity is back and the marks expire, it launches.
    faults.heal();
    let launched_b = aws.create(&request, &Unavailable::default()).await.unwrap();
    assert_eq!(launched_b.option.instance_type, "c5.large");

    // Terminating: the instance goes; again is fine.
    aws.delete(&launched.provider_id).await.unwrap();
    aws.delete(&launched.provider_id).await.unwrap();
    let left = live_instances(&moto).await;
    assert!(left.iter().all(|i| tag_of(i.tags(), "karpenter.sh/nodeclaim") != Some("claim-a")));

    // A node class whose selectors match nothing is an error naming the field.
    let mut broken = class.clone();
    broken.spec.subnet_selector_terms[0].tags =
        Some(BTreeMap::from([("karpenter.sh/discovery".into(), "nope".into())]));
    broken.metadata.resource_version = Some("2".into());
    let (c, options) = claim("claim-c", &["m5.large"]);
    let request = LaunchRequest { claim: &c, uid: "uid-c", nodeclass: Some(&broken), options: &options };
    let err = aws.create(&request, &Unavailable::default()).await.unwrap_err();
    assert!(err.to_string().contains("EC2NodeClass default: spec.subnetSelectorTerms: no subnet matches"), "{err}");

    // A node class naming an instance profile gets it as it is.
    let mut named = class.clone();
    named.spec.role = None;
    named.spec.instance_profile = Some("NodeProfile-given".into());
    named.metadata.resource_version = Some("3".into());
    let (d, options) = claim("claim-d", &["m5.large"]);
    let request = LaunchRequest { claim: &d, uid: "uid-d", nodeclass: Some(&named), options: &options };
    aws.create(&request, &Unavailable::default()).await.unwrap();
    let mut profiles = BTreeSet::new();
    for t in moto.describe_launch_templates().send().await.unwrap().launch_templates() {
        let versions = moto
            .describe_launch_template_versions()
            .launch_template_id(t.launch_template_id().unwrap())
            .send()
            .await
            .unwrap();
        for v in versions.launch_template_versions() {
            let data = v.launch_template_data().unwrap();
            profiles.extend(data.iam_instance_profile().and_then(|p| p.name()).map(str::to_string));
        }
    }
    assert!(profiles.contains("NodeProfile-given"), "{profiles:?}");
    assert!(profiles.iter().any(|p| p.starts_with("test_")), "{profiles:?}");
    support::iam_policy::assert_allowed(&faults.recorded(), CLUSTER, "KarpenterNodeRole-test");
}

/// Actions of controller/deploy/iam-policy.json that the test below does not reach, and why.
/// (Empty: every action of the policy is called, or implied by a call, there.)
const POLICY_NOT_EXERCISED: &[(&str, &str)] = &[];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_iam_policy_allows_every_call_and_names_no_action_never_called() {
    use support::ec2_faults::Call;
    use support::iam_policy::{assert_allowed, checks, Policy};
    let env = TestEnv::start("aws-iam-policy");
    let moto = ec2(env.ec2_endpoint.as_deref().unwrap());
    network(&moto).await;
    let roles = iam(env.ec2_endpoint.as_deref().unwrap());
    node_role(&roles).await;
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    roles.create_role().role_name("KarpenterNodeRole-next").assume_role_policy_document(trust).send().await.unwrap();
    let faults = Ec2Faults::start(env.require_moto()).await;
    let aws = aws(&faults.endpoint);
    let class: EC2NodeClass = serde_yaml::from_str(NODECLASS).unwrap();

    // A launch with a role: the node class resolved, an instance profile made for the role, a
    // launch template, a fleet.
    let (a, options) = claim("claim-a", &["m5.large"]);
    let request = LaunchRequest { claim: &a, uid: "uid-a", nodeclass: Some(&class), options: &options };
    let launched = aws.create(&request, &Unavailable::default()).await.unwrap();
    // The node class's role changes: the profile's role is swapped.
    let mut changed = class.clone();
    changed.spec.role = Some("KarpenterNodeRole-next".into());
    changed.metadata.resource_version = Some("2".into());
    let (b, options) = claim("claim-b", &["m5.large"]);
    let request = LaunchRequest { claim: &b, uid: "uid-b", nodeclass: Some(&changed), options: &options };
    aws.create(&request, &Unavailable::default()).await.unwrap();
    // A NodeClaim deleted: its instance is terminated.
    aws.delete(&launched.provider_id).await.unwrap();

    let calls = faults.recorded();
    let called: BTreeSet<&str> = calls.iter().map(|c| c.action.as_str()).collect();
    for action in ["CreateFleet", "CreateLaunchTemplate", "TerminateInstances", "RemoveRoleFromInstanceProfile"] {
        assert!(called.contains(action), "{action} was not called: {called:?}");
    }
    // Both roles are node roles here (`${NodeRoleName}` may be a pattern).
    let used = assert_allowed(&calls, CLUSTER, "KarpenterNodeRole-*");
    let policy = Policy::load(CLUSTER, "KarpenterNodeRole-*");
    let unused: Vec<String> = policy
        .actions()
        .into_iter()
        .filter(|a| !used.contains(a) && !POLICY_NOT_EXERCISED.iter().any(|(x, _)| x == a))
        .collect();
    assert!(unused.is_empty(), "iam-policy.json allows actions the provider never calls: {unused:?}");
    println!(
        "IAM policy: {} actions, all called or implied by the {} calls: {used:?}",
        policy.actions().len(),
        calls.len()
    );

    // The check can fail: an instance the controller did not launch, a role that is not the
    // node role, a cluster tag of another cluster.
    let stranger = Call {
        service: "ec2".into(),
        action: "TerminateInstances".into(),
        params: vec![("InstanceId.1".into(), "i-0123456789abcdef0".into())],
        answer: String::new(),
    };
    let policy = Policy::load(CLUSTER, "KarpenterNodeRole-test");
    assert_eq!(policy.denied(&checks(&[stranger])).len(), 1);
    let pass = calls
        .iter()
        .find(|c| c.action == "AddRoleToInstanceProfile" && c.param("RoleName") == Some("KarpenterNodeRole-next"));
    assert!(policy.denied(&checks(&[pass.unwrap().clone()])).iter().any(|d| d.starts_with("iam:PassRole")));
    assert!(!Policy::load("other", "KarpenterNodeRole-*").denied(&checks(&calls)).is_empty());

    // An instance the controller did not launch (garbage collection) is terminated with the
    // tags it was listed with: those of the cluster and a NodePool, not another cluster's.
    let tagged = |cluster: &str| {
        let tag = |k: &str, v: &str| aws_sdk_ec2::types::Tag::builder().key(k).value(v).build();
        aws_sdk_ec2::types::TagSpecification::builder()
            .resource_type(aws_sdk_ec2::types::ResourceType::Instance)
            .tags(tag(&format!("kubernetes.io/cluster/{cluster}"), "owned"))
            .tags(tag("karpenter.sh/nodepool", "web"))
            .build()
    };
    let image = moto.describe_images().owners("amazon").send().await.unwrap();
    let image = image.images()[0].image_id().unwrap().to_string();
    for (cluster, allowed) in [(CLUSTER, true), ("other", false)] {
        let run = moto.run_instances().image_id(&image).min_count(1).max_count(1).tag_specifications(tagged(cluster));
        let out = run.send().await.unwrap();
        let id = out.instances()[0].instance_id().unwrap().to_string();
        let proxy = Ec2Faults::start(env.require_moto()).await;
        let gc = ec2(&proxy.endpoint);
        gc.describe_instances().instance_ids(&id).send().await.unwrap();
        gc.terminate_instances().instance_ids(&id).send().await.unwrap();
        let denied = policy.denied(&checks(&proxy.recorded()));
        assert_eq!(denied.is_empty(), allowed, "an instance of cluster {cluster}: {denied:?}");
    }
}
