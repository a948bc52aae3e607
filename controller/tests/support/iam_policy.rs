//! `controller/deploy/iam-policy.json` held against the calls the EC2 provider made (recorded by
//! the proxy of [`super::ec2_faults`]): each call, and what AWS authorizes with it (an
//! `instant` CreateFleet runs instances, tags given on creation need `ec2:CreateTags`, tags
//! on an instance profile `iam:TagInstanceProfile`, a role put in an instance profile
//! `iam:PassRole`), must be allowed by a statement of the policy for each resource it
//! touches, with the statement's conditions met: the request's tags (`aws:RequestTag/...`),
//! the tags the controller gave the resource when it made it, or an instance had when the
//! controller listed it (`aws:ResourceTag/...`; a resource it neither made nor listed in the
//! test has none), `ec2:CreateAction`, `iam:PassedToService`.
//! What moto cannot tell (the region and account in ARNs) is not checked: resources are
//! compared by their ARN's last part (`instance/i-0abc`, `instance-profile/karpenter/...`).

use super::ec2_faults::Call;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// One thing AWS authorizes: an action on a resource, in a context.
#[derive(Debug, Clone, Default)]
pub struct Check {
    /// `ec2:CreateFleet`.
    pub action: String,
    /// The ARN's last part (`instance/*` for one being made, `launch-template/<name>`), or `*`.
    pub resource: String,
    pub request_tags: Option<BTreeMap<String, String>>,
    pub resource_tags: Option<BTreeMap<String, String>>,
    /// Other condition keys: `ec2:CreateAction`, `iam:PassedToService`.
    pub context: BTreeMap<String, String>,
    /// Which recorded call it comes from, for messages.
    pub from: String,
}

#[derive(Debug)]
struct Statement {
    sid: String,
    actions: Vec<String>,
    /// (service, the ARN's last part) or ("*", "*").
    resources: Vec<(String, String)>,
    /// (operator, key, values)
    conditions: Vec<(String, String, Vec<String>)>,
}

/// The policy, its placeholders filled in.
#[derive(Debug)]
pub struct Policy {
    statements: Vec<Statement>,
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().map(|s| s.as_str().expect("a string").to_string()).collect(),
        other => panic!("not a string or a list of strings: {other}"),
    }
}

/// `*` matches any run of characters (`/` too), `?` one, as IAM's globs.
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

impl Policy {
    /// `controller/deploy/iam-policy.json` with `${ClusterName}`, `${NodeRoleName}` (may be a
    /// glob) and `${AccountId}` (any) filled in.
    pub fn load(cluster: &str, node_role: &str) -> Policy {
        let path = super::repo_root().join("controller/deploy/iam-policy.json");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let text =
            text.replace("${ClusterName}", cluster).replace("${NodeRoleName}", node_role).replace("${AccountId}", "*");
        assert!(!text.contains("${"), "a placeholder the test does not fill in: {text}");
        let json: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let statements = json["Statement"]
            .as_array()
            .expect("Statement")
            .iter()
            .map(|s| {
                assert_eq!(s["Effect"], "Allow", "only Allow statements: {s}");
                let resources = strings(&s["Resource"])
                    .into_iter()
                    .map(|arn| {
                        if arn == "*" {
                            return ("*".to_string(), "*".to_string());
                        }
                        let parts: Vec<&str> = arn.splitn(6, ':').collect();
                        assert!(parts.len() == 6 && parts[0] == "arn", "not an ARN: {arn}");
                        (parts[2].to_string(), parts[5].to_string())
                    })
                    .collect();
                let mut conditions = Vec::new();
                if let Some(ops) = s["Condition"].as_object() {
                    for (op, keys) in ops {
                        assert!(op == "StringEquals" || op == "StringLike", "operator {op} is not evaluated here");
                        for (key, values) in keys.as_object().expect("condition keys") {
                            conditions.push((op.clone(), key.clone(), strings(values)));
                        }
                    }
                }
                Statement {
                    sid: s["Sid"].as_str().unwrap_or_default().to_string(),
                    actions: strings(&s["Action"]),
                    resources,
                    conditions,
                }
            })
            .collect();
        Policy { statements }
    }

