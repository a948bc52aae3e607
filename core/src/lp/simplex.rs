//! The simplex engine behind [`super::Problem::solve`]: a bounded dual simplex for cold starts
//! whose slack basis is dual feasible, a bounded primal simplex (two phases) otherwise and for
//! warm re-solves after columns are added, and sifting when columns far outnumber rows.
//!
//! Variables are numbered `0..m` (row slacks), `m..2m` (row artificials), then the structural
//! columns in the order they were added, so appending a column never renumbers anything.

use super::{Column, LpError, Options, Problem, Relation, Solution, Status};

/// Where a non-basic variable sits, or that it is basic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Basic,
    Lower,
    Upper,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Minimise the sum of the artificial variables.
    One,
    /// Minimise the problem's cost with the artificials fixed at zero.
    Two,
}

/// How a run of the primal or dual simplex ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Optimal,
    /// Primal unbounded (primal simplex) or primal infeasible (dual simplex: no entering column).
    NoStep,
    Limit,
    /// The basis became singular or drifted: start over from the slack basis.
    Restart,
}

/// The entering variable and the direction it moves in (+1 up from its lower bound, −1 down
/// from its upper bound).
struct Entering {
    var: usize,
    dir: f64,
    reduced_cost: f64,
}

/// A step of the primal ratio test: its length and the row whose basic variable leaves (none
/// for a bound flip of the entering variable).
struct Step {
    theta: f64,
    leaving: Option<usize>,
}

/// A simplex solver that keeps its basis between solves, so columns can be added and the
/// problem re-solved from the last optimum (column generation).
#[derive(Debug, Clone)]
pub struct Simplex {
    options: Options,
    m: usize,
    /// Per row: power-of-two scale times the sign flip that made the right-hand side ≥ 0.
    row_scale: Vec<f64>,
    /// Scaled right-hand sides (all ≥ 0).
    rhs: Vec<f64>,
    /// Coefficient (+1/−1) of each row's slack in the scaled rows; equality rows have a slack
    /// fixed at zero.
    slack_sign: Vec<f64>,
    /// Per variable: upper bound and phase-2 cost, both scaled (costs of logicals are zero).
    upper: Vec<f64>,
    cost: Vec<f64>,
    /// Per structural column: the power-of-two scale (x = scale · x').
    col_scale: Vec<f64>,
    /// Original (unscaled) columns, for reporting in the problem's units.
    original: Vec<Column>,
    /// Scaled structural columns, compressed by column.
    col_start: Vec<usize>,
    col_row: Vec<u32>,
    col_val: Vec<f64>,
    /// The same, by row: `(structural index, value)`.
    row_entries: Vec<Vec<(u32, f64)>>,
    state: Vec<State>,
    /// Variables that pricing and ratio tests consider, ascending: every logical and the
    /// structurals of the working set (all of them unless sifting).
    active: Vec<usize>,
    is_active: Vec<bool>,
    /// The basic variable of each row position.
    basis: Vec<usize>,
    /// Dense basis inverse, column-major: element (i, j) at `binv[j * m + i]`.
    binv: Vec<f64>,
    /// Values of the basic variables.
    xb: Vec<f64>,
    phase_one_done: bool,
    /// The dual simplex was tried for the cold start (it is tried once per start).
    dual_tried: bool,
    infeasible: bool,
    since_refactor: usize,
    restarts: usize,
    /// Reduced costs of the active variables, kept up to date by the dual simplex.
    d: Vec<f64>,
    /// Devex reference weights of the primal simplex.
    weights: Vec<f64>,
    /// Squared norms of the rows of the inverse (dual steepest edge), valid when `norms_fresh`.
    norms: Vec<f64>,
    norms_fresh: bool,
    // Scratch.
    row_alpha: Vec<f64>,
    rho: Vec<f64>,
    pi: Vec<f64>,
    alpha: Vec<f64>,
}

const NONE: usize = usize::MAX;
/// A pivot with a step this small counts as degenerate.
const DEGENERATE_STEP: f64 = 1e-12;
/// Start-overs after a singular basis before giving up with `IterationLimit`.
const MAX_RESTARTS: usize = 3;
/// Sifting starts when there are more structural columns than this many per row (and at least
/// [`SIFT_MIN_COLUMNS`]): the working set begins with, per row, the cheapest columns per unit
/// of that row's coefficient.
const SIFT_RATIO: usize = 8;
const SIFT_MIN_COLUMNS: usize = 2_000;
const SIFT_PER_ROW: usize = 4;

