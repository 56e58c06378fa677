//! Per-request session cost and cleanup-sweep throughput on the local
//! backend. Baselines measured in the same run: a bare `std::fs::read` of
//! the record file (the I/O floor of a load) and the id validator alone.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use http::{HeaderMap, HeaderValue};
use session_engine::cleanup::{CleanupConfig, SweepTrigger, sweep};
use session_engine::{
    Clock, EndpointClass, EngineConfig, ManualClock, RequestContext, Scheme, SecretKey,
    SessionEngine, SessionId,
};
use session_store::{LocalOptions, LocalStore};
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn local(dir: &std::path::Path) -> Arc<LocalStore> {
    // fsync off for the bulk setup; reads (what is measured) are the same.
    Arc::new(
        LocalStore::open_with(
            dir,
            LocalOptions {
                fsync: false,
                ..LocalOptions::default()
            },
        )
        .unwrap(),
    )
}

fn fill(store: &LocalStore, n: usize, now: std::time::SystemTime) {
    for _ in 0..n {
        session_engine::session::create(store, now).unwrap();
    }
}

fn per_request(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let store = local(dir.path());
    let clock = Arc::new(ManualClock::at_2025());
    // 10,000 other sessions around it, as a busy server has.
    fill(&store, 10_000, clock.now());
    let engine = SessionEngine::with_key(
        EngineConfig::default(),
        store.clone(),
        clock.clone(),
        SecretKey::generate(),
    );
    let empty = HeaderMap::new();
    let ctx = RequestContext {
        scheme: Scheme::Https,
        peer: None,
        headers: &empty,
        endpoint: EndpointClass::Normal,
    };
    let opened = engine.open_or_create(&ctx).unwrap();
    let mut headers = HeaderMap::new();
    let pair = opened
        .set_cookie
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    headers.insert(http::header::COOKIE, HeaderValue::from_str(&pair).unwrap());
    let ctx = RequestContext {
        scheme: Scheme::Https,
        peer: None,
        headers: &headers,
        endpoint: EndpointClass::Normal,
    };
    let record_path = store
        .scope_dir(&opened.session.id.scope())
        .join("session.json");
    let id_text = opened.session.id.expose().to_owned();

    let mut g = c.benchmark_group("request");
    g.bench_function("baseline_fs_read_record", |b| {
        b.iter(|| black_box(std::fs::read(&record_path).unwrap()))
    });
    g.bench_function("baseline_id_validate", |b| {
        b.iter(|| black_box(SessionId::parse(black_box(&id_text)).unwrap()))
    });
    // Cookie lookup + AES-GCM open + id validation + record load + idle and
    // auth-expiry checks; last-access write coalesced (clock fixed).
    g.bench_function("open_validate_load", |b| {
        b.iter(|| black_box(engine.open(&ctx).unwrap().unwrap()))
    });
    g.finish();
}

fn cleanup(c: &mut Criterion) {
    let clock = ManualClock::at_2025();
    let config = CleanupConfig::default();
    let mut g = c.benchmark_group("cleanup_scan");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    let mut dirs = Vec::new();
    for n in [1_000usize, 10_000, 100_000] {
        let dir = tempfile::tempdir().unwrap();
        let store = local(dir.path());
        fill(&store, n, clock.now());
        g.throughput(Throughput::Elements(n as u64));
        // Nothing is idle: every session is read and kept.
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                let r = sweep(&*store, &config, clock.now(), SweepTrigger::Manual);
                assert_eq!(r.remaining, n);
            })
        });
        dirs.push(dir);
    }
    g.finish();
    drop(dirs);

    // Removing sweeps: every session idle past 14 days.
    let mut g = c.benchmark_group("cleanup_remove");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    let n = 10_000;
    g.throughput(Throughput::Elements(n as u64));
    // Baseline: the file system's own cost of deleting the same tree in one
    // `remove_dir_all` (what `rm -rf` does), no reading, no checks.
    g.bench_function("baseline_remove_dir_all", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let dir = tempfile::tempdir().unwrap();
                let store = local(dir.path());
                fill(&store, n, clock.now());
                let start = Instant::now();
                std::fs::remove_dir_all(dir.path().join("sessions")).unwrap();
                total += start.elapsed();
            }
            total
        })
    });
    g.bench_function(BenchmarkId::from_parameter(n), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let dir = tempfile::tempdir().unwrap();
                let store = local(dir.path());
                fill(&store, n, clock.now());
                let later = clock.now() + Duration::from_secs(15 * 24 * 3600);
                let start = Instant::now();
                let r = sweep(&*store, &config, later, SweepTrigger::Scheduled);
                total += start.elapsed();
                assert_eq!(r.removed_idle, n);
            }
            total
        })
    });
    g.finish();

    // One removing sweep over 100,000 sessions (too slow to repeat).
    let n = 100_000;
    let dir = tempfile::tempdir().unwrap();
    let store = local(dir.path());
    fill(&store, n, clock.now());
    let later = clock.now() + Duration::from_secs(15 * 24 * 3600);
    let start = Instant::now();
    let r = sweep(&*store, &config, later, SweepTrigger::Scheduled);
    let took = start.elapsed();
    assert_eq!(r.removed_idle, n);
    println!(
        "cleanup_remove/100000 (single run): {:.2} s, {:.0} sessions/s",
        took.as_secs_f64(),
        n as f64 / took.as_secs_f64()
    );
}

criterion_group!(benches, per_request, cleanup);
criterion_main!(benches);