    /// Every action the policy names.
    pub fn actions(&self) -> BTreeSet<String> {
        self.statements.iter().flat_map(|s| s.actions.iter().cloned()).collect()
    }

    /// The statement that allows `check`, if any.
    pub fn allowing(&self, check: &Check) -> Option<&str> {
        let service = check.action.split(':').next().unwrap_or_default();
        self.statements
            .iter()
            .find(|s| {
                s.actions.iter().any(|a| glob(&a.to_lowercase(), &check.action.to_lowercase()))
                    && s.resources.iter().any(|(svc, r)| (svc == "*" || svc == service) && glob(r, &check.resource))
                    && s.conditions.iter().all(|(op, key, values)| {
                        let actual = if let Some(tag) = key.strip_prefix("aws:RequestTag/") {
                            check.request_tags.as_ref().and_then(|t| t.get(tag))
                        } else if let Some(tag) = key.strip_prefix("aws:ResourceTag/") {
                            check.resource_tags.as_ref().and_then(|t| t.get(tag))
                        } else {
                            check.context.get(key)
                        };
                        actual.is_some_and(|a| {
                            if op == "StringEquals" {
                                values.contains(a)
                            } else {
                                values.iter().any(|v| glob(v, a))
                            }
                        })
                    })
            })
            .map(|s| s.sid.as_str())
    }

    /// The checks of `calls` no statement allows, described.
    pub fn denied(&self, checks: &[Check]) -> Vec<String> {
        checks
            .iter()
            .filter(|c| self.allowing(c).is_none())
            .map(|c| {
                format!(
                    "{} on {} (request tags {:?}, resource tags {:?}, {:?}) for {}",
                    c.action, c.resource, c.request_tags, c.resource_tags, c.context, c.from
                )
            })
            .collect()
    }
}

/// `<prefix>.<n>.<field>` parameters, grouped by n: n → field → value.
fn indexed(call: &Call, prefix: &str) -> BTreeMap<u32, BTreeMap<String, String>> {
    let mut out: BTreeMap<u32, BTreeMap<String, String>> = BTreeMap::new();
    for (k, v) in &call.params {
        let Some(rest) = k.strip_prefix(prefix).and_then(|r| r.strip_prefix('.')) else { continue };
        let Some((n, field)) = rest.split_once('.') else { continue };
        if let Ok(n) = n.parse() {
            out.entry(n).or_default().insert(field.to_string(), v.clone());
        }
    }
    out
}

/// EC2's `TagSpecification.N`: resource type → tags.
fn tag_specifications(call: &Call) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for fields in indexed(call, "TagSpecification").values() {
        let Some(type_) = fields.get("ResourceType") else { continue };
        let mut tags = BTreeMap::new();
        for n in 1.. {
            let Some(key) = fields.get(&format!("Tag.{n}.Key")) else { break };
            tags.insert(key.clone(), fields.get(&format!("Tag.{n}.Value")).cloned().unwrap_or_default());
        }
        out.insert(type_.clone(), tags);
    }
    out
}

/// IAM's `Tags.member.N`.
fn iam_tags(call: &Call) -> BTreeMap<String, String> {
    indexed(call, "Tags.member")
        .values()
        .filter_map(|f| Some((f.get("Key")?.clone(), f.get("Value").cloned().unwrap_or_default())))
        .collect()
}

/// The instance IDs in a CreateFleet answer.
fn instance_ids(answer: &str) -> Vec<String> {
    let root = Element::parse(answer);
    let Some(response) = root.child("CreateFleetResponse") else { return Vec::new() };
    response.items("fleetInstanceSet").flat_map(|f| f.items("instanceIds")).map(|i| i.text.clone()).collect()
}

/// An XML element: its name, text and children (attributes are skipped; enough for EC2's
/// answers).
#[derive(Debug, Default)]
struct Element {
    name: String,
    text: String,
    children: Vec<Element>,
}

