//! The machine a report was made on: OS, kernel, CPU model, cores — read
//! from what the OS publishes (on Linux /etc/os-release and /proc), with the
//! compile-time OS and architecture where nothing more is known.

use serde::Serialize;

/// The machine, as far as it tells.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Machine {
    /// The OS (`Debian GNU/Linux 12 (bookworm)`, else `linux`, `macos`, …).
    pub os: String,
    /// The kernel release, when known.
    pub kernel: Option<String>,
    /// The CPU architecture (`x86_64`, `aarch64`).
    pub arch: String,
    /// The CPU model, when known.
    pub cpu: Option<String>,
    /// Logical CPUs available to Keybench.
    pub cpus: Option<usize>,
}

/// Reads a small system file; absent or unreadable is `None`.
fn read(path: &str) -> Option<String> {
    use std::io::Read as _;
    let mut text = String::new();
    // These files are a few KB; the bound keeps a strange one harmless.
    std::fs::File::open(path)
        .ok()?
        .take(256 * 1024)
        .read_to_string(&mut text)
        .ok()?;
    Some(text)
}

/// `KEY=value` or `KEY="value"` from os-release text.
fn os_release_value(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let v = l.strip_prefix(key)?.strip_prefix('=')?;
        Some(v.trim().trim_matches('"').to_owned())
    })
}

/// The first `field : value` of /proc/cpuinfo text among `fields`.
fn cpuinfo_value(text: &str, fields: &[&str]) -> Option<String> {
    fields.iter().find_map(|field| {
        text.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == *field && !v.trim().is_empty()).then(|| v.trim().to_owned())
        })
    })
}

impl Machine {
    /// This machine.
    pub fn this() -> Machine {
        let os = read("/etc/os-release")
            .and_then(|t| os_release_value(&t, "PRETTY_NAME"))
            .unwrap_or_else(|| std::env::consts::OS.to_owned());
        Machine {
            os,
            kernel: read("/proc/sys/kernel/osrelease").map(|k| k.trim().to_owned()),
            arch: std::env::consts::ARCH.to_owned(),
            cpu: read("/proc/cpuinfo")
                .and_then(|t| cpuinfo_value(&t, &["model name", "Model", "Hardware", "cpu model"])),
            cpus: std::thread::available_parallelism().ok().map(usize::from),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_release_and_cpuinfo_fields() {
        let os = "NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n";
        assert_eq!(
            os_release_value(os, "PRETTY_NAME").as_deref(),
            Some("Debian GNU/Linux 12 (bookworm)")
        );
        assert_eq!(os_release_value(os, "VERSION"), None);
        let cpu = "processor\t: 0\nmodel name\t: AMD EPYC 7B13\nflags\t\t: fpu\n";
        assert_eq!(
            cpuinfo_value(cpu, &["model name"]).as_deref(),
            Some("AMD EPYC 7B13")
        );
        assert_eq!(cpuinfo_value("model name\t:\n", &["model name"]), None);
        let this = Machine::this();
        assert!(!this.os.is_empty() && !this.arch.is_empty());
    }
}