impl Simplex {
    /// Prepares to solve `problem`: scales it and sets up the starting basis.
    pub fn new(problem: &Problem, options: &Options) -> Simplex {
        let m = problem.num_rows();
        // Row scales: the power of two nearest to 1/√(max·min) of the row's magnitudes.
        let mut row_max = vec![0.0f64; m];
        let mut row_min = vec![f64::INFINITY; m];
        for column in problem.columns() {
            for &(row, value) in &column.entries {
                let a = value.abs();
                row_max[row] = row_max[row].max(a);
                row_min[row] = row_min[row].min(a);
            }
        }
        let mut row_scale = Vec::with_capacity(m);
        let mut rhs = Vec::with_capacity(m);
        let mut slack_sign = Vec::with_capacity(m);
        let mut upper = Vec::with_capacity(2 * m + problem.num_columns());
        for i in 0..m {
            let mut scale = if row_max[i] > 0.0 { pow2_near(1.0 / (row_max[i] * row_min[i]).sqrt()) } else { 1.0 };
            let relation = problem.relations()[i];
            let mut sign = if relation == Relation::GreaterEqual { -1.0 } else { 1.0 };
            if problem.rhs()[i] < 0.0 {
                scale = -scale;
                sign = -sign;
            }
            row_scale.push(scale);
            rhs.push(problem.rhs()[i] * scale);
            slack_sign.push(sign);
            // Slacks of equality rows are fixed at zero.
            upper.push(if relation == Relation::Equal { 0.0 } else { f64::INFINITY });
        }
        upper.resize(2 * m, 0.0);
        let mut simplex = Simplex {
            options: options.clone(),
            m,
            row_scale,
            rhs,
            slack_sign,
            upper,
            cost: vec![0.0; 2 * m],
            col_scale: Vec::with_capacity(problem.num_columns()),
            original: Vec::with_capacity(problem.num_columns()),
            col_start: vec![0],
            col_row: Vec::new(),
            col_val: Vec::new(),
            row_entries: vec![Vec::new(); m],
            state: vec![State::Lower; 2 * m],
            active: (0..2 * m).collect(),
            is_active: vec![true; 2 * m],
            basis: vec![NONE; m],
            binv: vec![0.0; m * m],
            xb: vec![0.0; m],
            phase_one_done: false,
            dual_tried: false,
            infeasible: false,
            since_refactor: 0,
            restarts: 0,
            d: Vec::new(),
            weights: Vec::new(),
            norms: vec![1.0; m],
            norms_fresh: false,
            row_alpha: Vec::new(),
            rho: vec![0.0; m],
            pi: vec![0.0; m],
            alpha: vec![0.0; m],
        };
        let n = problem.num_columns();
        let sifting = n > SIFT_RATIO * m && n >= SIFT_MIN_COLUMNS;
        for column in problem.columns() {
            simplex.push_column(column.clone(), !sifting);
        }
        if sifting {
            for var in simplex.working_set() {
                simplex.activate(var);
            }
            simplex.active.sort_unstable();
        }
        simplex.reset_basis();
        simplex
    }

    /// Number of structural columns.
    pub fn num_columns(&self) -> usize {
        self.original.len()
    }

    /// Appends a column (non-basic at zero) and returns its index. The next [`Simplex::solve`]
    /// starts from the current basis.
    pub fn add_column(&mut self, cost: f64, upper: f64, entries: &[(usize, f64)]) -> Result<usize, LpError> {
        let column = Column::new(self.original.len(), self.m, cost, upper, entries)?;
        self.push_column(column, true);
        Ok(self.original.len() - 1)
    }

    fn push_column(&mut self, column: Column, active: bool) {
        let (mut max, mut min) = (0.0f64, f64::INFINITY);
        for &(row, value) in &column.entries {
            let a = (value * self.row_scale[row]).abs();
            max = max.max(a);
            min = min.min(a);
        }
        let scale = if max > 0.0 { pow2_near(1.0 / (max * min).sqrt()) } else { 1.0 };
        let k = self.original.len() as u32;
        for &(row, value) in &column.entries {
            let scaled = value * self.row_scale[row] * scale;
            self.col_row.push(row as u32);
            self.col_val.push(scaled);
            self.row_entries[row].push((k, scaled));
        }
        self.col_start.push(self.col_row.len());
        self.col_scale.push(scale);
        self.cost.push(column.cost * scale);
        self.upper.push(column.upper / scale);
        self.state.push(State::Lower);
        self.original.push(column);
        self.is_active.push(false);
        if active {
            self.activate(self.state.len() - 1);
        }
    }

    fn activate(&mut self, var: usize) {
        if !self.is_active[var] {
            self.is_active[var] = true;
            self.active.push(var);
        }
    }

    /// The first working set for sifting: every column with a negative cost, and per row the
    /// [`SIFT_PER_ROW`] columns of lowest cost per unit of coefficient (ties by index).
    fn working_set(&self) -> Vec<usize> {
        let m = self.m;
        let mut best: Vec<Vec<(f64, usize)>> = vec![Vec::with_capacity(SIFT_PER_ROW + 1); m];
        let mut chosen = Vec::new();
        for k in 0..self.original.len() {
            let var = 2 * m + k;
            let c = self.cost[var];
            if c < 0.0 {
                chosen.push(var);
            }
            for e in self.col_start[k]..self.col_start[k + 1] {
                let row = self.col_row[e] as usize;
                let key = c / self.col_val[e].abs();
                let list = &mut best[row];
                if list.len() == SIFT_PER_ROW && list.last().is_some_and(|&(worst, _)| key >= worst) {
                    continue;
                }
                let at = list.partition_point(|&(other, _)| other <= key);
                list.insert(at, (key, var));
                list.truncate(SIFT_PER_ROW);
            }
        }
        chosen.extend(best.into_iter().flatten().map(|(_, var)| var));
        chosen.sort_unstable();
        chosen.dedup();
        chosen
    }