impl Element {
    fn parse(xml: &str) -> Element {
        let mut stack = vec![Element::default()];
        let mut rest = xml;
        while let Some(open) = rest.find('<') {
            if let Some(last) = stack.last_mut() {
                last.text.push_str(&rest[..open]);
            }
            let close = rest[open..].find('>').map_or(rest.len(), |c| open + c);
            let tag = &rest[open + 1..close];
            rest = rest.get(close + 1..).unwrap_or("");
            if tag.starts_with('?') || tag.starts_with('!') {
                continue;
            }
            if let Some(name) = tag.strip_prefix('/') {
                let done = stack.pop().expect("an open element");
                assert_eq!(done.name, name.trim(), "mismatched XML");
                stack.last_mut().expect("a parent").children.push(done);
                continue;
            }
            let empty = tag.ends_with('/');
            let name = tag.trim_end_matches('/').split_whitespace().next().unwrap_or_default().to_string();
            let element = Element { name, ..Element::default() };
            if empty {
                stack.last_mut().expect("a parent").children.push(element);
            } else {
                stack.push(element);
            }
        }
        stack.swap_remove(0)
    }

    fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The `item`s of child `name`.
    fn items(&self, name: &str) -> impl Iterator<Item = &Element> {
        self.child(name).into_iter().flat_map(|c| c.children.iter().filter(|i| i.name == "item"))
    }
}

/// The instances, with their tags, in a DescribeInstances answer.
fn described_instances(answer: &str) -> Vec<(String, BTreeMap<String, String>)> {
    let root = Element::parse(answer);
    let Some(response) = root.child("DescribeInstancesResponse") else { return Vec::new() };
    response
        .items("reservationSet")
        .flat_map(|r| r.items("instancesSet"))
        .filter_map(|i| {
            let id = i.child("instanceId")?.text.clone();
            let tags = i
                .items("tagSet")
                .filter_map(|t| {
                    Some((t.child("key")?.text.clone(), t.child("value").map(|v| v.text.clone()).unwrap_or_default()))
                })
                .collect();
            Some((id, tags))
        })
        .collect()
}

