//! What EC2 and the kubelets would do for instances the controller launches in moto, which has
//! no machines behind them, and a tap on the EC2 endpoint for tests that must act between a
//! call and its answer.
//!
//! - [`Joiner`]: "the instance boots and its kubelet registers". Every ~500 ms moto's
//!   `DescribeInstances` is read; a running instance tagged `karpenter.sh/nodeclaim` for the
//!   cluster that has no Node yet gets one (named by its instance ID, `aws:///<zone>/<id>`, the
//!   instance type's well-known labels, capacity and allocatable from fleetfit's catalog, the
//!   `karpenter.sh/unregistered:NoExecute` taint, annotated for KWOK, which then plays its
//!   kubelet). A kubelet registers once per instance. The Node of an instance that is
//!   terminated is deleted, as the cloud node lifecycle controller does (it may stay while the
//!   controller's finalizer is on it). Every poll also looks for two live instances tagged with
//!   one NodeClaim, and remembers them.
//! - [`Tap`]: an HTTP proxy in front of an EC2 endpoint (moto, or [`super::ec2_faults`]) that,
//!   when armed, holds the answer of the next successful `CreateFleet` and tells the test,
//!   which decides when the caller gets it: the moment between the instance existing and the
//!   caller knowing it.

use aws_sdk_ec2::types::{Filter, InstanceStateName};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// An EC2 client for `endpoint` (moto on 127.0.0.1, or a proxy in front of it) in `region`.
pub fn ec2(endpoint: &str, region: &str) -> aws_sdk_ec2::Client {
    let config = aws_sdk_ec2::Config::builder()
        .behavior_version(aws_sdk_ec2::config::BehaviorVersion::latest())
        .region(aws_sdk_ec2::config::Region::new(region.to_string()))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_ec2::config::Credentials::new("testing", "testing", None, None, "tests"))
        .http_client(fleetfit_controller::aws::http_client())
        .build();
    aws_sdk_ec2::Client::from_conf(config)
}

/// One instance as moto tells it.
#[derive(Debug, Clone, PartialEq)]
pub struct Seen {
    pub id: String,
    pub state: String,
    pub zone: String,
    pub instance_type: String,
    pub spot: bool,
    pub private_ip: Option<String>,
    /// Its `karpenter.sh/nodeclaim` tag.
    pub nodeclaim: Option<String>,
}

impl Seen {
    pub fn provider_id(&self) -> String {
        format!("aws:///{}/{}", self.zone, self.id)
    }

    /// pending or running (what a NodeClaim may own).
    pub fn live(&self) -> bool {
        matches!(self.state.as_str(), "pending" | "running")
    }
}

/// Every instance of the cluster (tagged `kubernetes.io/cluster/<cluster>`), in every state,
/// terminated ones too (moto keeps them).
pub async fn instances(ec2: &aws_sdk_ec2::Client, cluster: &str) -> Result<Vec<Seen>, String> {
    let mut pages = ec2
        .describe_instances()
        .filters(Filter::builder().name("tag-key").values(format!("kubernetes.io/cluster/{cluster}")).build())
        .into_paginator()
        .send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| format!("DescribeInstances: {e:?}"))?;
        for i in page.reservations().iter().flat_map(|r| r.instances()) {
            let Some(id) = i.instance_id() else { continue };
            let tag =
                |k: &str| i.tags().iter().find(|t| t.key() == Some(k)).and_then(|t| t.value()).map(str::to_string);
            out.push(Seen {
                id: id.to_string(),
                state: i.state().and_then(|s| s.name()).map_or("unknown", InstanceStateName::as_str).to_string(),
                zone: i.placement().and_then(|p| p.availability_zone()).unwrap_or_default().to_string(),
                instance_type: i.instance_type().map(|t| t.as_str().to_string()).unwrap_or_default(),
                spot: i.instance_lifecycle() == Some(&aws_sdk_ec2::types::InstanceLifecycleType::Spot),
                private_ip: i.private_ip_address().map(str::to_string),
                nodeclaim: tag("karpenter.sh/nodeclaim"),
            });
        }
    }
    Ok(out)
}

