//! The simplex solver against hand-solved, degenerate, infeasible and unbounded LPs, and
//! properties of random feasible ones (primal feasibility, strong duality, optimality against
//! random feasible points).

use fleetfit::lp::{LpError, Options, Problem, Relation, Simplex, Solution, Status};
use proptest::prelude::*;

const GE: Relation = Relation::GreaterEqual;
const LE: Relation = Relation::LessEqual;
const EQ: Relation = Relation::Equal;
const INF: f64 = f64::INFINITY;

/// Builds a problem from dense rows.
fn problem(costs: &[f64], uppers: &[f64], rows: &[(&[f64], Relation, f64)]) -> Problem {
    let mut p = Problem::new();
    for &(_, relation, rhs) in rows {
        p.add_row(relation, rhs).unwrap();
    }
    for (j, (&c, &u)) in costs.iter().zip(uppers).enumerate() {
        let entries: Vec<(usize, f64)> = rows.iter().enumerate().map(|(i, (a, _, _))| (i, a[j])).collect();
        p.add_column(c, u, &entries).unwrap();
    }
    p
}

fn solve(p: &Problem) -> Solution {
    p.solve(&Options::default())
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-7 * (1.0 + a.abs().max(b.abs()))
}

/// Row activities `A x`.
fn activities(p: &Problem, x: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; p.num_rows()];
    for (column, &xj) in p.columns().iter().zip(x) {
        for &(row, value) in &column.entries {
            out[row] += value * xj;
        }
    }
    out
}

/// Primal feasibility within a relative tolerance.
fn assert_feasible(p: &Problem, x: &[f64]) {
    for (j, (column, &xj)) in p.columns().iter().zip(x).enumerate() {
        assert!(xj >= -1e-9 && xj <= column.upper + 1e-9 * (1.0 + column.upper.abs()), "x[{j}] = {xj}");
    }
    for (i, a) in activities(p, x).into_iter().enumerate() {
        let b = p.rhs()[i];
        let slack = 1e-7 * (1.0 + b.abs());
        match p.relations()[i] {
            Relation::GreaterEqual => assert!(a >= b - slack, "row {i}: {a} < {b}"),
            Relation::LessEqual => assert!(a <= b + slack, "row {i}: {a} > {b}"),
            Relation::Equal => assert!((a - b).abs() <= slack, "row {i}: {a} != {b}"),
        }
    }
}

/// `bᵀπ + Σ_{d_j < 0} u_j d_j`: the dual objective for the returned prices.
fn dual_objective(p: &Problem, s: &Solution) -> f64 {
    let mut value: f64 = p.rhs().iter().zip(&s.duals).map(|(b, y)| b * y).sum();
    for (column, &d) in p.columns().iter().zip(&s.reduced_costs) {
        if d < 0.0 && column.upper.is_finite() {
            value += column.upper * d;
        }
    }
    value
}

#[test]
fn textbook_maximisation() {
    // max 3x + 5y s.t. x ≤ 4, 2y ≤ 12, 3x + 2y ≤ 18 → x = 2, y = 6, value 36.
    let p = problem(
        &[-3.0, -5.0],
        &[INF, INF],
        &[(&[1.0, 0.0], LE, 4.0), (&[0.0, 2.0], LE, 12.0), (&[3.0, 2.0], LE, 18.0)],
    );
    let s = solve(&p);
    assert_eq!(s.status, Status::Optimal);
    assert!(close(s.objective, -36.0), "{}", s.objective);
    assert!(close(s.x[0], 2.0) && close(s.x[1], 6.0), "{:?}", s.x);
    // Known duals of the maximisation (0, 1.5, 1), negated for the minimisation.
    assert!(close(s.duals[0], 0.0) && close(s.duals[1], -1.5) && close(s.duals[2], -1.0), "{:?}", s.duals);
    assert!(close(dual_objective(&p, &s), s.objective));
}

