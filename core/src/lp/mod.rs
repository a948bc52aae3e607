//! A small linear-programming solver: bounded primal and dual simplex (revised, dense basis
//! inverse), written for the lower-bound models in [`crate::bound`] and usable on its own.
//!
//! It solves
//!
//! ```text
//! minimise    cᵀx
//! subject to  a_i·x  ≥ b_i | ≤ b_i | = b_i     for each row i
//!             0 ≤ x_j ≤ u_j                    (u_j may be +∞)
//! ```
//!
//! and returns the status, `x`, the objective, the row prices `π` (duals: ∂objective/∂b_i, so
//! `π_i ≥ 0` on a `≥` row and `≤ 0` on a `≤` row of a minimisation) and the reduced costs
//! `d_j = c_j − πᵀA_j`. At an optimum, strong duality reads
//! `cᵀx = bᵀπ + Σ_{j at its upper bound} u_j·d_j`.
//!
//! # Method
//! - Rows and columns are scaled by powers of two (exact, so unscaling loses nothing): each
//!   row by its geometric mean magnitude, then each column likewise. Rows with `b < 0` are negated
//!   so that every row starts with a non-negative right-hand side.
//! - Cold start: when the slack basis is primal feasible, the primal simplex runs from it. Else,
//!   when it is dual feasible (no column with a negative cost lacks an upper bound: covering LPs,
//!   the bound models), the bounded dual simplex runs from it, choosing the leaving row by dual
//!   steepest edge (exact row norms of the dense inverse) and the entering column by Harris's
//!   ratio test. Otherwise phase 1 minimises the sum of artificial variables.
//! - The primal simplex keeps the reduced costs up to date through the pivot row and prices by
//!   Devex (largest `d_j² / w_j`), with Harris's ratio test and bound flips for boxed variables.
//! - [`Simplex::add_column`] appends a column non-basic at zero, so a re-solve continues with the
//!   primal simplex from the previous optimal basis: this is what makes column generation cheap.
//! - Sifting: with more than 8 columns per row (and at least 2,000), the solver first works on,
//!   per row, the 4 columns of lowest cost per unit of that row's coefficient, then repeatedly
//!   prices the others against the duals and brings in the `2m` most attractive, until none
//!   prices out (if the working set alone is infeasible, every column comes in).
//! - Anti-cycling: after [`Options::degenerate_switch`] consecutive degenerate pivots the solver
//!   switches to Bland's rule (lowest-index entering variable, lowest-index leaving variable among
//!   ties) until a pivot makes progress.
//! - The basis inverse is a dense `m × m` matrix updated by one elementary (eta) transformation
//!   per pivot and rebuilt from scratch every `max(`[`Options::refactor_interval`]`, m/2)`
//!   pivots by pivoting the basic columns into an identity with partial pivoting; optimality,
//!   infeasibility and unboundedness are only declared on a freshly rebuilt inverse. A column
//!   that cannot be pivoted in is replaced by its row's artificial variable; if that leaves the
//!   point infeasible the solve restarts from the slack basis (three times at most).
//!
//! # Tolerances (all on the scaled problem, see [`Options`])
//! - primal feasibility `1e-9`: a variable within this of its bound is at its bound;
//! - optimality `1e-9`: a reduced cost must be beyond this to enter;
//! - pivot `1e-9`: ratio-test entries smaller than this are treated as zero;
//! - infeasibility: phase 1 ending above `1e-7 · max(1, ‖b‖∞)` means infeasible.
//!
//! Everything is deterministic: no hashing, no randomness, no clock; the same problem gives
//! bit-identical results on every platform with IEEE-754 doubles (including wasm32).

mod simplex;

pub use simplex::Simplex;

use serde::{Deserialize, Serialize};

/// How a row's activity `a·x` relates to its right-hand side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Relation {
    /// `a·x ≥ b`
    GreaterEqual,
    /// `a·x ≤ b`
    LessEqual,
    /// `a·x = b`
    Equal,
}

/// What a problem given to the solver got wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize, Deserialize)]
pub enum LpError {
    #[error("row {row}: right-hand side {value} is not finite")]
    Rhs { row: usize, value: f64 },
    #[error("column {column}: cost {value} is not finite")]
    Cost { column: usize, value: f64 },
    #[error("column {column}: upper bound {value} must be ≥ 0 (+∞ allowed)")]
    Upper { column: usize, value: f64 },
    #[error("column {column}: entry for row {row}, but the problem has {rows} rows")]
    Row { column: usize, row: usize, rows: usize },
    #[error("column {column}: coefficient {value} for row {row} is not finite")]
    Coefficient { column: usize, row: usize, value: f64 },
}

/// One column: its cost, upper bound and non-zero coefficients (sorted by row, no duplicates).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    pub cost: f64,
    pub upper: f64,
    pub entries: Vec<(usize, f64)>,
}