    /// The all-logical basis: each row's slack when it can hold the row's right-hand side,
    /// else its artificial.
    fn reset_basis(&mut self) {
        let m = self.m;
        self.state.iter_mut().for_each(|s| *s = State::Lower);
        self.binv.iter_mut().for_each(|b| *b = 0.0);
        for i in 0..m {
            self.binv[i * m + i] = 1.0;
            let slack_usable = self.upper[i] > 0.0 && self.slack_sign[i] > 0.0;
            let var = if slack_usable { i } else { m + i };
            self.upper[m + i] = if slack_usable { 0.0 } else { f64::INFINITY };
            self.basis[i] = var;
            self.state[var] = State::Basic;
            self.xb[i] = self.rhs[i];
        }
        self.phase_one_done = false;
        self.since_refactor = 0;
        self.norms_fresh = false;
    }

    /// Solves (or re-solves after [`Simplex::add_column`]) and reports in the problem's units.
    pub fn solve(&mut self) -> Solution {
        let default_limit = 20usize.saturating_mul(self.m.saturating_add(self.original.len())).saturating_add(10_000);
        let limit = self.options.max_iterations.unwrap_or(default_limit);
        let mut iterations = 0;
        self.restarts = 0;
        let status = loop {
            match self.solve_active(limit, &mut iterations) {
                // Sifting: optimal over the working set; bring in columns that price out.
                Status::Optimal => {
                    if !self.activate_priced() {
                        break Status::Optimal;
                    }
                }
                // Infeasible over the working set only: start over with every column.
                Status::Infeasible if self.active.len() < self.state.len() => {
                    for var in 0..self.state.len() {
                        self.activate(var);
                    }
                    self.active.sort_unstable();
                    self.infeasible = false;
                    self.dual_tried = false;
                    self.reset_basis();
                }
                other => break other,
            }
        };
        self.report(status, iterations)
    }

    /// Solves over the active variables.
    fn solve_active(&mut self, limit: usize, iterations: &mut usize) -> Status {
        loop {
            if self.infeasible {
                return Status::Infeasible;
            }
            if !self.phase_one_done && !self.dual_tried && self.needs_phase_one() {
                // A cold start that is not primal feasible: when the slack basis is dual
                // feasible (covering-type LPs), the dual simplex needs no phase 1.
                self.dual_tried = true;
                if self.dual_start() {
                    match self.run_dual(limit, iterations) {
                        End::Optimal => self.phase_one_done = true,
                        End::NoStep => {
                            self.infeasible = true;
                            return Status::Infeasible;
                        }
                        End::Limit => return Status::IterationLimit,
                        End::Restart => self.reset_basis(),
                    }
                } else {
                    self.reset_basis();
                }
            }
            if !self.phase_one_done {
                match self.run(Phase::One, limit, iterations) {
                    End::Optimal => {
                        let m = self.m;
                        let sum: f64 =
                            (0..m).filter(|&i| (m..2 * m).contains(&self.basis[i])).map(|i| self.xb[i]).sum();
                        if sum > 1e-7 * self.rhs.iter().fold(1.0f64, |a, b| a.max(b.abs())) {
                            self.infeasible = true;
                            return Status::Infeasible;
                        }
                        // Artificials stay at zero from now on.
                        for i in 0..m {
                            self.upper[m + i] = 0.0;
                        }
                        self.phase_one_done = true;
                    }
                    End::NoStep | End::Restart => continue,
                    End::Limit => return Status::IterationLimit,
                }
            }
            match self.run(Phase::Two, limit, iterations) {
                End::Optimal => return Status::Optimal,
                End::NoStep => return Status::Unbounded,
                End::Limit => return Status::IterationLimit,
                End::Restart => continue,
            }
        }
    }

    /// Sifting step: prices the inactive columns against the current duals and activates the
    /// most attractive ones. False when none prices out (the solution is optimal overall).
    fn activate_priced(&mut self) -> bool {
        if self.active.len() == self.state.len() {
            return false;
        }
        self.compute_pi(Phase::Two);
        let mut candidates: Vec<(f64, usize)> = (2 * self.m..self.state.len())
            .filter(|&var| !self.is_active[var])
            .filter_map(|var| {
                let d = self.reduced_cost(var, Phase::Two);
                self.eligible(var, d).map(|_| (-d.abs(), var))
            })
            .collect();
        if candidates.is_empty() {
            return false;
        }
        candidates.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        candidates.truncate((2 * self.m).max(100));
        for (_, var) in candidates {
            self.activate(var);
        }
        self.active.sort_unstable();
        true
    }

    /// Whether the starting basis holds an artificial at a positive value.
    fn needs_phase_one(&self) -> bool {
        let m = self.m;
        (0..m).any(|i| (m..2 * m).contains(&self.basis[i]) && self.xb[i] > 0.0)
    }

