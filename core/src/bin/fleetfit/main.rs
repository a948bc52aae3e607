//! `fleetfit`: the command line. Human tables by default, `-o json` for machines.

mod catalog;
mod input;
mod table;

use clap::{Args, Parser, Subcommand, ValueEnum};
use fleetfit::explain::{explain, ExplainOptions};
use std::path::PathBuf;
use std::process::ExitCode;

/// mimalloc: planning allocates and frees many small vectors; with it the same plan takes about a
/// fifth less CPU than with the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "fleetfit", version, about = "Which nodes should this Kubernetes cluster run, and at what cost?")]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Print where the time went (reading the manifests, the catalog, filtering, topology,
    /// each packing run, the lower bound) to stderr.
    #[arg(long, global = true)]
    timings: bool,
}

#[derive(Subcommand)]
enum Command {
    /// For each workload: the NodePool × instance type candidates that can host its pods,
    /// the cheapest few, and why every other one cannot.
    Explain(ExplainArgs),
    /// Place every pending pod on existing or new nodes; price the new nodes and bound the
    /// cost of any better plan.
    Plan(PlanArgs),
    /// Which nodes of a cluster to delete or replace with cheaper ones, within disruption
    /// budgets, and why every other node stays.
    Consolidate(ConsolidateArgs),
    /// Replay a trace of workload changes (a day of traffic, nightly batch, a spike) through
    /// provisioning and consolidation: cost, nodes and pending pods over time.
    Simulate(SimulateArgs),
    /// The catalog's instance types as Karpenter sizes them for an EC2NodeClass: vCPUs,
    /// memory, allocatable, on-demand and spot prices, zones; filtered and sorted, or exported
    /// whole as JSON.
    Catalog(Box<catalog::CatalogCmdArgs>),
}

#[derive(Clone, Copy, ValueEnum)]
enum Output {
    Table,
    Json,
}

#[derive(Args)]
struct CommonArgs {
    /// Manifests: files, directories (searched for .yaml/.yml/.json) or - for stdin.
    #[arg(short = 'f', long = "filename", required = true, num_args = 1..)]
    files: Vec<PathBuf>,
    #[command(flatten)]
    setting: SettingArgs,
}

/// What every command reads besides the workloads: NodePools, the catalog, the output.
#[derive(Args)]
struct SettingArgs {
    /// Files with karpenter.sh/v1 NodePools (and EC2NodeClasses). Without any NodePool,
    /// Karpenter's default NodePool is used and printed.
    #[arg(long, num_args = 1..)]
    nodepools: Vec<PathBuf>,
    #[command(flatten)]
    catalog: CatalogArgs,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value = "table")]
    output: Output,
    /// An unknown field in a manifest (a typo such as `requirments:`) is an error (strict), or
    /// a warning and ignored (warn), as kubectl's --validate.
    #[arg(long, value_name = "strict|warn", default_value = "strict")]
    validate: fleetfit::manifest::Validation,
    /// Workloads a HorizontalPodAutoscaler scales: min counts their replicas clamped into the
    /// autoscaler's range (minReplicas when none are written); max counts maxReplicas, the
    /// peak.
    #[arg(long, value_name = "min|max", default_value = "min")]
    hpa: fleetfit::manifest::HpaReplicas,
}

/// Which catalog: the embedded one of a region or a file, its prices, the zones to launch in.
#[derive(Args)]
struct CatalogArgs {
    /// AWS region of the embedded catalog.
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// A catalog of your own instead of the embedded AWS one (.json or .csv).
    #[arg(long)]
    catalog: Option<PathBuf>,
    /// Price adjustments: Savings Plans discounts, per-type or per-family prices (JSON/YAML).
    #[arg(long)]
    prices: Option<PathBuf>,
    /// The zones new nodes may launch in (us-east-1a,us-east-1b). Default: the zones of the
    /// EC2NodeClasses' status.subnets, else of the NodePools' zone requirements, else of the
    /// cluster's nodes, else every zone of the region (said so in the notes).
    #[arg(long, value_delimiter = ',', num_args = 1..)]
    zones: Vec<String>,
}