#[test]
fn diet_covering_problem() {
    // min 0.6a + 1.0b s.t. 2a + 4b ≥ 10 (cpu), a + b ≥ 3 → a = 1, b = 2: 2.6; or a = 3, b = 1: 2.8;
    // LP optimum at the vertex a = 1, b = 2 → 2.6.
    let p = problem(&[0.6, 1.0], &[INF, INF], &[(&[2.0, 4.0], GE, 10.0), (&[1.0, 1.0], GE, 3.0)]);
    let s = solve(&p);
    assert_eq!(s.status, Status::Optimal);
    assert!(close(s.objective, 2.6), "{}", s.objective);
    assert!(close(s.x[0], 1.0) && close(s.x[1], 2.0));
    assert!(s.duals.iter().all(|&y| y >= -1e-12), "≥ rows have non-negative prices: {:?}", s.duals);
    assert!(close(dual_objective(&p, &s), 2.6));
}

#[test]
fn equalities_and_negative_right_hand_sides() {
    // min x + 2y + 3z s.t. x + y + z = 6, x − y ≥ −2 (y ≤ x + 2), −z ≤ −1 (z ≥ 1), x ≤ 2.
    // Best: x = 2 (cheapest, at its bound), z = 1, y = 3 → 2 + 6 + 3 = 11.
    let p = problem(
        &[1.0, 2.0, 3.0],
        &[2.0, INF, INF],
        &[(&[1.0, 1.0, 1.0], EQ, 6.0), (&[1.0, -1.0, 0.0], GE, -2.0), (&[0.0, 0.0, -1.0], LE, -1.0)],
    );
    let s = solve(&p);
    assert_eq!(s.status, Status::Optimal);
    assert!(close(s.objective, 11.0), "{} {:?}", s.objective, s.x);
    assert_feasible(&p, &s.x);
    assert!(close(dual_objective(&p, &s), 11.0), "{}", dual_objective(&p, &s));
}

#[test]
fn upper_bounds_and_bound_flips() {
    // max x + y + z with each ≤ 1 and x + y + z ≤ 2.5 → 2.5.
    let p = problem(&[-1.0, -1.0, -1.0], &[1.0, 1.0, 1.0], &[(&[1.0, 1.0, 1.0], LE, 2.5)]);
    let s = solve(&p);
    assert_eq!(s.status, Status::Optimal);
    assert!(close(s.objective, -2.5));
    assert_feasible(&p, &s.x);
    assert!(close(dual_objective(&p, &s), -2.5));
    // Without rows: each variable goes to the bound its cost prefers.
    let p = problem(&[-1.0, 2.0, 0.0], &[3.0, 5.0, INF], &[]);
    let s = solve(&p);
    assert_eq!(s.status, Status::Optimal);
    assert_eq!(s.x, vec![3.0, 0.0, 0.0]);
}

#[test]
fn degenerate_problems_terminate() {
    // Beale's cycling example (cycles under Dantzig's rule without anti-cycling).
    let p = problem(
        &[-0.75, 150.0, -0.02, 6.0],
        &[INF; 4],
        &[
            (&[0.25, -60.0, -0.04, 9.0], LE, 0.0),
            (&[0.5, -90.0, -0.02, 3.0], LE, 0.0),
            (&[0.0, 0.0, 1.0, 0.0], LE, 1.0),
        ],
    );
    let s = solve(&p);
    assert_eq!(s.status, Status::Optimal);
    assert!(close(s.objective, -0.05), "{}", s.objective);
    assert!(close(dual_objective(&p, &s), -0.05));
    // Many redundant constraints through one vertex.
    let rows: Vec<(Vec<f64>, f64)> = (1..=20).map(|k| (vec![k as f64, (21 - k) as f64], 21.0)).collect();
    let refs: Vec<(&[f64], Relation, f64)> = rows.iter().map(|(a, b)| (a.as_slice(), GE, *b)).collect();
    let p = problem(&[1.0, 1.0], &[INF, INF], &refs);
    let s = solve(&p);
    assert_eq!(s.status, Status::Optimal);
    assert!(close(s.objective, 2.0), "{}", s.objective);
    assert!(close(dual_objective(&p, &s), 2.0));
    // A duplicated equality (rank-deficient rows).
    let p =
        problem(&[1.0, 1.0], &[INF, INF], &[(&[1.0, 1.0], EQ, 4.0), (&[2.0, 2.0], EQ, 8.0), (&[1.0, 0.0], GE, 1.0)]);
    let s = solve(&p);
    assert_eq!(s.status, Status::Optimal);
    assert!(close(s.objective, 4.0));
    assert_feasible(&p, &s.x);
}

