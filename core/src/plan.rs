//! The Plan: where every pending pod goes, which new nodes to launch, what they cost, and how
//! far that cost can be from the best possible (lower bound and gap). One JSON shape for the
//! CLI, Python, the browser and the controller.

use crate::resources::Resources;
use serde::{Deserialize, Serialize};

/// How the packer decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Reproduces Karpenter v1's scheduling decisions, pod by pod.
    Karpenter,
    /// Karpenter's rules with cost-aware choices: never costlier than `karpenter`.
    #[default]
    Optimize,
    /// A pattern MILP over shape classes (HiGHS), warm-started from `optimize`.
    Exact,
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "karpenter" => Ok(Mode::Karpenter),
            "optimize" => Ok(Mode::Optimize),
            "exact" => Ok(Mode::Exact),
            other => Err(format!("unknown mode {other:?}: use karpenter, optimize or exact")),
        }
    }
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Mode::Karpenter => "karpenter",
            Mode::Optimize => "optimize",
            Mode::Exact => "exact",
        })
    }
}

/// Options of [`crate::pack::plan`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PlanOptions {
    pub mode: Mode,
    /// `exact` mode: HiGHS's time limit per solve (default 10 s); the best plan found by then
    /// is returned with its proven gap.
    #[serde(default)]
    pub time_limit_seconds: Option<f64>,
    /// Spot diversity: at most this share (0 < share ≤ 1) of the plan's spot nodes in one
    /// capacity pool (instance type × zone). Nodes over it move, whole, to the next-cheapest
    /// spot offering among their own instance-type options in a pool with room — to another
    /// zone only when none of their pods has zonal topology. The plan says what it cost
    /// ([`Plan::spot_diversity`]). `None`: Karpenter's choice, cheapest first.
    #[serde(default)]
    pub max_spot_pool_share: Option<f64>,
}

/// Requested share of allocatable, per resource (0.0–1.0).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Utilisation {
    pub cpu: f64,
    pub memory: f64,
}

impl Utilisation {
    pub fn of(requests: &Resources, allocatable: &Resources) -> Self {
        let share = |used: i64, total: i64| if total > 0 { used as f64 / total as f64 } else { 0.0 };
        Utilisation {
            cpu: share(requests.cpu.0, allocatable.cpu.0),
            memory: share(requests.memory.0, allocatable.memory.0),
        }
    }
}

/// A node to launch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedNode {
    /// A name for the plan only: `<nodepool>-<n>`.
    pub name: String,
    pub nodepool: String,
    /// The instance type the plan prices (the cheapest option, capacity type preferred as
    /// Karpenter prefers it: reserved, then spot, then on-demand).
    pub instance_type: String,
    pub zone: String,
    pub capacity_type: String,
    pub price_per_hour: f64,
    /// The NodeClaim's instance-type options, cheapest first, at most 60.
    pub instance_types: Vec<String>,
    /// Pods placed on it, `namespace/name`.
    pub pods: Vec<String>,
    /// A Windows node priced at the Linux rate: the embedded catalog has no Windows on-demand
    /// prices, so Windows nodes cost more than the plan says (see [`Plan::warnings`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub linux_priced: bool,
    /// Requests of its pods plus DaemonSets.
    pub requests: Resources,
    pub allocatable: Resources,
    pub utilisation: Utilisation,
}

/// The new spot nodes of one EC2 capacity pool: an instance type in a zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpotPool {
    pub instance_type: String,
    pub zone: String,
    pub nodes: usize,
    /// Of the plan's new spot nodes.
    pub share: f64,
}

/// What keeping the spot nodes spread over capacity pools did and cost
/// ([`PlanOptions::max_spot_pool_share`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpotDiversity {
    /// At most this share of the spot nodes in one pool, as asked.
    pub max_pool_share: f64,
    /// Whether the plan keeps to it (else [`Plan::warnings`] says where it does not, and why).
    pub satisfied: bool,
    /// Spot nodes moved to another pool.
    pub nodes_moved: usize,
    /// What the plan would cost without the option, per hour.
    pub cost_per_hour_without: f64,
    /// The plan's cost less `cost_per_hour_without`: the price of diversity.
    pub extra_cost_per_hour: f64,
}

/// A pending pod placed on a node that already exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExistingPlacement {
    pub pod: String,
    pub node: String,
}

