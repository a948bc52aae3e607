//! The integer master over the pool, built for and solved by HiGHS.

use super::prepare::{Pool, Problem};
use super::{MilpError, MilpOptions};
use highs::{ColProblem, HighsModelStatus, HighsOptionValue, HighsSolutionStatus, Model, Sense};

/// HiGHS's random seed: fixed, so that runs repeat.
const RANDOM_SEED: i32 = 0;

/// What HiGHS returned.
pub(super) struct Outcome {
    /// Copies per pool pattern of the best solution it found, if any (checked to hold every pod
    /// within the limits).
    pub counts: Option<Vec<u64>>,
    /// Its proven lower bound on this MILP's optimum (over the pool only).
    pub dual_bound: Option<f64>,
    /// Its model status, in words.
    pub status: String,
}

/// Solves `min Σ_p price_p λ_p`, `Σ_p a_cp λ_p ≥ count_c`, limit rows, `λ_p ∈ {0, …, most_p}`,
/// from the incumbent `start` (copies per pattern) if any.
pub(super) fn solve(
    problem: &Problem<'_>,
    pool: &Pool,
    options: &MilpOptions,
    start: Option<&[u64]>,
) -> Result<Outcome, MilpError> {
    let input = problem.input;
    let mut model = ColProblem::default();
    let class_rows: Vec<_> = input.classes.iter().map(|c| model.add_row(c.count as f64..)).collect();
    let limit_rows: Vec<_> = problem.limits.iter().map(|row| model.add_row(..=row.max)).collect();
    for ((t, counts), &most) in pool.patterns.iter().zip(&pool.most) {
        let mut entries: Vec<_> = counts.iter().map(|&(c, a)| (class_rows[c], a as f64)).collect();
        for (row, limit) in limit_rows.iter().zip(&problem.limits) {
            let coefficient = limit.coefficients[*t];
            if coefficient != 0.0 {
                entries.push((*row, coefficient));
            }
        }
        model.add_integer_column(input.node_types[*t].price, 0.0..=most as f64, entries);
    }
    let mut model = model.try_optimise(Sense::Minimise).map_err(|e| MilpError::Solver(format!("{e:?}")))?;
    set(&mut model, "threads", 1)?;
    set(&mut model, "parallel", "off")?;
    set(&mut model, "random_seed", RANDOM_SEED)?;
    set(&mut model, "mip_rel_gap", options.relative_gap)?;
    if options.time_limit_seconds.is_finite() {
        set(&mut model, "time_limit", options.time_limit_seconds)?;
    }
    if let Some(nodes) = options.max_nodes {
        set(&mut model, "mip_max_nodes", i32::try_from(nodes).unwrap_or(i32::MAX))?;
    }
    if let Some(copies) = start {
        let values: Vec<f64> = copies.iter().map(|&n| n as f64).collect();
        // A starting incumbent only: if HiGHS refuses it, the search goes on without it.
        let _ = model.try_set_solution(Some(&values), None, None, None);
    }
    let solved = model.try_solve().map_err(|e| MilpError::Solver(format!("{e:?}")))?;
    let status = solved.status();
    let words = describe(status);
    if status == HighsModelStatus::Infeasible {
        let patterns = pool.patterns.len();
        // Over every maximal pattern that proves it; over a smaller pool it only says none was found.
        return Err(if pool.complete {
            MilpError::Infeasible { reason: format!("HiGHS: infeasible over all {patterns} maximal patterns") }
        } else {
            MilpError::NoSolution { status: format!("infeasible over {patterns} patterns of column generation") }
        });
    }
    let counts = if solved.primal_solution_status() == HighsSolutionStatus::Feasible {
        let solution = solved.get_solution();
        let copies: Option<Vec<u64>> = solution
            .columns()
            .iter()
            .map(|&x| (x.is_finite() && x > -0.5).then(|| x.round().max(0.0) as u64))
            .collect();
        copies.filter(|c| c.len() == pool.patterns.len() && problem.holds(pool, c))
    } else {
        None
    };
    let dual_bound = solved.double_info_value(c"mip_dual_bound").ok().filter(|v| v.is_finite());
    Ok(Outcome { counts, dual_bound, status: words })
}

fn set(model: &mut Model, name: &str, value: impl HighsOptionValue) -> Result<(), MilpError> {
    model.try_set_option(name, value).map_err(|_| MilpError::Solver(format!("HiGHS refused option {name}")))
}

fn describe(status: HighsModelStatus) -> String {
    let words = match status {
        HighsModelStatus::Optimal => "optimal",
        HighsModelStatus::Infeasible => "infeasible",
        HighsModelStatus::ReachedTimeLimit => "reached the time limit",
        HighsModelStatus::ReachedIterationLimit => "reached the iteration limit",
        HighsModelStatus::ReachedSolutionLimit => "reached the node limit",
        HighsModelStatus::ReachedInterrupt => "interrupted",
        HighsModelStatus::ReachedMemoryLimit => "reached the memory limit",
        HighsModelStatus::ModelEmpty => "empty model",
        other => return format!("{other:?}"),
    };
    words.to_string()
}
