//! A 7,609-byte CTAPHID round trip in-process: client → device framing →
//! echo handler → client, over the in-process pipe. Baseline in the same run:
//! the framing alone (cut into 129 reports and reassembled, both ways),
//! without threads or transport.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ctaphid::serve::{RequestContext, RequestHandler, serve};
use ctaphid::*;
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

struct Echo;

impl RequestHandler for Echo {
    fn handle(&mut self, request: &Message, _: &RequestContext) -> Vec<u8> {
        request.payload.clone()
    }
}

fn framing_only(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..2 {
        let reports = Message::new(7, Command::CBOR, payload.to_vec())
            .to_reports()
            .unwrap();
        let mut r = Reassembler::new();
        for rep in &reports {
            if let Progress::Complete(m) = r.push(Packet::parse(rep)).unwrap() {
                out = m.payload;
            }
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let payload: Vec<u8> = (0..MAX_MESSAGE_LEN).map(|i| i as u8).collect();
    let mut group = c.benchmark_group("ctaphid_round_trip_7609");
    group.throughput(Throughput::Bytes(2 * MAX_MESSAGE_LEN as u64));

    group.bench_function("baseline_framing_only", |b| {
        b.iter(|| framing_only(black_box(&payload)))
    });

    let (host, dev) = pipe();
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let identity = DeviceIdentity {
        version: (1, 0, 0),
        capabilities: 0x0c,
    };
    std::thread::spawn(move || serve(dev, identity, Echo, s));
    let mut ch = HidChannel::open(host, ClientConfig::default()).unwrap();
    group.bench_function("in_process_client_and_device", |b| {
        b.iter(|| {
            ch.cbor(
                black_box(&payload),
                Transaction::with_timeout(Duration::from_secs(5)),
            )
            .unwrap()
        })
    });
    group.finish();
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
}

criterion_group!(benches, bench);
criterion_main!(benches);