    fn refactor_interval(&self) -> usize {
        self.options.refactor_interval.max(self.m / 2).max(1)
    }

    // ---------------------------------------------------------------- dual simplex

    /// The slack basis with every structural at the bound its cost prefers. False when that is
    /// not dual feasible (an active variable with negative cost and no upper bound).
    fn dual_start(&mut self) -> bool {
        let m = self.m;
        if self.active.iter().any(|&j| j >= 2 * m && self.cost[j] < 0.0 && !self.upper[j].is_finite()) {
            return false;
        }
        for j in 0..self.state.len() {
            self.state[j] = if j >= 2 * m && self.cost[j] < 0.0 { State::Upper } else { State::Lower };
        }
        self.binv.iter_mut().for_each(|b| *b = 0.0);
        for i in 0..m {
            self.upper[m + i] = 0.0;
            self.binv[i * m + i] = self.slack_sign[i];
            self.basis[i] = i;
            self.state[i] = State::Basic;
        }
        self.since_refactor = 0;
        self.norms.iter_mut().for_each(|n| *n = 1.0);
        self.norms_fresh = true;
        self.compute_xb();
        self.compute_d();
        true
    }

    /// Reduced costs of the active variables for the phase-2 costs.
    fn compute_d(&mut self) {
        self.compute_pi(Phase::Two);
        self.d.resize(self.state.len(), 0.0);
        for t in 0..self.active.len() {
            let j = self.active[t];
            self.d[j] = if self.state[j] == State::Basic { 0.0 } else { self.reduced_cost(j, Phase::Two) };
        }
    }

    /// After a rebuild of the inverse: fresh reduced costs and row norms.
    fn dual_refresh(&mut self) {
        self.compute_d();
        self.compute_norms();
    }

    fn compute_norms(&mut self) {
        let m = self.m;
        self.norms.iter_mut().for_each(|n| *n = 0.0);
        for j in 0..m {
            for (norm, b) in self.norms.iter_mut().zip(&self.binv[j * m..(j + 1) * m]) {
                *norm += b * b;
            }
        }
        self.norms_fresh = true;
    }

    /// How far basic row `i` is outside its bounds (0 when inside the tolerance), and whether
    /// it is below its lower bound.
    fn infeasibility(&self, i: usize) -> (f64, bool) {
        let ftol = self.options.feasibility_tolerance;
        let x = self.xb[i];
        let u = self.upper[self.basis[i]];
        if x < -ftol {
            (-x, true)
        } else if x > u + ftol {
            (x - u, false)
        } else {
            (0.0, false)
        }
    }

