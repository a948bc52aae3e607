//! The test environment itself, end to end: a KWOK node and a Deployment on the real control
//! plane (kube-controller-manager makes the pods, kube-scheduler binds them, KWOK runs them),
//! and moto answering an EC2 call. Prints how long each part took.

mod support;

use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Node, Pod, ServiceAccount};
use kube::api::{Api, ListParams, PostParams};
use serde_json::json;
use support::{eventually, TestEnv};

const NAMESPACE: &str = "smoke";
const NODE: &str = "kwok-m5-large-a";

#[tokio::test]
async fn kwok_node_runs_a_deployment_and_moto_answers_ec2() {
    let env = TestEnv::start("env-smoke");
    println!("up: {:.1}s", env.up_time.as_secs_f64());
    let client = env.client().await;
    let pp = PostParams::default();

    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns = serde_json::from_value(json!({"metadata": {"name": NAMESPACE}})).unwrap();
    namespaces.create(&pp, &ns).await.expect("creating the namespace");

    // The harness plays the kubelet: it registers the Node, KWOK keeps it Ready.
    let started = Instant::now();
    let nodes: Api<Node> = Api::all(client.clone());
    let resources = json!({"cpu": "2", "memory": "8Gi", "pods": "29"});
    let node: Node = serde_json::from_value(json!({
        "metadata": {
            "name": NODE,
            "annotations": {"kwok.x-k8s.io/node": "fake"},
            "labels": {
                "kubernetes.io/hostname": NODE,
                "node.kubernetes.io/instance-type": "m5.large",
                "topology.kubernetes.io/zone": "us-west-2a",
            },
        },
        "spec": {"providerID": "aws:///us-west-2a/i-0123456789abcdef0"},
        "status": {
            "capacity": resources,
            "allocatable": resources,
            "addresses": [{"type": "InternalIP", "address": "10.0.1.10"}],
        },
    }))
    .unwrap();
    nodes.create(&pp, &node).await.expect("creating the KWOK node");
    eventually("the node to be Ready", Duration::from_secs(60), || async {
        let node = nodes.get(NODE).await.ok()?;
        let conditions = node.status?.conditions?;
        conditions.iter().any(|c| c.type_ == "Ready" && c.status == "True").then_some(())
    })
    .await;
    println!("node Ready: {:.2}s after it was created", started.elapsed().as_secs_f64());

    // kube-controller-manager gives the namespace its default ServiceAccount, which pods need.
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), NAMESPACE);
    eventually("the namespace's default ServiceAccount", Duration::from_secs(60), || async {
        accounts.get_opt("default").await.ok()?
    })
    .await;

    let started = Instant::now();
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), NAMESPACE);
    let deployment: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "nodeSelector": {"node.kubernetes.io/instance-type": "m5.large"},
                    "containers": [{
                        "name": "web",
                        "image": "registry.invalid/web:1",
                        "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}},
                    }],
                },
            },
        },
    }))
    .unwrap();
    deployments.create(&pp, &deployment).await.expect("creating the deployment");
    let pods: Api<Pod> = Api::namespaced(client.clone(), NAMESPACE);
    let running = eventually("both pods Running on the KWOK node", Duration::from_secs(90), || async {
        let list = pods.list(&ListParams::default().labels("app=web")).await.ok()?;
        let on_node = |p: &&Pod| {
            p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(NODE)
                && p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")
        };
        let running: Vec<String> = list.items.iter().filter(on_node).filter_map(|p| p.metadata.name.clone()).collect();
        (running.len() == 2).then_some(running)
    })
    .await;
    println!(
        "2 pods Running on {NODE}: {:.2}s after the deployment was created ({running:?})",
        started.elapsed().as_secs_f64()
    );

    // moto: the EC2 query protocol, as aws-sdk-ec2 speaks it.
    let started = Instant::now();
    let resp = env.ec2_query("Action=DescribeAvailabilityZones&Version=2016-11-15");
    println!("EC2 DescribeAvailabilityZones: {:.2}s", started.elapsed().as_secs_f64());
    assert_eq!(resp.status, 200, "DescribeAvailabilityZones: {}", resp.body);
    for zone in ["us-west-2a", "us-west-2b", "us-west-2c"] {
        assert!(resp.body.contains(&format!("<zoneName>{zone}</zoneName>")), "no {zone} in:\n{}", resp.body);
    }
    env.reset_moto();

    let started = Instant::now();
    drop(env);
    println!("down: {:.1}s", started.elapsed().as_secs_f64());
}