#[test]
fn infeasible_problems() {
    let p = problem(&[1.0, 1.0], &[INF, INF], &[(&[1.0, 1.0], LE, 1.0), (&[1.0, 1.0], GE, 2.0)]);
    assert_eq!(solve(&p).status, Status::Infeasible);
    // Infeasible only because of an upper bound.
    let p = problem(&[1.0], &[1.0], &[(&[1.0], GE, 2.0)]);
    assert_eq!(solve(&p).status, Status::Infeasible);
    // Inconsistent equalities.
    let p = problem(&[0.0, 0.0], &[INF, INF], &[(&[1.0, 1.0], EQ, 1.0), (&[1.0, 1.0], EQ, 2.0)]);
    assert_eq!(solve(&p).status, Status::Infeasible);
    // An empty row that asks for something.
    let p = problem(&[1.0], &[INF], &[(&[0.0], GE, 1.0)]);
    assert_eq!(solve(&p).status, Status::Infeasible);
}

#[test]
fn unbounded_problems() {
    let p = problem(&[-1.0, 0.0], &[INF, INF], &[(&[1.0, -1.0], LE, 1.0)]);
    assert_eq!(solve(&p).status, Status::Unbounded);
    let p = problem(&[-1.0], &[INF], &[]);
    assert_eq!(solve(&p).status, Status::Unbounded);
    // Bounded by the upper bound instead.
    let p = problem(&[-1.0, 0.0], &[7.0, INF], &[(&[1.0, -1.0], LE, 1.0)]);
    let s = solve(&p);
    assert_eq!(s.status, Status::Optimal);
    assert!(close(s.objective, -7.0));
}

#[test]
fn iteration_limit_is_reported() {
    let rows: Vec<(Vec<f64>, f64)> =
        (0..30).map(|i| ((0..30).map(|j| ((i * 7 + j * 3) % 11 + 1) as f64).collect(), 10.0)).collect();
    let refs: Vec<(&[f64], Relation, f64)> = rows.iter().map(|(a, b)| (a.as_slice(), GE, *b)).collect();
    let p = problem(&[1.0; 30], &[INF; 30], &refs);
    let s = p.solve(&Options { max_iterations: Some(2), ..Options::default() });
    assert_eq!(s.status, Status::IterationLimit);
    assert_eq!(s.iterations, 2);
    assert_eq!(solve(&p).status, Status::Optimal);
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let mut p = Problem::new();
    assert!(matches!(p.add_row(GE, f64::NAN), Err(LpError::Rhs { .. })));
    p.add_row(GE, 1.0).unwrap();
    assert!(matches!(p.add_column(f64::INFINITY, 1.0, &[]), Err(LpError::Cost { .. })));
    assert!(matches!(p.add_column(1.0, -1.0, &[]), Err(LpError::Upper { .. })));
    assert!(matches!(p.add_column(1.0, f64::NAN, &[]), Err(LpError::Upper { .. })));
    assert!(matches!(p.add_column(1.0, 1.0, &[(3, 1.0)]), Err(LpError::Row { .. })));
    assert!(matches!(p.add_column(1.0, 1.0, &[(0, f64::NAN)]), Err(LpError::Coefficient { .. })));
    assert!(matches!(p.add_column(1.0, 1.0, &[(0, f64::MAX), (0, f64::MAX)]), Err(LpError::Coefficient { .. })));
    // Duplicates are summed, zeros dropped.
    p.add_column(1.0, INF, &[(0, 0.5), (0, 0.5)]).unwrap();
    p.add_column(1.0, INF, &[(0, 0.0)]).unwrap();
    assert_eq!(p.columns()[0].entries, vec![(0, 1.0)]);
    assert!(p.columns()[1].entries.is_empty());
    let s = solve(&p);
    assert_eq!(s.status, Status::Optimal);
    assert!(close(s.objective, 1.0));
}