/// What AWS authorizes for each call: the call on each resource it touches, and what it implies.
pub fn checks(calls: &[Call]) -> Vec<Check> {
    // What the controller made, and the tags it gave: launch templates and instance profiles by
    // name, instances by ID.
    let mut templates: BTreeMap<String, (BTreeMap<String, String>, &Call)> = BTreeMap::new();
    let mut instances: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut profiles: BTreeMap<String, (String, BTreeMap<String, String>)> = BTreeMap::new();
    for c in calls {
        match c.action.as_str() {
            "CreateLaunchTemplate" => {
                let tags = tag_specifications(c).remove("launch-template").unwrap_or_default();
                templates.insert(c.param("LaunchTemplateName").unwrap_or_default().to_string(), (tags, c));
            }
            "CreateFleet" => {
                let tags = tag_specifications(c).remove("instance").unwrap_or_default();
                for id in instance_ids(&c.answer) {
                    instances.insert(id, tags.clone());
                }
            }
            // An instance it did not launch here (garbage collection) has the tags it was seen with.
            "DescribeInstances" => {
                for (id, tags) in described_instances(&c.answer) {
                    instances.entry(id).or_insert(tags);
                }
            }
            "CreateInstanceProfile" => {
                let name = c.param("InstanceProfileName").unwrap_or_default();
                let path = c.param("Path").unwrap_or("/");
                profiles.insert(name.to_string(), (format!("instance-profile{path}{name}"), iam_tags(c)));
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    for (i, c) in calls.iter().enumerate() {
        let from = format!("call {i}: {}:{}", c.service, c.action);
        let action = format!("{}:{}", c.service, c.action);
        let check = |action: &str, resource: String| Check {
            action: action.to_string(),
            resource,
            from: from.clone(),
            ..Check::default()
        };
        let profile = |name: &str| {
            profiles
                .get(name)
                .map(|(arn, tags)| (arn.clone(), Some(tags.clone())))
                .unwrap_or((format!("instance-profile/{name}"), None))
        };
        match (c.service.as_str(), c.action.as_str()) {
            ("ec2", "CreateLaunchTemplate") => {
                let name = c.param("LaunchTemplateName").unwrap_or_default();
                for (type_, tags) in tag_specifications(c) {
                    for a in [action.as_str(), "ec2:CreateTags"] {
                        let mut k = check(a, format!("{type_}/{name}"));
                        k.request_tags = Some(tags.clone());
                        if a == "ec2:CreateTags" {
                            k.context.insert("ec2:CreateAction".into(), c.action.clone());
                        }
                        out.push(k);
                    }
                }
            }
            ("ec2", "CreateFleet") => {
                // An instant fleet launches with RunInstances, authorized on the same resources.
                for a in [action.as_str(), "ec2:RunInstances"] {
                    for (type_, tags) in tag_specifications(c) {
                        if a == "ec2:RunInstances" && type_ == "fleet" {
                            continue;
                        }
                        let mut k = check(a, format!("{type_}/*"));
                        k.request_tags = Some(tags.clone());
                        out.push(k.clone());
                        if a == action {
                            k.action = "ec2:CreateTags".into();
                            k.context.insert("ec2:CreateAction".into(), c.action.clone());
                            out.push(k);
                        }
                    }
                    out.push(check(a, "network-interface/*".into()));
                    for config in indexed(c, "LaunchTemplateConfigs").values() {
                        for (field, value) in config {
                            if field.ends_with("SubnetId") {
                                out.push(check(a, format!("subnet/{value}")));
                            }
                        }
                    }
                    let names: BTreeSet<String> = c
                        .params
                        .iter()
                        .filter(|(k, _)| k.ends_with("LaunchTemplateSpecification.LaunchTemplateName"))
                        .map(|(_, v)| v.clone())
                        .collect();
                    for name in names {
                        let mut k = check(a, format!("launch-template/{name}"));
                        if let Some((tags, made)) = templates.get(&name) {
                            k.resource_tags = Some(tags.clone());
                            // What the template launches from.
                            for (key, value) in &made.params {
                                let resource = if key == "LaunchTemplateData.ImageId" {
                                    format!("image/{value}")
                                } else if key.starts_with("LaunchTemplateData.SecurityGroupId.") {
                                    format!("security-group/{value}")
                                } else if key.ends_with(".Ebs.SnapshotId") {
                                    format!("snapshot/{value}")
                                } else {
                                    continue;
                                };
                                out.push(check(a, resource));
                            }
                        }
                        out.push(k);
                    }
                }
            }
            ("ec2", "TerminateInstances") => {
                for (key, id) in &c.params {
                    if key.starts_with("InstanceId.") {
                        let mut k = check(&action, format!("instance/{id}"));
                        k.resource_tags = instances.get(id).cloned();
                        out.push(k);
                    }
                }
            }
            ("ec2", _) => out.push(check(&action, "*".into())),
            ("iam", "CreateInstanceProfile") => {
                let (arn, _) = profile(c.param("InstanceProfileName").unwrap_or_default());
                let tags = iam_tags(c);
                let mut k = check(&action, arn);
                k.request_tags = Some(tags.clone());
                out.push(k.clone());
                if !tags.is_empty() {
                    k.action = "iam:TagInstanceProfile".into();
                    out.push(k);
                }
            }
            ("iam", "AddRoleToInstanceProfile" | "RemoveRoleFromInstanceProfile" | "GetInstanceProfile") => {
                let (arn, tags) = profile(c.param("InstanceProfileName").unwrap_or_default());
                let mut k = check(&action, arn);
                k.resource_tags = tags;
                out.push(k);
                if c.action == "AddRoleToInstanceProfile" {
                    let mut k = check("iam:PassRole", format!("role/{}", c.param("RoleName").unwrap_or_default()));
                    k.context.insert("iam:PassedToService".into(), "ec2.amazonaws.com".into());
                    out.push(k);
                }
            }
            _ => out.push(check(&action, "*".into())),
        }
    }
    out
}

/// Panics, listing them, if any of `calls` (or what they imply) is outside the policy for
/// cluster `cluster` and node role `node_role`; returns the actions checked.
pub fn assert_allowed(calls: &[Call], cluster: &str, node_role: &str) -> BTreeSet<String> {
    let policy = Policy::load(cluster, node_role);
    let checks = checks(calls);
    let denied = policy.denied(&checks);
    assert!(
        denied.is_empty(),
        "controller/deploy/iam-policy.json does not allow what the EC2 provider did:\n{}",
        denied.join("\n")
    );
    checks.into_iter().map(|c| c.action).collect()
}
