//! `global` mode's choice: of many possible consolidation moves, the set with the largest
//! total value whose summed use of every shared row (a node, a NodePool's budget, a PDB, a
//! destination node's free room) stays within the row's capacity — a 0-1 multidimensional
//! knapsack. Solved exactly by HiGHS (the `milp` feature), by a greedy heuristic otherwise
//! (and as HiGHS's starting incumbent).

/// One move: its value and its use of rows, `(row, amount ≥ 0)`.
#[derive(Debug, Clone)]
pub(super) struct Choice {
    pub value: f64,
    pub uses: Vec<(usize, f64)>,
}

/// The chosen moves, and how.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Selection {
    /// Indices into the choices, by value (highest first, then index).
    pub chosen: Vec<usize>,
    /// The solver's words: `"HiGHS: optimal"`, `"greedy"`, ...
    pub method: String,
    /// Whether no other set within the rows has a larger total value.
    pub proven_optimal: bool,
}

/// HiGHS's branch-and-bound stops after this many nodes (a count, so that runs repeat).
#[cfg(feature = "milp")]
const MAX_NODES: i32 = 20_000;

/// Chooses among `choices` within `capacity` (per row). Choices of value ≤ 0 are never chosen.
pub(super) fn select(choices: &[Choice], capacity: &[f64]) -> Selection {
    let greedy = greedy(choices, capacity);
    #[cfg(feature = "milp")]
    if let Some(exact) = exact(choices, capacity, &greedy) {
        return exact;
    }
    Selection { chosen: greedy, method: "greedy".into(), proven_optimal: false }
}

/// Highest value first; a choice joins when every row it uses still has room.
fn greedy(choices: &[Choice], capacity: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..choices.len()).filter(|&c| choices[c].value > 0.0).collect();
    order.sort_by(|&a, &b| choices[b].value.total_cmp(&choices[a].value).then(a.cmp(&b)));
    let mut left = capacity.to_vec();
    let mut chosen = Vec::new();
    for c in order {
        if choices[c].uses.iter().all(|&(row, amount)| amount <= left[row] + 1e-9) {
            for &(row, amount) in &choices[c].uses {
                left[row] -= amount;
            }
            chosen.push(c);
        }
    }
    chosen
}

/// Total value of a set of choices.
#[cfg(feature = "milp")]
fn value(choices: &[Choice], set: &[usize]) -> f64 {
    set.iter().map(|&c| choices[c].value).sum()
}

/// Whether a set of choices keeps every row.
#[cfg(any(feature = "milp", test))]
fn fits(choices: &[Choice], capacity: &[f64], set: &[usize]) -> bool {
    let mut used = vec![0.0; capacity.len()];
    for &c in set {
        for &(row, amount) in &choices[c].uses {
            used[row] += amount;
        }
    }
    used.iter().zip(capacity).all(|(u, cap)| *u <= cap + 1e-6)
}