/// A node of the input as the plan leaves it (in the input's order).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExistingNodeUse {
    pub name: String,
    /// Its `node.kubernetes.io/instance-type` label, if it has one.
    pub instance_type: Option<String>,
    pub zone: Option<String>,
    pub capacity_type: Option<String>,
    /// Pods take it: not cordoned, not being deleted.
    pub schedulable: bool,
    /// Pods bound to it (not finished).
    pub pods: usize,
    /// Pending pods the plan places on it.
    pub placed: usize,
    /// Requests of both.
    pub requests: Resources,
    pub allocatable: Resources,
    pub utilisation: Utilisation,
}

impl ExistingNodeUse {
    /// Each of `nodes` with its bound pods' requests and those of the pods `placed` on it
    /// (`(pod key, node name)`; `requests_of` gives a placed pod's requests).
    pub fn of<'p>(
        nodes: &[crate::model::Node],
        bound: &[crate::model::Pod],
        placed: &[ExistingPlacement],
        requests_of: impl Fn(&str) -> Option<&'p Resources>,
    ) -> Vec<ExistingNodeUse> {
        let mut uses: Vec<ExistingNodeUse> = nodes
            .iter()
            .map(|n| ExistingNodeUse {
                name: n.name.clone(),
                instance_type: n.instance_type().map(str::to_string),
                zone: n.zone().map(str::to_string),
                capacity_type: n.capacity_type().map(str::to_string),
                schedulable: !n.unschedulable && !n.deleting,
                pods: 0,
                placed: 0,
                requests: Resources::default(),
                allocatable: n.allocatable.clone(),
                utilisation: Utilisation { cpu: 0.0, memory: 0.0 },
            })
            .collect();
        // A name given twice holds its pods on the first, as the packer has it.
        let mut index: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for (i, n) in nodes.iter().enumerate() {
            index.entry(n.name.as_str()).or_insert(i);
        }
        for pod in bound {
            if matches!(pod.phase, crate::model::PodPhase::Succeeded | crate::model::PodPhase::Failed) {
                continue;
            }
            if let Some(&i) = pod.node_name.as_deref().and_then(|name| index.get(name)) {
                uses[i].pods += 1;
                uses[i].requests.add_assign(&pod.requests);
            }
        }
        for p in placed {
            if let (Some(&i), Some(requests)) = (index.get(p.node.as_str()), requests_of(&p.pod)) {
                uses[i].placed += 1;
                uses[i].requests.add_assign(requests);
            }
        }
        for u in &mut uses {
            u.utilisation = Utilisation::of(&u.requests, &u.allocatable);
        }
        uses
    }
}

/// A pod no node can take, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unschedulable {
    pub pod: String,
    pub reasons: Vec<String>,
}

/// The answer of [`crate::pack::plan`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub mode: Mode,
    pub region: String,
    pub currency: String,
    pub nodes: Vec<PlannedNode>,
    pub existing: Vec<ExistingPlacement>,
    /// The input's nodes as the plan leaves them: their pods and the pending pods placed there.
    #[serde(default)]
    pub existing_nodes: Vec<ExistingNodeUse>,
    pub unschedulable: Vec<Unschedulable>,
    /// Price per hour of the new nodes.
    pub cost_per_hour: f64,
    /// What `karpenter` mode's plan costs on the same input (for `optimize` and `exact`).
    pub karpenter_cost_per_hour: Option<f64>,
    /// No plan for the same pods can launch new nodes for less (see [`crate::bound`]).
    pub lower_bound_per_hour: f64,
    /// `(cost − bound) / bound`: 0 when the cost is 0; `None` when only the bound is 0.
    pub gap: Option<f64>,
    /// Requests over allocatable, summed over the new nodes.
    pub utilisation: Utilisation,
    pub notes: Vec<String>,
    /// What makes the plan incomplete or its prices too low: pods the input makes that are not
    /// counted, Windows nodes priced at Linux rates, a spot diversity share not met.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// The new spot nodes per capacity pool (instance type × zone), most first (then by type
    /// and zone); the notes say when one pool holds more than half of them.
    #[serde(default)]
    pub spot_pools: Vec<SpotPool>,
    /// With [`PlanOptions::max_spot_pool_share`]: what keeping to it did and cost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spot_diversity: Option<SpotDiversity>,
}

/// `x`, with a negative zero (an empty sum of `f64`, a product with `-0.0`) made `0.0`, so no
/// answer shows `-0`.
pub fn positive_zero(x: f64) -> f64 {
    x + 0.0
}

impl Plan {
    /// `(cost − bound) / bound`: 0 when the cost is 0, `None` when only the bound is 0.
    pub fn gap_of(cost: f64, bound: f64) -> Option<f64> {
        if cost <= 0.0 {
            Some(0.0)
        } else if bound <= 0.0 {
            None
        } else {
            Some(((cost - bound) / bound).max(0.0))
        }
    }
}
