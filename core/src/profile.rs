//! Where a plan's time goes: named phases, timed only when a caller asks (the benchmarks, the
//! CLI's `--timings`). Off, a phase costs a thread-local read and no clock is touched, so the
//! engine stays free of clocks; results never depend on it. Not on wasm32 (no clock there).

use std::cell::RefCell;

/// One phase's total over the calls made while profiling was on.
#[derive(Clone, Debug, PartialEq)]
pub struct Phase {
    pub name: &'static str,
    pub seconds: f64,
    pub calls: u32,
}

thread_local! {
    static PHASES: RefCell<Option<Vec<Phase>>> = const { RefCell::new(None) };
}

/// Starts timing phases on this thread (forgetting what was timed before).
pub fn start() {
    PHASES.with(|p| *p.borrow_mut() = Some(Vec::new()));
}

/// Stops timing and returns the phases in the order they first ended; empty if profiling was off.
pub fn finish() -> Vec<Phase> {
    PHASES.with(|p| p.borrow_mut().take()).unwrap_or_default()
}

/// Runs `f`, adding its time to phase `name` when profiling is on. Phases may nest: an inner
/// phase's time counts in the outer one too.
pub fn phase<T>(name: &'static str, f: impl FnOnce() -> T) -> T {
    #[cfg(not(target_arch = "wasm32"))]
    {
        if PHASES.with(|p| p.borrow().is_some()) {
            let start = std::time::Instant::now();
            let out = f();
            let seconds = start.elapsed().as_secs_f64();
            PHASES.with(|p| {
                if let Some(phases) = p.borrow_mut().as_mut() {
                    match phases.iter_mut().find(|x| x.name == name) {
                        Some(x) => {
                            x.seconds += seconds;
                            x.calls += 1;
                        }
                        None => phases.push(Phase { name, seconds, calls: 1 }),
                    }
                }
            });
            return out;
        }
    }
    // No clock on wasm32: the phase goes untimed.
    #[cfg(target_arch = "wasm32")]
    let _ = name;
    f()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_add_up_only_while_on() {
        assert_eq!(phase("off", || 1), 1);
        assert!(finish().is_empty());
        start();
        phase("a", || phase("b", || ()));
        phase("a", || ());
        let phases = finish();
        assert_eq!(phases.iter().map(|p| (p.name, p.calls)).collect::<Vec<_>>(), [("b", 1), ("a", 2)]);
        assert!(finish().is_empty(), "finishing turns it off");
    }
}