impl CatalogArgs {
    /// The catalog these arguments name, restricted to the zones chosen for `inventory`.
    fn load(&self, inventory: &fleetfit::Inventory) -> fleetfit::Result<fleetfit::Catalog> {
        input::load_catalog(&self.region, self.catalog.as_deref(), self.prices.as_deref())?
            .for_inventory(inventory, &self.zones)
    }
}

impl SettingArgs {
    /// Reads the workload files and these settings' NodePool files into one inventory.
    fn load_inventory(&self, files: &[PathBuf]) -> fleetfit::Result<fleetfit::Inventory> {
        input::load_inventory(
            files,
            &self.nodepools,
            &fleetfit::manifest::ParseOptions { validation: self.validate, hpa: self.hpa },
        )
    }

    /// The catalog these settings name, restricted to the zones chosen for `inventory`.
    fn load_catalog(&self, inventory: &fleetfit::Inventory) -> fleetfit::Result<fleetfit::Catalog> {
        fleetfit::profile::phase("catalog", || self.catalog.load(inventory))
    }

    /// [`Self::load_inventory`], which must hold workloads (for plan, explain, simulate) or,
    /// with `nodes`, a cluster's nodes (for consolidate): an input without any is most likely
    /// the wrong file, and an answer of $0 would hide that.
    fn load_checked(&self, files: &[PathBuf], nodes: bool) -> fleetfit::Result<fleetfit::Inventory> {
        let inventory = self.load_inventory(files)?;
        let sources: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
        if nodes {
            fleetfit::manifest::require_nodes(&inventory, &sources)?;
        } else {
            fleetfit::manifest::require_workloads(&inventory, &sources)?;
        }
        Ok(inventory)
    }
}

#[derive(Args)]
struct PlanArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// A cluster snapshot (`kubectl get nodes,pods -A -o json`): its nodes take pending pods
    /// first.
    #[arg(long, num_args = 1..)]
    cluster: Vec<PathBuf>,
    /// How to decide: optimize (cost-aware, never costlier than karpenter), karpenter
    /// (reproduces Karpenter v1's scheduler) or exact (a MILP with HiGHS, needs the milp
    /// feature).
    #[arg(long, default_value = "optimize")]
    mode: fleetfit::plan::Mode,
    /// exact mode: seconds HiGHS may search per solve (default 10); the best plan found by
    /// then is returned with its proven gap.
    #[arg(long, value_name = "SECONDS")]
    time_limit: Option<f64>,
    /// Keep at most this share (above 0, at most 1) of the new spot nodes in one capacity
    /// pool (instance type × zone), moving the rest to their next-cheapest spot options;
    /// the plan says what that costs.
    #[arg(long, value_name = "SHARE", value_parser = spot_share, allow_negative_numbers = true)]
    spot_diversity: Option<f64>,
}

/// `--spot-diversity`: a share above 0 and at most 1.
fn spot_share(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(share) if share.is_finite() && share > 0.0 && share <= 1.0 => Ok(share),
        _ => Err(format!(
            "{text:?} is not a share above 0 and at most 1 (0.5: at most half of the spot nodes in one instance type \
             and zone)"
        )),
    }
}

#[derive(Args)]
struct ConsolidateArgs {
    /// The cluster snapshot (`kubectl get nodes,pods,pdb -A -o json`), files or directories.
    #[arg(long, required = true, num_args = 1..)]
    cluster: Vec<PathBuf>,
    #[command(flatten)]
    setting: SettingArgs,
    /// The time to decide at (RFC 3339, e.g. 2026-12-01T10:00:00Z); default: now.
    #[arg(long)]
    now: Option<String>,
    /// How to decide: optimize (Karpenter's guards, any number of cheaper replacements),
    /// karpenter (Karpenter v1's disruption rules) or global (the set of moves worth the most,
    /// savings less weighted disruption cost, within the budgets).
    #[arg(long, default_value = "optimize")]
    mode: fleetfit::consolidate::ConsolidationMode,
    /// Allow replacing spot nodes with cheaper spot nodes (Karpenter's SpotToSpotConsolidation).
    #[arg(long)]
    spot_to_spot: bool,
    /// Global mode: what one unit of disruption cost (about one evicted pod) is worth, per hour.
    #[arg(long, default_value_t = fleetfit::consolidate::DEFAULT_DISRUPTION_WEIGHT, allow_negative_numbers = true)]
    disruption_weight: f64,
}