#[test]
fn badly_scaled_rows() {
    // Memory in bytes next to cpu in millicores: min 0.15a + 0.4b (prices per node) with
    // a: 4000m / 8 GiB, b: 4000m / 32 GiB; need 10,000m and 64 GiB.
    let gib = 1024.0 * 1024.0 * 1024.0;
    let p = problem(
        &[0.15, 0.4],
        &[INF, INF],
        &[(&[4000.0, 4000.0], GE, 10_000.0), (&[8.0 * gib, 32.0 * gib], GE, 64.0 * gib)],
    );
    let s = solve(&p);
    assert_eq!(s.status, Status::Optimal);
    // Vertex: a + b = 2.5, 8a + 32b = 64 → b = 11/6, a = 2/3 → 0.1 + 0.4·11/6 ≈ 0.833; a alone
    // (a = 8) costs 1.2, b alone (b = 2.5) 1.0.
    let expected = 0.1 + 0.4 * 11.0 / 6.0;
    assert!(close(s.objective, expected), "{}", s.objective);
    assert!(close(dual_objective(&p, &s), expected));
}

#[test]
fn warm_start_after_adding_columns() {
    // Cutting stock master: rolls of width 10, items 3 (demand 9) and 4 (demand 5); start with
    // single-item patterns, then add the mixed pattern (one 3 + one 4... and two 3s + one 4).
    let mut p = Problem::new();
    p.add_row(GE, 9.0).unwrap();
    p.add_row(GE, 5.0).unwrap();
    p.add_column(1.0, INF, &[(0, 3.0)]).unwrap();
    p.add_column(1.0, INF, &[(1, 2.0)]).unwrap();
    let mut simplex = Simplex::new(&p, &Options::default());
    let first = simplex.solve();
    assert_eq!(first.status, Status::Optimal);
    assert!(close(first.objective, 3.0 + 2.5));
    simplex.add_column(1.0, INF, &[(0, 2.0), (1, 1.0)]).unwrap();
    let second = simplex.solve();
    assert_eq!(second.status, Status::Optimal);
    p.add_column(1.0, INF, &[(0, 2.0), (1, 1.0)]).unwrap();
    let cold = solve(&p);
    assert!(close(second.objective, cold.objective), "{} vs {}", second.objective, cold.objective);
    assert_eq!(second.x.len(), 3);
    // 2 rolls of (3,3,4)... LP: λ3 = (9 − 2λm)/3, λ4 = (5 − λm)/2: λm = 4.5 → 0 + 0.25 + 4.5 = 4.75.
    assert!(close(second.objective, 4.75), "{}", second.objective);
}

/// A covering LP `min cᵀx, Ax ≥ b` with sparse non-negative columns (simple LCG).
fn covering(rows: usize, columns: usize, seed: u64) -> Problem {
    let mut state = seed;
    let mut next = move |n: u64| {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (state >> 33) % n
    };
    let mut p = Problem::new();
    for _ in 0..rows {
        p.add_row(GE, 1.0 + next(50) as f64).unwrap();
    }
    for _ in 0..columns {
        let entries: Vec<(usize, f64)> = (0..4).map(|_| (next(rows as u64) as usize, 1.0 + next(6) as f64)).collect();
        let size: f64 = entries.iter().map(|e| e.1).sum();
        p.add_column(size * (0.8 + next(40) as f64 / 100.0), INF, &entries).unwrap();
    }
    p
}

/// Primal feasibility, dual feasibility (signs and reduced costs) and equal objectives: the
/// solution is optimal whatever path the solver took.
fn assert_optimal(p: &Problem, s: &Solution) {
    assert_eq!(s.status, Status::Optimal);
    assert_feasible(p, &s.x);
    for (i, &y) in s.duals.iter().enumerate() {
        match p.relations()[i] {
            Relation::GreaterEqual => assert!(y >= -1e-7, "row {i}: price {y}"),
            Relation::LessEqual => assert!(y <= 1e-7, "row {i}: price {y}"),
            Relation::Equal => {}
        }
    }
    for (j, (&d, column)) in s.reduced_costs.iter().zip(p.columns()).enumerate() {
        if column.upper.is_infinite() || s.x[j] < column.upper - 1e-9 {
            assert!(d >= -1e-7 * (1.0 + column.cost.abs()), "column {j}: reduced cost {d}");
        }
    }
    assert!(close(s.objective, dual_objective(p, s)), "{} vs {}", s.objective, dual_objective(p, s));
}