/// A linear program in the form described in the [module documentation](self).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Problem {
    relations: Vec<Relation>,
    rhs: Vec<f64>,
    columns: Vec<Column>,
}

impl Problem {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a row `a·x (relation) rhs` and returns its index. Columns added later give it
    /// coefficients.
    pub fn add_row(&mut self, relation: Relation, rhs: f64) -> Result<usize, LpError> {
        let row = self.rhs.len();
        if !rhs.is_finite() {
            return Err(LpError::Rhs { row, value: rhs });
        }
        self.relations.push(relation);
        self.rhs.push(rhs);
        Ok(row)
    }

    /// Adds a column `x_j` with cost, upper bound (`f64::INFINITY` for none) and coefficients
    /// `(row, value)`; repeated rows are summed and zeros dropped. Returns its index.
    pub fn add_column(&mut self, cost: f64, upper: f64, entries: &[(usize, f64)]) -> Result<usize, LpError> {
        let column = Column::new(self.columns.len(), self.rhs.len(), cost, upper, entries)?;
        self.columns.push(column);
        Ok(self.columns.len() - 1)
    }

    pub fn num_rows(&self) -> usize {
        self.rhs.len()
    }

    pub fn num_columns(&self) -> usize {
        self.columns.len()
    }

    pub fn relations(&self) -> &[Relation] {
        &self.relations
    }

    pub fn rhs(&self) -> &[f64] {
        &self.rhs
    }

    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// Solves the problem from scratch.
    pub fn solve(&self, options: &Options) -> Solution {
        Simplex::new(self, options).solve()
    }
}

impl Column {
    /// A validated column with its entries sorted and merged.
    fn new(index: usize, rows: usize, cost: f64, upper: f64, entries: &[(usize, f64)]) -> Result<Column, LpError> {
        if !cost.is_finite() {
            return Err(LpError::Cost { column: index, value: cost });
        }
        if upper.is_nan() || upper < 0.0 {
            return Err(LpError::Upper { column: index, value: upper });
        }
        let mut sorted = Vec::with_capacity(entries.len());
        for &(row, value) in entries {
            if row >= rows {
                return Err(LpError::Row { column: index, row, rows });
            }
            if !value.is_finite() {
                return Err(LpError::Coefficient { column: index, row, value });
            }
            sorted.push((row, value));
        }
        sorted.sort_by_key(|&(row, _)| row);
        let mut merged: Vec<(usize, f64)> = Vec::with_capacity(sorted.len());
        for (row, value) in sorted {
            match merged.last_mut() {
                Some(last) if last.0 == row => last.1 += value,
                _ => merged.push((row, value)),
            }
        }
        merged.retain(|&(_, value)| value != 0.0);
        if let Some(&(row, value)) = merged.iter().find(|(_, value)| !value.is_finite()) {
            return Err(LpError::Coefficient { column: index, row, value });
        }
        Ok(Column { cost, upper, entries: merged })
    }
}

/// Limits and tolerances. The defaults suit problems whose scaled coefficients are within a
/// few orders of magnitude of each other.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Options {
    /// Pivots (including bound flips) per call to solve, all phases together; `None` means
    /// `10_000 + 20·(rows + columns)`.
    pub max_iterations: Option<usize>,
    pub feasibility_tolerance: f64,
    pub optimality_tolerance: f64,
    pub pivot_tolerance: f64,
    /// Pivots between two rebuilds of the basis inverse (at least `rows / 2` are used).
    pub refactor_interval: usize,
    /// Consecutive degenerate pivots before switching to Bland's rule.
    pub degenerate_switch: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_iterations: None,
            feasibility_tolerance: 1e-9,
            optimality_tolerance: 1e-9,
            pivot_tolerance: 1e-9,
            refactor_interval: 100,
            degenerate_switch: 50,
        }
    }
}

/// How a solve ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    /// `x` is optimal; `duals` prove it.
    Optimal,
    /// No `x` satisfies the rows and bounds.
    Infeasible,
    /// The objective decreases without limit along a feasible ray.
    Unbounded,
    /// The pivot limit was reached first; `x` is the last basic solution (feasible if phase 1
    /// had finished, which [`Solution::feasible`] tells).
    IterationLimit,
}

/// The answer of a solve, in the problem's own (unscaled) units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Solution {
    pub status: Status,
    /// `cᵀx` of the returned `x`.
    pub objective: f64,
    /// The primal values, one per column.
    pub x: Vec<f64>,
    /// Row prices `π`, one per row.
    pub duals: Vec<f64>,
    /// `c_j − πᵀA_j`, one per column.
    pub reduced_costs: Vec<f64>,
    /// Pivots and bound flips made by this solve.
    pub iterations: usize,
    /// Whether `x` satisfies the rows and bounds (phase 1 finished).
    pub feasible: bool,
}