    /// The bounded dual simplex: the basis stays dual feasible while primal infeasibilities are
    /// removed. Leaving row by dual steepest edge (largest infeasibility² over the squared norm
    /// of its row of the inverse, kept exact), entering column by Harris's ratio test; Bland's
    /// rule after a run of degenerate pivots.
    fn run_dual(&mut self, limit: usize, iterations: &mut usize) -> End {
        let m = self.m;
        let ptol = self.options.pivot_tolerance;
        let otol = self.options.optimality_tolerance;
        let mut degenerate_run = 0usize;
        let mut candidates: Vec<(usize, f64, f64)> = Vec::new();
        loop {
            if *iterations >= limit {
                return End::Limit;
            }
            if self.since_refactor >= self.refactor_interval() {
                if !self.rebuild() {
                    return End::Restart;
                }
                self.dual_refresh();
            }
            if !self.norms_fresh {
                self.compute_norms();
            }
            let bland = degenerate_run >= self.options.degenerate_switch;
            let mut leaving: Option<(usize, f64, bool)> = None;
            for i in 0..m {
                let (amount, below) = self.infeasibility(i);
                if amount <= 0.0 {
                    continue;
                }
                let score = amount * amount / self.norms[i].max(1e-12);
                let better = match leaving {
                    None => true,
                    Some((r, best, _)) => {
                        if bland {
                            self.basis[i] < self.basis[r]
                        } else {
                            score > best
                        }
                    }
                };
                if better {
                    leaving = Some((i, score, below));
                }
            }
            let Some((r, _, to_lower)) = leaving else {
                if self.since_refactor == 0 {
                    return End::Optimal;
                }
                if !self.rebuild() {
                    return End::Restart;
                }
                self.dual_refresh();
                continue;
            };
            // Pivot row, then the eligible entering candidates:
            // (index, |d_j| as dual feasibility has it, |α_rj|).
            for j in 0..m {
                self.rho[j] = self.binv[j * m + r];
            }
            self.pivot_row();
            candidates.clear();
            let mut bound = f64::INFINITY;
            for t in 0..self.active.len() {
                let j = self.active[t];
                let a = self.row_alpha[j];
                if a.abs() <= ptol {
                    continue;
                }
                let state = self.state[j];
                let eligible = match state {
                    State::Lower => (a < 0.0) == to_lower,
                    _ => (a > 0.0) == to_lower,
                };
                if eligible {
                    let slack = if state == State::Lower { self.d[j] } else { -self.d[j] };
                    let slack = slack.max(0.0);
                    bound = bound.min((slack + otol) / a.abs());
                    candidates.push((j, slack, a.abs()));
                }
            }
            let entering = if bland {
                let mut min: Option<(f64, usize)> = None;
                for &(j, slack, a) in &candidates {
                    if min.is_none_or(|(best, _)| slack / a < best) {
                        min = Some((slack / a, j));
                    }
                }
                min.map(|(_, j)| j)
            } else {
                let mut chosen: Option<(f64, usize)> = None;
                for &(j, slack, a) in &candidates {
                    if slack / a <= bound && chosen.is_none_or(|(size, _)| a > size) {
                        chosen = Some((a, j));
                    }
                }
                chosen.map(|(_, j)| j)
            };
            let Some(q) = entering else {
                if self.since_refactor == 0 {
                    return End::NoStep;
                }
                if !self.rebuild() {
                    return End::Restart;
                }
                self.dual_refresh();
                continue;
            };
            self.compute_alpha(q);
            let pivot = self.alpha[r];
            if pivot.abs() <= ptol || (pivot - self.row_alpha[q]).abs() > 1e-6 * (1.0 + pivot.abs()) {
                // The row and the column disagree: the inverse has drifted.
                if self.since_refactor == 0 || !self.rebuild() {
                    return End::Restart;
                }
                self.dual_refresh();
                continue;
            }
            *iterations += 1;
            let theta_dual = self.d[q] / self.row_alpha[q];
            let target = if to_lower { 0.0 } else { self.upper[self.basis[r]] };
            let theta = (self.xb[r] - target) / pivot;
            let start = if self.state[q] == State::Upper { self.upper[q] } else { 0.0 };
            for (x, a) in self.xb.iter_mut().zip(&self.alpha) {
                *x -= theta * a;
            }
            self.xb[r] = start + theta;
            for t in 0..self.active.len() {
                let j = self.active[t];
                if self.row_alpha[j] != 0.0 {
                    self.d[j] -= theta_dual * self.row_alpha[j];
                }
            }
            let left = self.basis[r];
            self.d[left] = -theta_dual;
            self.state[left] = if to_lower { State::Lower } else { State::Upper };
            self.d[q] = 0.0;
            self.state[q] = State::Basic;
            self.basis[r] = q;
            self.pivot(r, true);
            self.since_refactor += 1;
            if theta_dual.abs() <= DEGENERATE_STEP {
                degenerate_run += 1;
            } else {
                degenerate_run = 0;
            }
        }
    }

    // ---------------------------------------------------------------- primal simplex

    fn phase_cost(&self, var: usize, phase: Phase) -> f64 {
        match phase {
            Phase::One => f64::from(u8::from(var >= self.m && var < 2 * self.m)),
            Phase::Two => self.cost[var],
        }
    }

    /// Runs one primal phase until optimal, unbounded, the limit, or a restart. Reduced costs
    /// of the active variables are kept up to date through the pivot row, which also feeds the
    /// Devex reference weights: the entering variable maximises `d_j² / w_j`.
    fn run(&mut self, phase: Phase, limit: usize, iterations: &mut usize) -> End {
        let m = self.m;
        let mut degenerate_run = 0usize;
        self.primal_refresh(phase, true);
        loop {
            if *iterations >= limit {
                return End::Limit;
            }
            if self.since_refactor >= self.refactor_interval() {
                if !self.refactor() {
                    return self.restart();
                }
                self.primal_refresh(phase, false);
            }
            let bland = degenerate_run >= self.options.degenerate_switch;
            let Some(entering) = self.price(bland) else {
                if self.since_refactor == 0 {
                    return End::Optimal;
                }
                // Confirm with a fresh inverse and fresh reduced costs.
                if !self.refactor() {
                    return self.restart();
                }
                self.primal_refresh(phase, false);
                continue;
            };
            self.compute_alpha(entering.var);
            let Some(step) = self.ratio_test(&entering, bland) else {
                if phase == Phase::Two && self.since_refactor == 0 {
                    return End::NoStep;
                }
                // Phase 1 is bounded below by zero: an unbounded ray there is numerical noise.
                if self.since_refactor == 0 || !self.refactor() {
                    return self.restart();
                }
                self.primal_refresh(phase, false);
                continue;
            };
            if let Some(r) = step.leaving {
                // The pivot row, from the inverse before the update.
                let q = entering.var;
                for j in 0..m {
                    self.rho[j] = self.binv[j * m + r];
                }
                self.pivot_row();
                let pivot = self.alpha[r];
                if (pivot - self.row_alpha[q]).abs() > 1e-6 * (1.0 + pivot.abs()) {
                    if self.since_refactor == 0 || !self.refactor() {
                        return self.restart();
                    }
                    self.primal_refresh(phase, false);
                    continue;
                }
                let ratio = self.d[q] / pivot;
                let wq = self.weights[q];
                for t in 0..self.active.len() {
                    let j = self.active[t];
                    let a = self.row_alpha[j];
                    if a != 0.0 {
                        self.d[j] -= ratio * a;
                        let w = (a / pivot) * (a / pivot) * wq;
                        if w > self.weights[j] {
                            self.weights[j] = w;
                        }
                    }
                }
                let left = self.basis[r];
                self.d[left] = -ratio;
                self.weights[left] = (wq / (pivot * pivot)).max(1.0);
                self.d[q] = 0.0;
            }
            *iterations += 1;
            if step.theta * entering.reduced_cost.abs() <= DEGENERATE_STEP {
                degenerate_run += 1;
            } else {
                degenerate_run = 0;
            }
            self.apply(&entering, step);
        }
    }