#[test]
fn many_columns_are_sifted() {
    // 20 rows × 3000 columns: solved over a working set of columns, the rest priced in.
    let p = covering(20, 3000, 11);
    let s = solve(&p);
    assert_optimal(&p, &s);
    // Fewer columns (no sifting) and a problem that needs phase 1 (an equality row) agree with
    // themselves the same way.
    let p = covering(20, 150, 12);
    assert_optimal(&p, &solve(&p));
    let mut q = covering(15, 2500, 13);
    q.add_row(EQ, 0.0).unwrap();
    let x = q.add_column(-1.0, 5.0, &[(15, 1.0), (0, 1.0)]).unwrap();
    q.add_column(0.0, INF, &[(15, -1.0)]).unwrap();
    let s = solve(&q);
    assert_optimal(&q, &s);
    assert!(close(s.x[x], 5.0));
}

#[test]
fn many_columns_infeasible() {
    // A row only one column touches, asking the impossible.
    let mut p = covering(10, 2500, 14);
    p.add_row(LE, -1.0).unwrap();
    p.add_column(1.0, INF, &[(10, 1.0)]).unwrap();
    assert_eq!(solve(&p).status, Status::Infeasible);
    // Rows every column touches, contradicting each other.
    let mut p = Problem::new();
    p.add_row(LE, 1.0).unwrap();
    p.add_row(GE, 2.0).unwrap();
    for j in 0..3000 {
        p.add_column(1.0 + (j % 7) as f64, INF, &[(0, 1.0), (1, 1.0)]).unwrap();
    }
    assert_eq!(solve(&p).status, Status::Infeasible);
}

#[test]
fn deterministic() {
    let p = problem(
        &[-3.0, -5.0, -4.0],
        &[INF, 3.0, INF],
        &[(&[1.0, 2.0, 1.0], LE, 10.0), (&[3.0, 1.0, 2.0], LE, 15.0), (&[1.0, 1.0, 1.0], GE, 1.0)],
    );
    let a = solve(&p);
    let b = solve(&p);
    assert_eq!(format!("{a:?}"), format!("{b:?}"));
}

/// A random LP made feasible by construction: rows are evaluated at a random point `x0` inside
/// the bounds and the right-hand sides chosen so that `x0` satisfies them.
#[derive(Debug, Clone)]
struct RandomLp {
    problem: Problem,
    x0: Vec<f64>,
}

fn random_lp(max_rows: usize, max_columns: usize) -> impl Strategy<Value = RandomLp> {
    (1..max_rows, 1..max_columns).prop_flat_map(|(m, n)| {
        (
            prop::collection::vec(prop::collection::vec(prop_oneof![3 => Just(0i32), 7 => -5i32..=9], n), m),
            prop::collection::vec(0i32..=6, m),
            prop::collection::vec(0u8..3, m),
            prop::collection::vec(-4i32..=10, n),
            prop::collection::vec(prop_oneof![Just(None), (1i32..=8).prop_map(Some)], n),
            prop::collection::vec(0.0f64..1.0, n),
        )
            .prop_map(move |(a, slack, kinds, costs, uppers, fractions)| {
                let uppers: Vec<f64> = uppers.iter().map(|u| u.map_or(INF, f64::from)).collect();
                let x0: Vec<f64> =
                    uppers.iter().zip(&fractions).map(|(u, f)| if u.is_finite() { u * f } else { 6.0 * f }).collect();
                let mut p = Problem::new();
                for (i, row) in a.iter().enumerate() {
                    let activity: f64 = row.iter().zip(&x0).map(|(&v, x)| f64::from(v) * x).sum();
                    let s = f64::from(slack[i]);
                    match kinds[i] {
                        0 => p.add_row(GE, activity - s).unwrap(),
                        1 => p.add_row(LE, activity + s).unwrap(),
                        _ => p.add_row(EQ, activity).unwrap(),
                    };
                }
                for j in 0..n {
                    let entries: Vec<(usize, f64)> = (0..m).map(|i| (i, f64::from(a[i][j]))).collect();
                    // Keep the objective bounded: costs of unbounded variables are ≥ 0 unless
                    // a ≤ row caps them; simplest is to make them non-negative.
                    let c = if uppers[j].is_finite() { f64::from(costs[j]) } else { f64::from(costs[j]).abs() };
                    p.add_column(c, uppers[j], &entries).unwrap();
                }
                RandomLp { problem: p, x0 }
            })
    })
}

