//! An EC2 endpoint with capacity faults: a proxy in front of moto that speaks EC2's query
//! protocol. moto never runs out of capacity; here chosen (instance type, zone) pairs do, as
//! real EC2 answers an `instant` CreateFleet: the failing overrides come back in `errorSet`
//! with `InsufficientInstanceCapacity`, and the fleet launches on the others (if none is left,
//! the answer has errors and no instance). Every call is counted by action, and recorded
//! (service, action, parameters, answer) for the IAM policy's check ([`super::iam_policy`]);
//! the proxy forwards IAM's query protocol to moto as well.

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;

#[derive(Default)]
struct State {
    faults: BTreeSet<(String, String)>,
    calls: BTreeMap<String, usize>,
    recorded: Vec<Call>,
}

/// One call that came through.
#[derive(Debug, Clone)]
pub struct Call {
    /// `ec2` or `iam`: the service of the request's SigV4 credential scope.
    pub service: String,
    /// `CreateFleet`, `GetInstanceProfile`, ...
    pub action: String,
    /// The query parameters, in order.
    pub params: Vec<(String, String)>,
    /// The answer's body (the proxy's own, for a CreateFleet it failed whole).
    pub answer: String,
}

impl Call {
    /// The first value of parameter `key`.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// The proxy; stopped when dropped.
pub struct Ec2Faults {
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Ec2Faults {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Ec2Faults {
    /// A proxy on a free port of 127.0.0.1 in front of moto on `moto_port`.
    pub async fn start(moto_port: u16) -> Ec2Faults {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let state: Arc<Mutex<State>> = Arc::default();
        let shared = state.clone();
        let task = tokio::spawn(async move {
            let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
            loop {
                let Ok((socket, _)) = listener.accept().await else { continue };
                let state = shared.clone();
                let client = client.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| handle(req, state.clone(), client.clone(), moto_port));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(socket), service)
                        .await;
                });
            }
        });
        Ec2Faults { endpoint, state, task }
    }

    /// From now on, `instance_type` in `zone` has no capacity.
    pub fn fail(&self, instance_type: &str, zone: &str) {
        self.state.lock().unwrap().faults.insert((instance_type.to_string(), zone.to_string()));
    }

    /// Capacity everywhere again.
    pub fn heal(&self) {
        self.state.lock().unwrap().faults.clear();
    }

    /// How many calls of `action` (`CreateFleet`, `DescribeInstances`, ...) came through.
    pub fn calls(&self, action: &str) -> usize {
        self.state.lock().unwrap().calls.get(action).copied().unwrap_or(0)
    }

    /// Every call that came through, in order.
    pub fn recorded(&self) -> Vec<Call> {
        self.state.lock().unwrap().recorded.clone()
    }
}

type Forward = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