/// What the joiner did and saw.
#[derive(Debug, Default, Clone)]
pub struct JoinStats {
    /// Nodes created: instance ID → node name.
    pub registered: BTreeMap<String, String>,
    /// Nodes deleted because their instance was terminated.
    pub deleted: BTreeSet<String>,
    /// NodeClaims seen with two or more live instances at once, and those instances.
    pub duplicates: BTreeMap<String, BTreeSet<String>>,
    /// Polls done, and those that failed (moto or the API server did not answer).
    pub polls: usize,
    pub failed_polls: usize,
    /// The last failure, if any.
    pub last_error: Option<String>,
}

/// The background task; stopped when dropped.
pub struct Joiner {
    stats: Arc<Mutex<JoinStats>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Joiner {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Joiner {
    /// Starts playing the instances of `cluster` in moto (`ec2`, best pointed at moto itself, so
    /// that its calls are not counted as the controller's) as nodes of the cluster (`client`).
    pub fn start(ec2: aws_sdk_ec2::Client, client: kube::Client, cluster: &str, region: &str) -> Joiner {
        let stats: Arc<Mutex<JoinStats>> = Arc::default();
        let catalog = fleetfit::Catalog::aws(region).expect("the catalog of the region");
        let (cluster, region) = (cluster.to_string(), region.to_string());
        let shared = stats.clone();
        let task = tokio::spawn(async move {
            let nodes: Api<Node> = Api::all(client);
            loop {
                let result = poll(&ec2, &nodes, &catalog, &cluster, &region, &shared).await;
                {
                    let mut s = shared.lock().unwrap();
                    s.polls += 1;
                    if let Err(e) = result {
                        s.failed_polls += 1;
                        s.last_error = Some(e);
                    }
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        });
        Joiner { stats, task }
    }

    pub fn stats(&self) -> JoinStats {
        self.stats.lock().unwrap().clone()
    }
}

/// What a kubelet registers its node with.
struct NodeFacts {
    labels: BTreeMap<String, String>,
    capacity: BTreeMap<String, String>,
    allocatable: BTreeMap<String, String>,
}

/// The labels, capacity and allocatable of a node of the instance's type in its zone, as
/// fleetfit's catalog has them (the single-valued labels of the type, as a launch option's).
fn node_facts(catalog: &fleetfit::Catalog, seen: &Seen, region: &str) -> Option<NodeFacts> {
    use fleetfit::labels;
    let types = catalog.instance_types_shared(&fleetfit::model::NodeClass::default());
    let t = types.iter().find(|t| t.name == seen.instance_type)?;
    let mut node_labels: BTreeMap<String, String> = t.node_labels();
    node_labels.insert(labels::INSTANCE_TYPE.into(), seen.instance_type.clone());
    node_labels.insert(labels::ZONE.into(), seen.zone.clone());
    node_labels.insert(labels::REGION.into(), region.to_string());
    node_labels.insert(labels::CAPACITY_TYPE.into(), if seen.spot { "spot" } else { "on-demand" }.into());
    node_labels.insert(labels::HOSTNAME.into(), seen.id.clone());
    node_labels.entry(labels::OS.into()).or_insert_with(|| "linux".into());
    Some(NodeFacts {
        labels: node_labels,
        capacity: fleetfit_controller::cloud::resource_list(&t.capacity),
        allocatable: fleetfit_controller::cloud::resource_list(&t.allocatable),
    })
}

async fn poll(
    ec2: &aws_sdk_ec2::Client,
    nodes: &Api<Node>,
    catalog: &fleetfit::Catalog,
    cluster: &str,
    region: &str,
    stats: &Mutex<JoinStats>,
) -> Result<(), String> {
    let all = instances(ec2, cluster).await?;
    // Two live instances for one NodeClaim: remembered, whatever happens to them next.
    let mut by_claim: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for i in all.iter().filter(|i| i.live()) {
        if let Some(claim) = &i.nodeclaim {
            by_claim.entry(claim).or_default().insert(i.id.clone());
        }
    }
    {
        let mut s = stats.lock().unwrap();
        for (claim, ids) in by_claim.into_iter().filter(|(_, ids)| ids.len() > 1) {
            s.duplicates.entry(claim.to_string()).or_default().extend(ids);
        }
    }
    let existing = nodes.list(&ListParams::default()).await.map_err(|e| format!("listing Nodes: {e}"))?.items;
    let by_provider: BTreeMap<String, &Node> =
        existing.iter().filter_map(|n| Some((n.spec.as_ref()?.provider_id.clone()?, n))).collect();
    for i in &all {
        let node = by_provider.get(&i.provider_id());
        match i.state.as_str() {
            "running" if i.nodeclaim.is_some() && node.is_none() => {
                if stats.lock().unwrap().registered.contains_key(&i.id) {
                    continue; // its kubelet registered once; the Node went with the node
                }
                let Some(NodeFacts { labels, capacity, allocatable }) = node_facts(catalog, i, region) else {
                    return Err(format!("{}: {} is not in the catalog", i.id, i.instance_type));
                };
                let address = i.private_ip.clone().unwrap_or_else(|| "10.0.0.1".into());
                let node: Node = serde_json::from_value(serde_json::json!({
                    "metadata": {
                        "name": i.id,
                        "labels": labels,
                        "annotations": {"kwok.x-k8s.io/node": "fake"},
                    },
                    "spec": {
                        "providerID": i.provider_id(),
                        "taints": [{"key": "karpenter.sh/unregistered", "effect": "NoExecute"}],
                    },
                    "status": {
                        "capacity": capacity,
                        "allocatable": allocatable,
                        "addresses": [
                            {"type": "InternalIP", "address": address},
                            {"type": "Hostname", "address": i.id},
                        ],
                    },
                }))
                .map_err(|e| format!("Node {}: {e}", i.id))?;
                match nodes.create(&PostParams::default(), &node).await {
                    Ok(_) => {}
                    Err(kube::Error::Api(s)) if s.code == 409 => {}
                    Err(e) => return Err(format!("registering {}: {e}", i.id)),
                }
                stats.lock().unwrap().registered.insert(i.id.clone(), i.id.clone());
            }
            "shutting-down" | "terminated" => {
                let Some(node) = node else { continue };
                if node.metadata.deletion_timestamp.is_some() {
                    continue;
                }
                let name = node.metadata.name.clone().unwrap_or_default();
                match nodes.delete(&name, &DeleteParams::default()).await {
                    Ok(_) => {}
                    Err(kube::Error::Api(s)) if s.code == 404 => {}
                    Err(e) => return Err(format!("deleting Node {name}: {e}")),
                }
                stats.lock().unwrap().deleted.insert(name);
            }
            _ => {}
        }
    }
    Ok(())
}

/// A `CreateFleet` whose answer the [`Tap`] holds.
pub struct Held {
    /// The NodeClaim the fleet was launched for (its `karpenter.sh/nodeclaim` tag).
    pub nodeclaim: String,
    /// The instances the answer names.
    pub instances: Vec<String>,
    /// Send (or drop) to let the answer go to the caller.
    pub release: oneshot::Sender<()>,
}

#[derive(Default)]
struct TapState {
    armed: Option<oneshot::Sender<Held>>,
    create_fleets: usize,
}

/// An HTTP proxy in front of an EC2 endpoint; stopped when dropped.
pub struct Tap {
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
    state: Arc<Mutex<TapState>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Tap {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// How long an answer is held at most when the test does not release it.
const HOLD_AT_MOST: Duration = Duration::from_secs(30);

type Forward = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

impl Tap {
    /// A proxy on a free port of 127.0.0.1 forwarding everything to `upstream`
    /// (`http://127.0.0.1:<port>`).
    pub async fn start(upstream: &str) -> Tap {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let state: Arc<Mutex<TapState>> = Arc::default();
        let shared = state.clone();
        let upstream = upstream.trim_end_matches('/').to_string();
        let task = tokio::spawn(async move {
            let client: Forward = Client::builder(TokioExecutor::new()).build_http();
            loop {
                let Ok((socket, _)) = listener.accept().await else { continue };
                let (state, client, upstream) = (shared.clone(), client.clone(), upstream.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |req| tap(req, state.clone(), client.clone(), upstream.clone()));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(socket), service)
                        .await;
                });
            }
        });
        Tap { endpoint, state, task }
    }

    /// The next `CreateFleet` that launches an instance is held, and told on the receiver.
    pub fn arm(&self) -> oneshot::Receiver<Held> {
        let (tx, rx) = oneshot::channel();
        self.state.lock().unwrap().armed = Some(tx);
        rx
    }

    /// No longer hold the next one.
    pub fn disarm(&self) {
        self.state.lock().unwrap().armed = None;
    }

    /// How many `CreateFleet` answers came through.
    pub fn create_fleets(&self) -> usize {
        self.state.lock().unwrap().create_fleets
    }
}

/// The instance IDs in a `CreateFleet` answer (`<instanceIds><item>i-...</item>...`).
fn instance_ids(xml: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for block in xml.split("<instanceIds>").skip(1) {
        let block = block.split("</instanceIds>").next().unwrap_or_default();
        for item in block.split("<item>").skip(1) {
            let id = item.split("</item>").next().unwrap_or_default().trim();
            if id.starts_with("i-") {
                ids.push(id.to_string());
            }
        }
    }
    ids
}

/// The value of tag `key` in a `CreateFleet`'s parameters (`TagSpecification.N.Tag.M.Key`).
fn tag_param(params: &[(String, String)], key: &str) -> Option<String> {
    let at = params.iter().find(|(k, v)| k.starts_with("TagSpecification.") && k.ends_with(".Key") && v == key)?;
    let value_key = format!("{}.Value", at.0.strip_suffix(".Key")?);
    params.iter().find(|(k, _)| *k == value_key).map(|(_, v)| v.clone())
}

async fn tap(
    req: Request<hyper::body::Incoming>,
    state: Arc<Mutex<TapState>>,
    client: Forward,
    upstream: String,
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await?.to_bytes();
    let params: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let action = params.iter().find(|(k, _)| k == "Action").map(|(_, v)| v.clone()).unwrap_or_default();
    let mut forward = Request::builder().method(parts.method).uri(format!("{upstream}{}", parts.uri));
    for (name, value) in &parts.headers {
        if name != "content-length" && name != "host" {
            forward = forward.header(name, value);
        }
    }
    let forward = forward.body(Full::new(body)).unwrap();
    let answer = match client.request(forward).await {
        Ok(a) => a,
        Err(e) => {
            return Ok(Response::builder().status(502).body(Full::new(Bytes::from(format!("upstream: {e}")))).unwrap())
        }
    };
    let (mut parts, body) = answer.into_parts();
    let bytes = body.collect().await?.to_bytes();
    if action == "CreateFleet" {
        let ids = instance_ids(&String::from_utf8_lossy(&bytes));
        let armed = {
            let mut s = state.lock().unwrap();
            s.create_fleets += 1;
            if ids.is_empty() {
                None
            } else {
                s.armed.take()
            }
        };
        if let Some(tell) = armed {
            let (release, released) = oneshot::channel();
            let nodeclaim = tag_param(&params, "karpenter.sh/nodeclaim").unwrap_or_default();
            if tell.send(Held { nodeclaim, instances: ids, release }).is_ok() {
                let _ = tokio::time::timeout(HOLD_AT_MOST, released).await;
            }
        }
    }
    parts.headers.remove("content-length");
    parts.headers.remove("transfer-encoding");
    Ok(Response::from_parts(parts, Full::new(bytes)))
}
