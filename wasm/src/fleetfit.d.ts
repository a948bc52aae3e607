
/** One manifest file: its name (used in errors and their locations) and its text. */
export interface Source {
  name: string;
  text: string;
}

/** The world a call plans in: manifests read together, and the catalog that prices them. */
export interface Input {
  sources: Source[];
  /** AWS region of the embedded catalog (default "us-east-1"); see regions(). */
  region?: string;
  /** Price adjustments (JSON or YAML text), as the CLI's --prices file. */
  prices?: string;
  /**
   * The zones new nodes may launch in (["us-east-1a", "us-east-1b"]); default: those the input
   * implies (EC2NodeClass subnets, NodePool zone requirements, nodes), else every zone.
   */
  zones?: string[];
  /** What an unknown manifest field is: an error (default) or a warning. */
  validate?: "strict" | "warn";
  /** Workloads a HorizontalPodAutoscaler scales: min (default) or max replicas. */
  hpa?: "min" | "max";
}

export type PackingMode = "optimize" | "karpenter";
export type ConsolidationMode = "optimize" | "karpenter" | "global";
export type TraceShape = "diurnal" | "nightly-batch" | "spike";

export interface PlanOptions {
  mode?: PackingMode;
}

export interface ExplainOptions {
  /** How many of the cheapest candidates to list per workload (default 3). */
  top?: number;
}

export interface ConsolidateOptions {
  /** The time to decide at, RFC 3339 (e.g. new Date().toISOString()). */
  now: string;
  mode?: ConsolidationMode;
  spot_to_spot?: boolean;
  /** global mode: what one unit of disruption cost is worth, per hour (default 0.001). */
  disruption_weight?: number;
  /** Also work out what Karpenter's rules alone would save (default true). */
  compare?: boolean;
}

export interface TraceOptions {
  shape: TraceShape;
  /** The first day's start, RFC 3339 (default 2026-12-01T00:00:00Z). */
  start?: string;
  days?: number;
}

/** A trace (YAML or JSON text), or a shape to generate one from (with start and days). */
export interface SimulateOptions {
  trace?: string;
  generate?: TraceShape;
  start?: string;
  days?: number;
  mode?: PackingMode;
  consolidation?: ConsolidationMode | "off";
  /** Go duration, default "5m". */
  consolidation_interval?: string;
  /** Go duration from launch to Ready, default "60s". */
  startup?: string;
}

/** One what-if scenario; an option left out changes nothing. */
export interface Scenario {
  /** Factor on each workload's pending pods. */
  replicas?: number;
  /** Factor on each pending pod's CPU and memory requests. */
  requests?: number;
  /** Share of each workload's pending pods pinned to spot (0 to 1). */
  spot_share?: number;
  /** Instance families every NodePool is restricted to. */
  families?: string[];
}

export interface SweepOptions {
  scenarios: Scenario[];
  mode?: PackingMode;
}

export interface CatalogOptions {
  region?: string;
  prices?: string;
}

/** Resources by name ("cpu", "memory", "pods", "nvidia.com/gpu", ...) as quantities. */
export type Resources = Record<string, string>;

export interface Utilisation {
  cpu: number;
  memory: number;
}

export interface PlannedNode {
  name: string;
  nodepool: string;
  instance_type: string;
  zone: string;
  capacity_type: string;
  price_per_hour: number;
  instance_types: string[];
  /** Pods placed on it, "namespace/name". */
  pods: string[];
  linux_priced?: boolean;
  requests: Resources;
  allocatable: Resources;
  utilisation: Utilisation;
}

/** A node of the input as the plan leaves it. */
export interface ExistingNodeUse {
  name: string;
  instance_type: string | null;
  zone: string | null;
  capacity_type: string | null;
  /** Pods take it: not cordoned, not being deleted. */
  schedulable: boolean;
  /** Pods bound to it (not finished). */
  pods: number;
  /** Pending pods the plan places on it. */
  placed: number;
  requests: Resources;
  allocatable: Resources;
  utilisation: Utilisation;
}