async fn handle(
    req: Request<hyper::body::Incoming>,
    state: Arc<Mutex<State>>,
    client: Forward,
    moto_port: u16,
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await?.to_bytes();
    let mut params: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let action = params.iter().find(|(k, _)| k == "Action").map(|(_, v)| v.clone()).unwrap_or_default();
    // Authorization: AWS4-HMAC-SHA256 Credential=<key>/<date>/<region>/<service>/aws4_request, ...
    let service = parts
        .headers
        .get("authorization")
        .and_then(|a| a.to_str().ok())
        .and_then(|a| a.split("Credential=").nth(1))
        .and_then(|c| c.split('/').nth(3))
        .unwrap_or_default()
        .to_string();
    let mut call = Call { service, action: action.clone(), params: params.clone(), answer: String::new() };
    let faults = {
        let mut s = state.lock().unwrap();
        *s.calls.entry(action.clone()).or_default() += 1;
        s.faults.clone()
    };
    let mut errors = String::new();
    if action == "CreateFleet" && !faults.is_empty() {
        let (kept, failed) = split_overrides(&params, &faults);
        let lifecycle = params
            .iter()
            .find(|(k, _)| k == "TargetCapacitySpecification.DefaultTargetCapacityType")
            .map_or("on-demand", |(_, v)| if v == "spot" { "spot" } else { "on-demand" });
        for [type_, zone, subnet] in &failed {
            errors.push_str(&format!(
                "<item><launchTemplateAndOverrides><overrides><instanceType>{type_}</instanceType>\
                 <subnetId>{subnet}</subnetId><availabilityZone>{zone}</availabilityZone></overrides>\
                 </launchTemplateAndOverrides><lifecycle>{lifecycle}</lifecycle>\
                 <errorCode>InsufficientInstanceCapacity</errorCode><errorMessage>We currently do not have \
                 sufficient {type_} capacity in the Availability Zone you requested ({zone}).</errorMessage></item>"
            ));
        }
        match kept {
            Some(kept) => params = kept,
            None => {
                let xml = format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CreateFleetResponse \
                     xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>fault-proxy</requestId>\
                     <fleetId>fleet-00000000-0000-0000-0000-000000000000</fleetId><errorSet>{errors}</errorSet>\
                     <fleetInstanceSet/></CreateFleetResponse>"
                );
                call.answer = xml.clone();
                state.lock().unwrap().recorded.push(call);
                return Ok(Response::builder()
                    .status(200)
                    .header("content-type", "text/xml")
                    .body(Full::new(Bytes::from(xml)))
                    .unwrap());
            }
        }
    }
    let body: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(&params).finish();
    let mut forward = Request::builder().method(parts.method).uri(format!("http://127.0.0.1:{moto_port}{}", parts.uri));
    for (name, value) in &parts.headers {
        if name != "content-length" && name != "host" {
            forward = forward.header(name, value);
        }
    }
    let forward = forward.body(Full::new(Bytes::from(body))).unwrap();
    let answer = match client.request(forward).await {
        Ok(a) => a,
        Err(e) => {
            return Ok(Response::builder().status(502).body(Full::new(Bytes::from(format!("moto: {e}")))).unwrap());
        }
    };
    let (mut parts, body) = answer.into_parts();
    let mut bytes = body.collect().await?.to_bytes();
    if !errors.is_empty() {
        let text = String::from_utf8_lossy(&bytes);
        let end = "</CreateFleetResponse>";
        if let Some(at) = text.rfind(end) {
            bytes = Bytes::from(format!("{}<errorSet>{errors}</errorSet>{}", &text[..at], &text[at..]));
        }
    }
    call.answer = String::from_utf8_lossy(&bytes).into_owned();
    state.lock().unwrap().recorded.push(call);
    parts.headers.remove("content-length");
    parts.headers.remove("transfer-encoding");
    Ok(Response::from_parts(parts, Full::new(bytes)))
}

/// Query parameters, in order.
type Params = Vec<(String, String)>;

/// The CreateFleet parameters without the overrides of faulty (type, zone) pairs, renumbered
/// (`None` if no override is left), and the removed overrides' (type, zone, subnet).
fn split_overrides(
    params: &[(String, String)],
    faults: &BTreeSet<(String, String)>,
) -> (Option<Params>, Vec<[String; 3]>) {
    // LaunchTemplateConfigs.<c>.Overrides.<n>.<Field>
    let mut overrides: BTreeMap<(u32, u32), BTreeMap<String, String>> = BTreeMap::new();
    let mut rest = Vec::new();
    for (k, v) in params {
        let parts: Vec<&str> = k.splitn(5, '.').collect();
        if parts.len() == 5 && parts[0] == "LaunchTemplateConfigs" && parts[2] == "Overrides" {
            if let (Ok(c), Ok(n)) = (parts[1].parse(), parts[3].parse()) {
                overrides.entry((c, n)).or_default().insert(parts[4].to_string(), v.clone());
                continue;
            }
        }
        rest.push((k.clone(), v.clone()));
    }
    let mut failed = Vec::new();
    let mut kept: BTreeMap<u32, Vec<BTreeMap<String, String>>> = BTreeMap::new();
    for ((c, _), fields) in overrides {
        let get = |f: &str| fields.get(f).cloned().unwrap_or_default();
        if faults.contains(&(get("InstanceType"), get("AvailabilityZone"))) {
            failed.push([get("InstanceType"), get("AvailabilityZone"), get("SubnetId")]);
        } else {
            kept.entry(c).or_default().push(fields);
        }
    }
    if kept.is_empty() {
        return (None, failed);
    }
    // Configurations left without overrides go; the others are renumbered from 1.
    let renumber: BTreeMap<u32, u32> = kept.keys().enumerate().map(|(i, c)| (*c, i as u32 + 1)).collect();
    let mut out: Vec<(String, String)> = rest
        .into_iter()
        .filter_map(|(k, v)| {
            let Some(tail) = k.strip_prefix("LaunchTemplateConfigs.") else { return Some((k, v)) };
            let (c, field) = tail.split_once('.')?;
            let c: u32 = c.parse().ok()?;
            renumber.get(&c).map(|new| (format!("LaunchTemplateConfigs.{new}.{field}"), v))
        })
        .collect();
    for (c, list) in kept {
        for (n, fields) in list.into_iter().enumerate() {
            for (f, v) in fields {
                out.push((format!("LaunchTemplateConfigs.{}.Overrides.{}.{f}", renumber[&c], n + 1), v));
            }
        }
    }
    (Some(out), failed)
}
