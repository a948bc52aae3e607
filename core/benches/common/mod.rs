//! What the benchmarks share: a seeded generator and the process's peak memory.

#![allow(dead_code)]

/// The allocator the `fleetfit` command uses, so the figures are the command's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A 64-bit linear congruential generator (Knuth's MMIX constants): the same numbers on every
/// platform.
pub struct Lcg(pub u64);

impl Lcg {
    fn step(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0
    }
    /// Uniform in `0..n`.
    pub fn next(&mut self, n: usize) -> usize {
        ((self.step() >> 33) % n as u64) as usize
    }
    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.step() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform in `lo..=hi`.
    pub fn between(&mut self, (lo, hi): (usize, usize)) -> usize {
        lo + ((hi - lo + 1) as f64 * self.unit()) as usize
    }
    /// Log-uniform between `lo` and `hi`.
    pub fn log_uniform(&mut self, (lo, hi): (f64, f64)) -> f64 {
        lo * (hi / lo).powf(self.unit())
    }
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
}

/// The process's peak resident memory in MiB (Linux: `VmHWM` in `/proc/self/status`).
pub fn peak_memory_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Resets the process's peak resident memory to what it holds now (Linux: `5` to
/// `/proc/self/clear_refs`), so the next [`peak_memory_mib`] is of what follows.
pub fn reset_peak_memory() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}