    /// Fresh reduced costs of the active variables for `phase` (and, when `reset`, Devex
    /// weights back to 1).
    fn primal_refresh(&mut self, phase: Phase, reset: bool) {
        self.compute_pi(phase);
        self.d.resize(self.state.len(), 0.0);
        self.weights.resize(self.state.len(), 1.0);
        for t in 0..self.active.len() {
            let j = self.active[t];
            self.d[j] = if self.state[j] == State::Basic { 0.0 } else { self.reduced_cost(j, phase) };
            if reset {
                self.weights[j] = 1.0;
            }
        }
    }

    /// `row_alpha[j] = rho · a_j` for the active non-basic variables that can move, 0 for the
    /// others. By rows when `rho` is sparse (a few rows' entries), else by columns.
    fn pivot_row(&mut self) {
        let m = self.m;
        let total = self.state.len();
        self.row_alpha.resize(total, 0.0);
        let nonzeros = self.rho.iter().filter(|&&v| v != 0.0).count();
        let by_rows = nonzeros * 4 < m;
        if by_rows {
            self.row_alpha[2 * m..].iter_mut().for_each(|a| *a = 0.0);
            for (i, &v) in self.rho.iter().enumerate() {
                if v != 0.0 {
                    for &(k, a) in &self.row_entries[i] {
                        self.row_alpha[2 * m + k as usize] += v * a;
                    }
                }
            }
        }
        for t in 0..self.active.len() {
            let j = self.active[t];
            self.row_alpha[j] = if self.state[j] == State::Basic || self.upper[j] <= 0.0 {
                0.0
            } else if j < m {
                self.slack_sign[j] * self.rho[j]
            } else if j < 2 * m {
                self.rho[j - m]
            } else if by_rows {
                self.row_alpha[j]
            } else {
                let k = j - 2 * m;
                let (s, e) = (self.col_start[k], self.col_start[k + 1]);
                self.col_row[s..e].iter().zip(&self.col_val[s..e]).map(|(&i, v)| self.rho[i as usize] * v).sum()
            };
        }
    }

    fn restart(&mut self) -> End {
        self.restarts += 1;
        if self.restarts > MAX_RESTARTS {
            return End::Limit;
        }
        self.reset_basis();
        End::Restart
    }

    /// Basic costs times the basis inverse.
    fn compute_pi(&mut self, phase: Phase) {
        let m = self.m;
        let costs: Vec<(usize, f64)> = (0..m)
            .filter_map(|i| {
                let c = self.phase_cost(self.basis[i], phase);
                (c != 0.0).then_some((i, c))
            })
            .collect();
        for j in 0..m {
            let column = &self.binv[j * m..(j + 1) * m];
            self.pi[j] = costs.iter().map(|&(i, c)| c * column[i]).sum();
        }
    }

    fn reduced_cost(&self, var: usize, phase: Phase) -> f64 {
        let m = self.m;
        let c = self.phase_cost(var, phase);
        if var < m {
            c - self.pi[var] * self.slack_sign[var]
        } else if var < 2 * m {
            c - self.pi[var - m]
        } else {
            let k = var - 2 * m;
            let (s, e) = (self.col_start[k], self.col_start[k + 1]);
            c - self.col_row[s..e].iter().zip(&self.col_val[s..e]).map(|(&i, v)| self.pi[i as usize] * v).sum::<f64>()
        }
    }

    /// Whether `var` may enter with reduced cost `d`, and in which direction.
    fn eligible(&self, var: usize, d: f64) -> Option<f64> {
        let tolerance = self.options.optimality_tolerance;
        match self.state[var] {
            State::Basic => None,
            State::Lower if d < -tolerance && self.upper[var] > 0.0 => Some(1.0),
            State::Upper if d > tolerance => Some(-1.0),
            _ => None,
        }
    }

    /// Devex pricing over the active variables (largest `d_j² / w_j`), or Bland's lowest index.
    fn price(&self, bland: bool) -> Option<Entering> {
        let mut best: Option<(f64, Entering)> = None;
        for &var in &self.active {
            let d = self.d[var];
            let Some(dir) = self.eligible(var, d) else { continue };
            if bland {
                return Some(Entering { var, dir, reduced_cost: d });
            }
            let score = d * d / self.weights[var];
            if best.as_ref().is_none_or(|(s, _)| score > *s) {
                best = Some((score, Entering { var, dir, reduced_cost: d }));
            }
        }
        best.map(|(_, entering)| entering)
    }