fn objective(p: &Problem, x: &[f64]) -> f64 {
    p.columns().iter().zip(x).map(|(c, x)| c.cost * x).sum()
}

/// Optimal, primal and dual feasible, strong duality, no better than feasible points nearby,
/// deterministic.
fn check_random_lp(lp: &RandomLp, mix: &[f64]) -> Result<(), TestCaseError> {
    let p = &lp.problem;
    let s = solve(p);
    prop_assert_eq!(s.status, Status::Optimal);
    assert_feasible(p, &s.x);
    let scale = 1.0 + s.objective.abs();
    // Strong duality.
    let dual = dual_objective(p, &s);
    prop_assert!((s.objective - dual).abs() <= 1e-6 * scale, "primal {} dual {}", s.objective, dual);
    // Dual feasibility: prices have the right signs, reduced costs the right signs at bounds.
    for (i, &y) in s.duals.iter().enumerate() {
        match p.relations()[i] {
            Relation::GreaterEqual => prop_assert!(y >= -1e-7, "row {} price {}", i, y),
            Relation::LessEqual => prop_assert!(y <= 1e-7, "row {} price {}", i, y),
            Relation::Equal => {}
        }
    }
    for (j, &d) in s.reduced_costs.iter().enumerate() {
        if s.x[j] <= 1e-9 {
            prop_assert!(d >= -1e-7 || p.columns()[j].upper <= 1e-9, "x[{}] at 0 with d {}", j, d);
        } else if s.x[j] < p.columns()[j].upper - 1e-9 {
            prop_assert!(d.abs() <= 1e-7, "x[{}] basic with d {}", j, d);
        }
    }
    // No feasible point does better: x0 and points on the segment between x0 and x*.
    prop_assert!(s.objective <= objective(p, &lp.x0) + 1e-7 * scale);
    for t in mix {
        let point: Vec<f64> = lp.x0.iter().zip(&s.x).map(|(a, b)| a * t + b * (1.0 - t)).collect();
        prop_assert!(s.objective <= objective(p, &point) + 1e-7 * scale);
    }
    // Same input, same output.
    prop_assert_eq!(format!("{:?}", s), format!("{:?}", solve(p)));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_feasible_lps(lp in random_lp(8, 10), mix in prop::collection::vec(0.0f64..1.0, 4)) {
        check_random_lp(&lp, &mix)?;
    }


    #[test]
    fn random_lps_never_panic(
        m in 0usize..5,
        entries in prop::collection::vec((0usize..5, 0usize..6, -3.0f64..3.0), 0..20),
        rhs in prop::collection::vec(-5.0f64..5.0, 5),
        kinds in prop::collection::vec(0u8..3, 5),
        costs in prop::collection::vec(-2.0f64..2.0, 6),
        uppers in prop::collection::vec(prop_oneof![Just(INF), 0.0f64..4.0], 6),
    ) {
        let mut p = Problem::new();
        for i in 0..m {
            let relation = [GE, LE, EQ][kinds[i] as usize];
            p.add_row(relation, rhs[i]).unwrap();
        }
        for j in 0..6 {
            let column: Vec<(usize, f64)> = entries.iter().filter(|e| e.1 == j && e.0 < m).map(|e| (e.0, e.2)).collect();
            p.add_column(costs[j], uppers[j], &column).unwrap();
        }
        let s = solve(&p);
        if s.status == Status::Optimal {
            assert_feasible(&p, &s.x);
            prop_assert!((s.objective - dual_objective(&p, &s)).abs() <= 1e-6 * (1.0 + s.objective.abs()));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn larger_random_feasible_lps(lp in random_lp(30, 60), mix in prop::collection::vec(0.0f64..1.0, 4)) {
        check_random_lp(&lp, &mix)?;
    }
}