#[derive(Args)]
struct SimulateArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// A cluster snapshot to start from (its nodes and pods).
    #[arg(long, num_args = 1..)]
    cluster: Vec<PathBuf>,
    /// The trace to replay (YAML or JSON; its format is in the README).
    #[arg(long, conflicts_with = "generate", required_unless_present = "generate")]
    trace: Option<PathBuf>,
    /// Instead of a trace file, generate one: diurnal, nightly-batch or spike.
    #[arg(long)]
    generate: Option<fleetfit::simulate::trace::Shape>,
    /// Generated traces: the first day's start (RFC 3339).
    #[arg(long, default_value = "2026-12-01T00:00:00Z")]
    start: String,
    /// Generated traces: how many days.
    #[arg(long, default_value_t = 1)]
    days: u32,
    /// Print the generated trace (YAML) instead of replaying it.
    #[arg(long, requires = "generate")]
    emit_trace: bool,
    /// How provisioning packs: optimize, karpenter or exact.
    #[arg(long, default_value = "optimize")]
    mode: fleetfit::plan::Mode,
    /// Consolidation: optimize, karpenter, global or off.
    #[arg(long, default_value = "optimize")]
    consolidation: String,
    /// How often consolidation runs.
    #[arg(long, default_value = "5m")]
    consolidation_interval: String,
    /// From a node's launch to Ready.
    #[arg(long, default_value = "60s")]
    startup: String,
}

#[derive(Args)]
struct ExplainArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// How many of the cheapest candidates to show per workload.
    #[arg(long, default_value_t = 3)]
    top: usize,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let timings = cli.timings.then(|| {
        fleetfit::profile::start();
        std::time::Instant::now()
    });
    let result = run(cli);
    if let Some(start) = timings {
        eprintln!("timings (s):");
        for p in fleetfit::profile::finish() {
            let calls = if p.calls > 1 { format!(" ({} calls)", p.calls) } else { String::new() };
            eprintln!("  {:<20} {:>8.3}{calls}", p.name, p.seconds);
        }
        eprintln!("  {:<20} {:>8.3}", "whole command", start.elapsed().as_secs_f64());
    }
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

/// Writes to stdout; a reader that stops early (`| head`) is not an error.
fn write_out(text: &str) -> fleetfit::Result<()> {
    use std::io::Write;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(fleetfit::Error::Usage(format!("writing the output: {e}")))
        }
        _ => Ok(()),
    }
}

/// Prints an answer as JSON or as its table. The table shows the answer's warnings; with JSON
/// they go to stderr as well, so no reader misses them.
fn emit<T: serde::Serialize>(
    output: Output,
    answer: &T,
    warnings: &[String],
    table: impl FnOnce() -> String,
) -> fleetfit::Result<ExitCode> {
    fleetfit::profile::phase("output", || emit_now(output, answer, warnings, table))
}