    /// `alpha = B⁻¹ a_var`.
    fn compute_alpha(&mut self, var: usize) {
        let m = self.m;
        self.alpha.iter_mut().for_each(|a| *a = 0.0);
        let add = |alpha: &mut [f64], row: usize, value: f64| {
            for (a, b) in alpha.iter_mut().zip(&self.binv[row * m..(row + 1) * m]) {
                *a += value * b;
            }
        };
        if var < m {
            add(&mut self.alpha, var, self.slack_sign[var]);
        } else if var < 2 * m {
            add(&mut self.alpha, var - m, 1.0);
        } else {
            let k = var - 2 * m;
            for e in self.col_start[k]..self.col_start[k + 1] {
                add(&mut self.alpha, self.col_row[e] as usize, self.col_val[e]);
            }
        }
    }

    /// Harris's two-pass ratio test (or the textbook one under Bland's rule). `None` when
    /// nothing limits the step (unbounded direction).
    fn ratio_test(&self, entering: &Entering, bland: bool) -> Option<Step> {
        let ptol = self.options.pivot_tolerance;
        let ftol = self.options.feasibility_tolerance;
        let own = self.upper[entering.var];
        // Ratio of row i to its bound, loosened by `slack`.
        let ratio = |i: usize, slack: f64| -> Option<f64> {
            let w = entering.dir * self.alpha[i];
            if w > ptol {
                Some((self.xb[i] + slack) / w)
            } else if w < -ptol {
                let u = self.upper[self.basis[i]];
                u.is_finite().then(|| (u - self.xb[i] + slack) / -w)
            } else {
                None
            }
        };
        let rows = 0..self.m;
        if bland {
            let min = rows.clone().filter_map(|i| ratio(i, 0.0)).fold(f64::INFINITY, f64::min);
            if own <= min {
                return own.is_finite().then_some(Step { theta: own, leaving: None });
            }
            let chosen = rows.filter(|&i| ratio(i, 0.0).is_some_and(|r| r <= min)).min_by_key(|&i| self.basis[i]);
            return chosen.map(|r| Step { theta: min.max(0.0), leaving: Some(r) });
        }
        let bound = rows.clone().filter_map(|i| ratio(i, ftol)).fold(f64::INFINITY, f64::min);
        if own <= bound {
            return own.is_finite().then_some(Step { theta: own, leaving: None });
        }
        let mut chosen: Option<(usize, f64, f64)> = None;
        for i in rows {
            if let Some(r) = ratio(i, 0.0) {
                let size = self.alpha[i].abs();
                if r <= bound && chosen.is_none_or(|(_, s, _)| size > s) {
                    chosen = Some((i, size, r));
                }
            }
        }
        chosen.map(|(i, _, r)| Step { theta: r.max(0.0), leaving: Some(i) })
    }

    /// Moves along the edge and, unless it is a bound flip, swaps the leaving variable out.
    fn apply(&mut self, entering: &Entering, step: Step) {
        let q = entering.var;
        let dir = entering.dir;
        for (x, a) in self.xb.iter_mut().zip(&self.alpha) {
            *x -= step.theta * dir * a;
        }
        let Some(r) = step.leaving else {
            self.state[q] = if self.state[q] == State::Lower { State::Upper } else { State::Lower };
            return;
        };
        let start = if self.state[q] == State::Upper { self.upper[q] } else { 0.0 };
        let leaving = self.basis[r];
        self.state[leaving] = if dir * self.alpha[r] > 0.0 { State::Lower } else { State::Upper };
        self.state[q] = State::Basic;
        self.basis[r] = q;
        self.xb[r] = start + dir * step.theta;
        self.pivot(r, false);
        self.since_refactor += 1;
    }

    // ---------------------------------------------------------------- basis inverse

    /// Eta update of the inverse for a pivot on row `r` with column `alpha`; with `norms`, the
    /// squared row norms of the new inverse are accumulated in the same pass.
    fn pivot(&mut self, r: usize, norms: bool) {
        let m = self.m;
        let ar = self.alpha[r];
        if norms {
            self.norms.iter_mut().for_each(|n| *n = 0.0);
        }
        for j in 0..m {
            let column = &mut self.binv[j * m..(j + 1) * m];
            let v = column[r] / ar;
            if v != 0.0 {
                for (b, a) in column.iter_mut().zip(&self.alpha) {
                    *b -= a * v;
                }
                column[r] = v;
            }
            if norms {
                for (n, b) in self.norms.iter_mut().zip(column.iter()) {
                    *n += b * b;
                }
            }
        }
        self.norms_fresh = norms;
    }

    /// [`Simplex::rebuild`], then checks that the point is still (nearly) primal feasible;
    /// false means the caller restarts.
    fn refactor(&mut self) -> bool {
        self.rebuild();
        let tolerance = 1e-6 * self.rhs.iter().fold(1.0f64, |a, b| a.max(b.abs()));
        (0..self.m).all(|i| {
            let u = self.upper[self.basis[i]];
            self.xb[i] >= -tolerance && self.xb[i] <= u + tolerance
        })
    }

