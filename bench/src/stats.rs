//! Medians and ranges over repeated runs.

/// The values measured for one side of a comparison.
#[derive(Debug, Clone, Default)]
pub struct Samples(pub Vec<f64>);

impl Samples {
    /// The median (0 if empty).
    pub fn median(&self) -> f64 {
        let mut v = self.0.clone();
        if v.is_empty() {
            return 0.0;
        }
        v.sort_by(f64::total_cmp);
        let m = v.len() / 2;
        if v.len() % 2 == 1 {
            v[m]
        } else {
            (v[m - 1] + v[m]) / 2.0
        }
    }

    /// In how many of the runs measured for both `self` and `other` (the
    /// samples pair up by run: the same index, measured in the same run) `self`
    /// did better, and how many such runs there are; `None` without pairs.
    /// A paired count is steadier than comparing medians when the machine
    /// drifts between runs, since both members of a pair see the same drift.
    pub fn wins_over(&self, other: &Samples, lower_is_better: bool) -> Option<(usize, usize)> {
        if self.0.is_empty() || self.0.len() != other.0.len() {
            return None;
        }
        let wins = self
            .0
            .iter()
            .zip(&other.0)
            .filter(|&(s, o)| if lower_is_better { s < o } else { s > o })
            .count();
        Some((wins, self.0.len()))
    }

    /// The smallest and largest value.
    pub fn range(&self) -> (f64, f64) {
        let lo = self.0.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = self.0.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (lo, hi)
    }
}

/// Resident memory of this process, in bytes (`/proc/self/statm`).
pub fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// CPU time (user and system) the calling thread has used so far.
pub fn thread_cpu() -> std::time::Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid timespec to fill, for a clock every Linux has.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return std::time::Duration::ZERO;
    }
    std::time::Duration::new(
        u64::try_from(ts.tv_sec).unwrap_or(0),
        u32::try_from(ts.tv_nsec).unwrap_or(0),
    )
}

/// The CPUs this process was allowed to run on when this was first
/// called: call it before anything is pinned (`main` does). Not
/// `available_parallelism`, which counts the CPUs the calling thread may
/// use now: from a pinned thread, one.
pub fn allowed_cpus() -> &'static [usize] {
    static ALLOWED: std::sync::OnceLock<Vec<usize>> = std::sync::OnceLock::new();
    ALLOWED.get_or_init(|| {
        // SAFETY: a zeroed cpu_set_t is a valid empty set for the call to
        // fill; CPU_ISSET reads inside it for indexes below its capacity.
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        let ok =
            unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) }
                == 0;
        let cpus: Vec<usize> = (0..libc::CPU_SETSIZE as usize)
            .filter(|&c| ok && unsafe { libc::CPU_ISSET(c, &set) })
            .collect();
        if cpus.is_empty() { vec![0] } else { cpus }
    })
}

/// How many CPUs the process may use ([`allowed_cpus`]).
pub fn cpus() -> usize {
    allowed_cpus().len()
}

/// Keep the calling thread on the `cpu`-th allowed CPU (modulo their
/// number), so that the measured side and the peers do not trade places
/// between runs; where that fails the scheduler places them, and the
/// figures vary more.
pub fn pin_to_cpu(cpu: usize) {
    let allowed = allowed_cpus();
    if allowed.len() < 2 {
        return;
    }
    set_affinity(&[allowed[cpu % allowed.len()]]);
}

/// Let the calling thread run on every CPU the process was allowed, as a
/// program nobody pinned does (and so the processes and threads it starts
/// from now on).
pub fn unpin() {
    set_affinity(allowed_cpus());
}

fn set_affinity(cpus: &[usize]) {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET writes
    // inside it (the indexes are below the CPU count, far under its
    // capacity), and the call reads exactly its size.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for &cpu in cpus {
            libc::CPU_SET(cpu, &mut set);
        }
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// Both sides of run `run`, A first in even runs and B first in odd ones,
/// so that neither side always runs first on a machine still warming up.
pub fn in_turn<T>(
    run: usize,
    a: impl FnOnce() -> anyhow::Result<T>,
    b: impl FnOnce() -> anyhow::Result<T>,
) -> anyhow::Result<(T, T)> {
    if run.is_multiple_of(2) {
        let first = a()?;
        Ok((first, b()?))
    } else {
        let first = b()?;
        Ok((a()?, first))
    }
}