/// `max Σ value_c x_c` over `x_c ∈ {0, 1}` with `Σ_c use_rc x_c ≤ capacity_r`, by HiGHS from
/// the greedy set. `None` when HiGHS fails or finds nothing better than what it was given
/// and cannot prove it optimal.
#[cfg(feature = "milp")]
fn exact(choices: &[Choice], capacity: &[f64], start: &[usize]) -> Option<Selection> {
    use highs::{HighsModelStatus, HighsSolutionStatus, RowProblem, Sense};
    let useful: Vec<usize> = (0..choices.len()).filter(|&c| choices[c].value > 0.0).collect();
    if useful.is_empty() {
        return Some(Selection { chosen: Vec::new(), method: "nothing to choose".into(), proven_optimal: true });
    }
    let mut problem = RowProblem::default();
    let columns: Vec<_> = useful.iter().map(|&c| problem.add_integer_column(choices[c].value, 0.0..=1.0)).collect();
    let mut rows: Vec<Vec<(highs::Col, f64)>> = vec![Vec::new(); capacity.len()];
    for (k, &c) in useful.iter().enumerate() {
        // HiGHS takes one entry per row and column: a choice's uses of a row are summed.
        let mut uses: std::collections::BTreeMap<usize, f64> = std::collections::BTreeMap::new();
        for &(row, amount) in &choices[c].uses {
            *uses.entry(row).or_default() += amount;
        }
        for (row, amount) in uses {
            if amount != 0.0 {
                rows[row].push((columns[k], amount));
            }
        }
    }
    for (row, entries) in rows.into_iter().enumerate() {
        // A row no set of choices can overfill is left out.
        if !entries.is_empty() && entries.iter().map(|(_, a)| a).sum::<f64>() > capacity[row] + 1e-9 {
            problem.add_row(..=capacity[row], entries);
        }
    }
    let mut model = problem.try_optimise(Sense::Maximise).ok()?;
    model.try_set_option("threads", 1).ok()?;
    model.try_set_option("parallel", "off").ok()?;
    model.try_set_option("random_seed", 0).ok()?;
    model.try_set_option("output_flag", false).ok()?;
    model.try_set_option("mip_rel_gap", 1e-9).ok()?;
    model.try_set_option("mip_max_nodes", MAX_NODES).ok()?;
    let initial: Vec<f64> = useful.iter().map(|c| if start.contains(c) { 1.0 } else { 0.0 }).collect();
    let _ = model.try_set_solution(Some(&initial), None, None, None);
    let solved = model.try_solve().ok()?;
    let status = solved.status();
    if solved.primal_solution_status() != HighsSolutionStatus::Feasible {
        return None;
    }
    let mut chosen: Vec<usize> =
        useful.iter().zip(solved.get_solution().columns()).filter(|(_, &x)| x > 0.5).map(|(&c, _)| c).collect();
    chosen.sort_by(|&a, &b| choices[b].value.total_cmp(&choices[a].value).then(a.cmp(&b)));
    let optimal = status == HighsModelStatus::Optimal;
    if !fits(choices, capacity, &chosen) || (!optimal && value(choices, &chosen) <= value(choices, start) + 1e-12) {
        return None;
    }
    Some(Selection {
        chosen,
        method: if optimal { "HiGHS: optimal".into() } else { format!("HiGHS: {status:?}, best found") },
        proven_optimal: optimal,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choice(value: f64, uses: &[(usize, f64)]) -> Choice {
        Choice { value, uses: uses.to_vec() }
    }

    #[test]
    fn greedy_takes_the_best_first_and_keeps_the_rows() {
        // Row 0 holds one; the best alone beats the two smaller ones that share row 1.
        let choices = [choice(3.0, &[(0, 1.0)]), choice(2.0, &[(0, 1.0), (1, 1.0)]), choice(1.0, &[(1, 1.0)])];
        assert_eq!(greedy(&choices, &[1.0, 1.0]), vec![0, 2]);
        assert!(fits(&choices, &[1.0, 1.0], &[0, 2]));
        assert!(!fits(&choices, &[1.0, 1.0], &[0, 1]));
    }

    #[test]
    fn no_value_is_never_chosen() {
        let choices = [choice(0.0, &[]), choice(-1.0, &[])];
        assert!(select(&choices, &[]).chosen.is_empty());
    }

    #[cfg(feature = "milp")]
    #[test]
    fn exact_beats_greedy_when_the_best_single_blocks_two() {
        // Greedy takes the 5 (rows 0 and 1), which blocks two 4s; the optimum is 8.
        let choices = [choice(5.0, &[(0, 1.0), (1, 1.0)]), choice(4.0, &[(0, 1.0)]), choice(4.0, &[(1, 1.0)])];
        assert_eq!(greedy(&choices, &[1.0, 1.0]), vec![0]);
        let s = select(&choices, &[1.0, 1.0]);
        assert_eq!(s.chosen, vec![1, 2]);
        assert!(s.proven_optimal, "{}", s.method);
    }

    #[cfg(feature = "milp")]
    #[test]
    fn a_choice_may_use_a_row_twice() {
        // Two nodes of one NodePool in one move: the budget row is used twice.
        let choices = [choice(3.0, &[(0, 1.0), (0, 1.0)]), choice(2.0, &[(0, 1.0)]), choice(2.0, &[(0, 1.0)])];
        let s = select(&choices, &[2.0]);
        assert_eq!(s.chosen, vec![1, 2]);
        assert!(s.proven_optimal, "{}", s.method);
    }
}