fn emit_now<T: serde::Serialize>(
    output: Output,
    answer: &T,
    warnings: &[String],
    table: impl FnOnce() -> String,
) -> fleetfit::Result<ExitCode> {
    match output {
        Output::Json => {
            for w in warnings {
                eprintln!("warning: {w}");
            }
            let json = serde_json::to_string_pretty(answer).map_err(|e| fleetfit::Error::Usage(e.to_string()))?;
            write_out(&(json + "\n"))?
        }
        Output::Table => write_out(&table())?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Hears (steps done, steps in all) and draws a progress bar on stderr when it is a terminal.
fn progress_bar() -> impl FnMut(usize, usize) {
    let show = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let mut shown = 0;
    move |done: usize, total: usize| {
        let percent = done * 100 / total.max(1);
        if show && (percent > shown || done == total) {
            shown = percent;
            let bar = "#".repeat(percent / 4);
            eprint!("\r[{bar:<25}] {percent:>3}%  step {done}/{total}");
            if done == total {
                eprintln!();
            }
        }
    }
}

fn simulate(args: SimulateArgs) -> fleetfit::Result<ExitCode> {
    use fleetfit::simulate::{SimulateOptions, Trace};
    use fleetfit::time::Duration;
    let c = &args.common.setting;
    let mut files = args.common.files.clone();
    files.extend(args.cluster.iter().cloned());
    let inventory = c.load_checked(&files, false)?;
    let catalog = c.load_catalog(&inventory)?;
    let usage = |flag: &str, e: String| fleetfit::Error::Usage(format!("{flag}: {e}"));
    let trace = match (&args.trace, args.generate) {
        (Some(path), _) => {
            let text = std::fs::read_to_string(path).map_err(|e| usage(&path.display().to_string(), e.to_string()))?;
            Trace::parse(&path.display().to_string(), &text)?
        }
        (None, Some(shape)) => {
            let start = args.start.parse().map_err(|e| usage("--start", e))?;
            Trace::generate(shape, &inventory.workloads, start, args.days, Duration::from_secs(60))
                .map_err(|e| usage("--days", e.to_string()))?
        }
        (None, None) => return Err(usage("--trace", "give a trace file, or --generate a shape".into())),
    };
    if args.emit_trace {
        write_out(&trace.to_yaml())?;
        return Ok(ExitCode::SUCCESS);
    }
    let consolidation = match args.consolidation.as_str() {
        "off" => None,
        other => Some(other.parse().map_err(|e| usage("--consolidation", format!("{e}, or off")))?),
    };
    let options = SimulateOptions {
        mode: args.mode,
        consolidation,
        consolidation_interval: args
            .consolidation_interval
            .parse()
            .map_err(|e| usage("--consolidation-interval", e))?,
        startup: args.startup.parse().map_err(|e| usage("--startup", e))?,
    };
    let timeline = fleetfit::simulate::simulate(&inventory, &catalog, &trace, &options, &mut progress_bar())?;
    emit(c.output, &timeline, &timeline.warnings, || table::timeline(&timeline))
}

fn run(cli: Cli) -> fleetfit::Result<ExitCode> {
    match cli.command {
        Command::Explain(args) => {
            let (files, c) = (&args.common.files, &args.common.setting);
            let inventory = c.load_checked(files, false)?;
            let catalog = c.load_catalog(&inventory)?;
            let explanation = explain(&inventory, &catalog, &ExplainOptions { top: args.top })?;
            emit(c.output, &explanation, &explanation.warnings, || table::explanation(&explanation, &inventory))
        }
        Command::Plan(args) => {
            let c = &args.common.setting;
            let mut files = args.common.files.clone();
            files.extend(args.cluster.iter().cloned());
            let inventory = c.load_checked(&files, false)?;
            let catalog = c.load_catalog(&inventory)?;
            let plan = fleetfit::pack::plan_with_progress(
                &inventory,
                &catalog,
                &fleetfit::plan::PlanOptions {
                    mode: args.mode,
                    time_limit_seconds: args.time_limit,
                    max_spot_pool_share: args.spot_diversity,
                },
                &mut progress_bar(),
            )?;
            emit(c.output, &plan, &plan.warnings, || table::plan(&plan, &inventory))
        }
        Command::Consolidate(args) => {
            let c = &args.setting;
            let inventory = c.load_checked(&args.cluster, true)?;
            let catalog = c.load_catalog(&inventory)?;
            let now = match &args.now {
                Some(t) => {
                    t.parse::<fleetfit::time::Timestamp>().map_err(|e| fleetfit::Error::Usage(format!("--now: {e}")))?
                }
                None => fleetfit::time::Timestamp(
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_err(|e| fleetfit::Error::Usage(format!("the system clock is before 1970: {e}")))?
                        .as_secs() as i64,
                ),
            };
            let options = fleetfit::consolidate::ConsolidateOptions {
                spot_to_spot: args.spot_to_spot,
                disruption_weight: args.disruption_weight,
                ..fleetfit::consolidate::ConsolidateOptions::new(args.mode, now)
            };
            let plan = fleetfit::consolidate::consolidate(&inventory, &catalog, &options)?;
            emit(c.output, &plan, &plan.warnings, || table::consolidation(&plan, &inventory))
        }
        Command::Simulate(args) => simulate(args),
        Command::Catalog(args) => catalog::run(*args),
    }
}