    /// Rebuilds the inverse by pivoting the basic columns into the identity (logicals first,
    /// then structurals in index order, each on its largest remaining entry) and recomputes the
    /// basic values. A column that cannot be pivoted in (singular basis) is made non-basic at
    /// zero and its row's artificial takes its place; returns false when that happened.
    fn rebuild(&mut self) -> bool {
        let m = self.m;
        self.since_refactor = 0;
        self.norms_fresh = false;
        self.binv.iter_mut().for_each(|b| *b = 0.0);
        for i in 0..m {
            self.binv[i * m + i] = 1.0;
        }
        let mut basic: Vec<usize> = self.basis.clone();
        basic.sort_unstable();
        let mut assigned = vec![NONE; m];
        let mut intact = true;
        for var in basic {
            if var == NONE {
                continue;
            }
            self.compute_alpha(var);
            let mut best: Option<(usize, f64)> = None;
            for (i, &a) in self.alpha.iter().enumerate() {
                if assigned[i] == NONE
                    && a.abs() > self.options.pivot_tolerance
                    && best.is_none_or(|(_, b)| a.abs() > b)
                {
                    best = Some((i, a.abs()));
                }
            }
            match best {
                Some((r, _)) => {
                    self.pivot(r, false);
                    assigned[r] = var;
                }
                // Dependent on the columns already in: leave it out at zero.
                None => {
                    self.state[var] = State::Lower;
                    intact = false;
                }
            }
        }
        for (i, var) in assigned.iter_mut().enumerate() {
            if *var == NONE {
                *var = m + i;
                self.state[m + i] = State::Basic;
                if !self.phase_one_done {
                    self.upper[m + i] = f64::INFINITY;
                }
            }
        }
        self.basis = assigned;
        self.compute_xb();
        intact
    }

    /// `xb = B⁻¹ (b − Σ_{non-basic at upper} u_j a_j)`.
    fn compute_xb(&mut self) {
        let m = self.m;
        let mut b = self.rhs.clone();
        for k in 0..self.original.len() {
            let var = 2 * m + k;
            if self.state[var] == State::Upper {
                let u = self.upper[var];
                for e in self.col_start[k]..self.col_start[k + 1] {
                    b[self.col_row[e] as usize] -= u * self.col_val[e];
                }
            }
        }
        self.xb.iter_mut().for_each(|x| *x = 0.0);
        for (j, &bj) in b.iter().enumerate() {
            if bj != 0.0 {
                for (x, v) in self.xb.iter_mut().zip(&self.binv[j * m..(j + 1) * m]) {
                    *x += v * bj;
                }
            }
        }
    }

    fn report(&mut self, status: Status, iterations: usize) -> Solution {
        let m = self.m;
        let n = self.original.len();
        let mut x: Vec<f64> =
            (0..n).map(|k| if self.state[2 * m + k] == State::Upper { self.original[k].upper } else { 0.0 }).collect();
        for i in 0..m {
            let var = self.basis[i];
            if var >= 2 * m && var - 2 * m < n {
                let k = var - 2 * m;
                x[k] = (self.xb[i] * self.col_scale[k]).clamp(0.0, self.original[k].upper);
            }
        }
        self.compute_pi(if self.phase_one_done { Phase::Two } else { Phase::One });
        let duals: Vec<f64> = (0..m).map(|i| self.pi[i] * self.row_scale[i]).collect();
        let mut objective = 0.0;
        let mut reduced_costs = Vec::with_capacity(n);
        for (column, &xj) in self.original.iter().zip(&x) {
            objective += column.cost * xj;
            reduced_costs
                .push(column.cost - column.entries.iter().map(|&(row, value)| duals[row] * value).sum::<f64>());
        }
        Solution {
            status,
            objective,
            x,
            duals,
            reduced_costs,
            iterations,
            feasible: self.phase_one_done && !self.infeasible,
        }
    }
}

/// The power of two nearest to `x` (in the log sense), computed from the bits so it is exact
/// and the same everywhere; 1 for zero, negative or non-finite input.
fn pow2_near(x: f64) -> f64 {
    if !(x.is_finite() && x > 0.0) {
        return 1.0;
    }
    let bits = x.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i64;
    if biased == 0 {
        return pow2(-1000);
    }
    let mantissa = f64::from_bits((bits & ((1u64 << 52) - 1)) | (1023u64 << 52));
    let exponent = biased - 1023 + i64::from(mantissa >= std::f64::consts::SQRT_2);
    pow2(exponent.clamp(-1000, 1000))
}

fn pow2(exponent: i64) -> f64 {
    f64::from_bits(((exponent + 1023) as u64) << 52)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn powers_of_two() {
        assert_eq!(pow2_near(1.0), 1.0);
        assert_eq!(pow2_near(3.0), 4.0);
        assert_eq!(pow2_near(1.3), 1.0);
        assert_eq!(pow2_near(0.25), 0.25);
        assert_eq!(pow2_near(1e-3), 1.0 / 1024.0);
        assert_eq!(pow2_near(0.0), 1.0);
        assert_eq!(pow2_near(f64::NAN), 1.0);
    }
}