export interface Plan {
  mode: PackingMode | "exact";
  region: string;
  currency: string;
  nodes: PlannedNode[];
  existing: { pod: string; node: string }[];
  existing_nodes: ExistingNodeUse[];
  unschedulable: { pod: string; reasons: string[] }[];
  cost_per_hour: number;
  karpenter_cost_per_hour: number | null;
  lower_bound_per_hour: number;
  /** (cost - bound) / bound; null when only the bound is 0. */
  gap: number | null;
  utilisation: Utilisation;
  notes: string[];
  warnings: string[];
}

export interface CheapOption {
  nodepool: string;
  instance_type: string;
  capacity_type: string;
  zones: string[];
  price_per_hour: number;
  pods_per_node: number;
  limited_by: string | null;
  price_per_pod_hour: number;
}

export interface WorkloadExplanation {
  workload: { kind: string; namespace: string; name: string };
  name: string;
  pods: number;
  requests: Resources;
  schedulable: boolean;
  candidates: number;
  instance_types: number;
  nodepools: string[];
  cheapest: CheapOption[];
  rejections: Record<string, unknown>[];
}

export interface Explanation {
  region: string;
  currency: string;
  notes: string[];
  warnings: string[];
  default_nodepool: boolean;
  nodepools: {
    name: string;
    weight: number;
    requirements: string[];
    taints: string[];
    daemon_overhead: Resources;
    instance_types_allowed: number;
    instance_types_total: number;
  }[];
  pending_pods: number;
  workloads: WorkloadExplanation[];
}

export interface ConsolidationCommand {
  method: string;
  reason: string;
  action: "delete" | "replace";
  candidates: Record<string, unknown>[];
  replacements: Record<string, unknown>[];
  moves: { pod: string; to: string }[];
  savings_per_hour: number;
  disruption_cost: number;
}

export interface ConsolidationPlan {
  mode: ConsolidationMode;
  now: string;
  region: string;
  currency: string;
  commands: ConsolidationCommand[];
  kept: { node: string; nodepool: string; reasons: string[] }[];
  cost_per_hour_before: number;
  cost_per_hour_after: number;
  savings_per_hour: number;
  karpenter_savings_per_hour?: number;
  notes: string[];
  warnings: string[];
}

export interface TimelineStep {
  at: string;
  cost_per_hour: number;
  nodes: number;
  instance_types: Record<string, number>;
  spot_nodes: number;
  on_demand_nodes: number;
  pending_pods: number;
  unschedulable_pods: number;
  running_pods: number;
  launches: number;
  terminations: number;
  evictions: number;
}

export interface Timeline {
  options: Record<string, unknown>;
  currency: string;
  steps: TimelineStep[];
  totals: {
    cost: number;
    node_hours: number;
    pending_pod_seconds: number;
    launches: number;
    terminations: number;
    evictions: number;
    max_nodes: number;
    max_cost_per_hour: number;
  };
  notes: string[];
  warnings: string[];
}

/** What one what-if scenario's plan comes to. */
export interface Priced {
  cost_per_hour: number;
  lower_bound_per_hour: number;
  nodes: number;
  spot_nodes: number;
  pods: number;
  unschedulable: number;
}

export interface CatalogInfo {
  region: string;
  currency: string;
  source: string;
  instance_types: number;
  zones: string[];
  /** Where the prices come from, their dates and fallbacks. */
  notes: string[];
}

export interface DefaultNodePool {
  /** A karpenter.sh/v1 NodePool manifest (YAML) to start editing from. */
  manifest: string;
  /** The note every answer planned with it carries. */
  note: string;
}

/** The manifests as fleetfit reads them. */
export interface Inventory {
  pods: Record<string, unknown>[];
  workloads: Record<string, unknown>[];
  nodepools: Record<string, unknown>[];
  nodes: Record<string, unknown>[];
  notes: string[];
  [field: string]: unknown;
}

/** One error of a failed call; source and line when it is written in an input source. */
export interface Problem {
  message: string;
  source?: string;
  line?: number;
}

/**
 * What every function throws: an Error whose message names the object and field (or the
 * option) at fault; source and line of the first error placed in the input; every error.
 */
export interface FleetfitError extends Error {
  source?: string;
  line?: number;
  errors?: Problem[];
}
