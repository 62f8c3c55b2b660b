//! What `/proc` says about the bootstrap process and the machine: resident
//! memory and its peak, CPU time, load average, and the open-files limit.

use nix::sys::resource::{Resource, getrlimit, setrlimit};
use nix::unistd::{SysconfVar, sysconf};

/// Resident memory of a process (`/proc/<pid>/status`), in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Memory {
    /// `VmRSS`: resident now.
    pub rss: u64,
    /// `VmHWM`: the most it was ever resident (the high-water mark).
    pub peak: u64,
}

/// The resident memory of process `pid`, if it still runs.
pub fn memory(pid: u32) -> Option<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_memory(&status)
}

/// The CPU time process `pid` has used, user and system (`utime + stime`
/// of `/proc/<pid>/stat`), in clock ticks.
pub fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_cpu_ticks(&stat)
}

/// Clock ticks per second (`sysconf(_SC_CLK_TCK)`, 100 on Linux).
pub fn ticks_per_second() -> Option<u64> {
    let ticks = sysconf(SysconfVar::CLK_TCK).ok()??;
    u64::try_from(ticks).ok().filter(|t| *t > 0)
}

/// The 1, 5 and 15 minute load averages (`/proc/loadavg`).
pub fn load_average() -> Option<[f64; 3]> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let mut fields = text.split_whitespace().map(str::parse::<f64>);
    Some([
        fields.next()?.ok()?,
        fields.next()?.ok()?,
        fields.next()?.ok()?,
    ])
}

/// The machine a measurement ran on.
#[derive(Debug, Clone, PartialEq)]
pub struct Machine {
    /// The CPU's model name (`/proc/cpuinfo`).
    pub cpu: String,
    /// Cores this process may use.
    pub cores: usize,
    /// `MemTotal` in bytes.
    pub memory: u64,
    /// The kernel release.
    pub kernel: String,
}

/// What this machine is.
pub fn machine() -> Machine {
    let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
    let cpuinfo = read("/proc/cpuinfo");
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|rest| rest.split_once(':'))
        .map(|(_, name)| name.trim().to_owned())
        .unwrap_or_else(|| "unknown".to_owned());
    let memory = read("/proc/meminfo")
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(kib)
        .unwrap_or(0);
    Machine {
        cpu,
        cores: std::thread::available_parallelism().map_or(1, usize::from),
        memory,
        kernel: read("/proc/sys/kernel/osrelease").trim().to_owned(),
    }
}

/// Raises this process's soft limit of open files to `wanted`, or to the
/// hard limit if that is lower, and never lowers it. Processes started
/// afterwards (the bootstrap node) inherit it. Returns the soft and hard
/// limits now in force.
pub fn raise_open_files(wanted: u64) -> Result<(u64, u64), nix::Error> {
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE)?;
    let target = wanted.min(hard);
    if target > soft {
        setrlimit(Resource::RLIMIT_NOFILE, target, hard)?;
        return Ok((target, hard));
    }
    Ok((soft, hard))
}

fn parse_memory(status: &str) -> Option<Memory> {
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(kib)
    };
    Some(Memory {
        rss: field("VmRSS:")?,
        peak: field("VmHWM:")?,
    })
}

/// `"   1234 kB"` in bytes.
fn kib(value: &str) -> Option<u64> {
    let number = value.trim().strip_suffix("kB")?.trim();
    number.parse::<u64>().ok()?.checked_mul(1024)
}

/// Fields 14 and 15 of `/proc/<pid>/stat`. The command name (field 2) is
/// in parentheses and may hold spaces and parentheses itself, so fields
/// are counted from the last `)`.
fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let after_name = stat.get(stat.rfind(')')? + 1..)?;
    // Field 3 (the state) is the first after the name.
    let mut fields = after_name.split_whitespace().skip(14 - 3);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    user.checked_add(system)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_files_are_read_by_their_fields() {
        let status = "Name:\thearth\nVmHWM:\t   20480 kB\nVmRSS:\t   10240 kB\nThreads: 3\n";
        assert_eq!(
            parse_memory(status),
            Some(Memory {
                rss: 10 * 1024 * 1024,
                peak: 20 * 1024 * 1024
            })
        );
        assert_eq!(parse_memory("VmRSS: 12 kB\n"), None);
        let stat = "4242 (we ird) (name) S 1 4242 4242 0 -1 4194560 1048 0 0 0 37 5 0 0 20 0 \
                    1 0 987654 10182656 1201";
        assert_eq!(parse_cpu_ticks(stat), Some(42));
        assert_eq!(parse_cpu_ticks("4242 (x) S 1 2"), None);
    }

    #[test]
    fn this_process_has_memory_and_cpu_time() {
        let pid = std::process::id();
        let memory = memory(pid).expect("/proc/self/status");
        assert!(memory.rss > 0 && memory.peak >= memory.rss);
        assert!(cpu_ticks(pid).is_some());
        assert!(ticks_per_second().is_some());
        assert!(load_average().is_some());
    }
}
