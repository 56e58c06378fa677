//! One removing cleanup sweep, timed, on either local backend:
//! `cargo run --release -p session-engine --example sweep_remove -- [N] [embedded|files]`.
//! N sessions (default 10,000) are created by 16 threads (the embedded store
//! commits concurrent writes together), then all are made idle past 14 days
//! and one sweep removes them. Prints sessions removed per second.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use session_engine::cleanup::{CleanupConfig, SweepTrigger, sweep};
use session_engine::{Clock, ManualClock};
use session_store::{EmbeddedStore, LocalStore, Storage};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let backend = args.get(2).map_or("embedded", String::as_str);
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Storage> = match backend {
        "files" => Arc::new(LocalStore::open(dir.path()).unwrap()),
        _ => Arc::new(EmbeddedStore::open(dir.path()).unwrap()),
    };
    let clock = ManualClock::at_2025();
    let now = clock.now();
    let fill = Instant::now();
    let threads: Vec<_> = (0..16)
        .map(|t| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                for _ in (t..n).step_by(16) {
                    session_engine::session::create(&*store, now).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let filled = fill.elapsed();
    let later = now + Duration::from_secs(15 * 24 * 3600);
    let start = Instant::now();
    let report = sweep(
        &*store,
        &CleanupConfig::default(),
        later,
        SweepTrigger::Scheduled,
    );
    let took = start.elapsed();
    assert_eq!(report.removed_idle, n, "{:?}", report.errors);
    println!(
        "{backend}: {n} sessions created in {:.2} s ({:.0}/s by 16 threads); removing sweep {:.2} s, {:.0} sessions/s",
        filled.as_secs_f64(),
        n as f64 / filled.as_secs_f64(),
        took.as_secs_f64(),
        n as f64 / took.as_secs_f64()
    );
}
