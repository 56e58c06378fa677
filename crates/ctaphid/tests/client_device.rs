//! The client and device halves of the one CTAPHID implementation, talking
//! over in-process pipes, a shared bus (as hidraw delivers reports to every
//! reader) and UDP on loopback.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use ctaphid::client::capability;
use ctaphid::serve::{RequestContext, RequestHandler, serve};
use ctaphid::transport::PipeEnd;
use ctaphid::*;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Test stand-in for an authenticator: the first payload byte picks a behaviour.
struct Behaviours;

const ECHO: u8 = 1;
const TOUCH: u8 = 2; // UP_NEEDED until cancelled, or 300 ms
const PROCESS: u8 = 3; // PROCESSING for 250 ms

impl RequestHandler for Behaviours {
    fn handle(&mut self, request: &Message, ctx: &RequestContext) -> Vec<u8> {
        if request.cmd != Command::CBOR {
            return Vec::new();
        }
        let started = Instant::now();
        match request.payload.first() {
            Some(&ECHO) => [&[0u8][..], &request.payload[1..]].concat(),
            Some(&TOUCH) => {
                ctx.set_status(KeepaliveStatus::UpNeeded);
                while started.elapsed() < Duration::from_millis(300) {
                    if ctx.is_cancelled() {
                        return vec![0x2d];
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
                vec![0x00]
            }
            Some(&PROCESS) => {
                std::thread::sleep(Duration::from_millis(250));
                vec![0x00]
            }
            _ => vec![0x01],
        }
    }
}

const IDENTITY: DeviceIdentity = DeviceIdentity {
    version: (5, 4, 3),
    capabilities: capability::WINK | capability::CBOR | capability::NMSG,
};

fn start_device<T: ReportTransport + 'static>(transport: T) -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    std::thread::spawn(move || serve(transport, IDENTITY, Behaviours, s));
    stop
}

fn connected() -> (HidChannel<PipeEnd>, Arc<AtomicBool>) {
    let (host, dev) = pipe();
    let stop = start_device(dev);
    (
        HidChannel::open(host, ClientConfig::default()).unwrap(),
        stop,
    )
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

#[test]
fn init_allocates_a_channel() {
    let (ch, _stop) = connected();
    let info = ch.info();
    assert_ne!(info.cid, BROADCAST_CID);
    assert_eq!(info.protocol_version, 2);
    assert_eq!(info.device_version, (5, 4, 3));
    assert_eq!(info.capabilities, 0x0d);
}

#[test]
fn full_size_message_round_trips() {
    let (mut ch, _stop) = connected();
    let mut request = vec![ECHO];
    request.extend((1..MAX_MESSAGE_LEN).map(|i| (i % 251) as u8));
    let answer = ch
        .cbor(&request, Transaction::with_timeout(secs(5)))
        .unwrap();
    assert_eq!(answer.len(), MAX_MESSAGE_LEN);
    assert_eq!(answer[0], 0);
    assert_eq!(&answer[1..], &request[1..]);
}

#[test]
fn oversized_request_is_refused_before_sending() {
    let (mut ch, _stop) = connected();
    let err = ch
        .cbor(
            &vec![ECHO; MAX_MESSAGE_LEN + 1],
            Transaction::with_timeout(secs(1)),
        )
        .unwrap_err();
    assert_eq!(
        err,
        ClientError::Framing(FramingError::TooLong {
            len: 7610,
            max: 7609
        })
    );
    assert_eq!(
        ch.ping(b"still in sync", secs(1)).unwrap(),
        b"still in sync"
    );
}

fn keepalives(
    ch: &mut HidChannel<PipeEnd>,
    behaviour: u8,
) -> (Result<Vec<u8>, ClientError>, Vec<KeepaliveStatus>) {
    let mut seen = Vec::new();
    let mut cb = |s: KeepaliveStatus| seen.push(s);
    let result = ch.cbor(
        &[behaviour],
        Transaction {
            timeout: secs(5),
            on_keepalive: Some(&mut cb),
            cancel: None,
        },
    );
    (result, seen)
}

#[test]
fn processing_and_up_needed_are_distinct_events() {
    let (mut ch, _stop) = connected();
    let (result, seen) = keepalives(&mut ch, PROCESS);
    assert_eq!(result.unwrap(), [0]);
    assert!(!seen.is_empty(), "a 250 ms request gets keepalives");
    assert!(
        seen.iter().all(|s| *s == KeepaliveStatus::Processing),
        "{seen:?}"
    );

    let (result, seen) = keepalives(&mut ch, TOUCH);
    assert_eq!(result.unwrap(), [0]);
    assert!(seen.contains(&KeepaliveStatus::UpNeeded), "{seen:?}");
}

#[test]
fn cancel_while_up_needed() {
    let (mut ch, _stop) = connected();
    let token = CancelToken::new();
    let t = token.clone();
    let mut cb = move |s: KeepaliveStatus| {
        if s == KeepaliveStatus::UpNeeded {
            t.cancel();
        }
    };
    let started = Instant::now();
    let result = ch.cbor(
        &[TOUCH],
        Transaction {
            timeout: secs(10),
            on_keepalive: Some(&mut cb),
            cancel: Some(&token),
        },
    );
    assert_eq!(result, Err(ClientError::Cancelled));
    assert!(started.elapsed() < secs(5));
    assert_eq!(ch.ping(b"after cancel", secs(1)).unwrap(), b"after cancel");
}

#[test]
fn timeout_cancels_and_reports_timeout() {
    let (mut ch, _stop) = connected();
    let result = ch.cbor(
        &[TOUCH],
        Transaction::with_timeout(Duration::from_millis(120)),
    );
    assert_eq!(
        result,
        Err(ClientError::Timeout {
            cmd: Command::CBOR,
            after: Duration::from_millis(120)
        })
    );
}

#[test]
fn a_silent_device_times_out_and_a_gone_one_is_reported() {
    let (host, _dev) = pipe(); // nobody answers, but the other end stays open
    let config = ClientConfig {
        init_timeout: Duration::from_millis(200),
        ..Default::default()
    };
    let started = Instant::now();
    assert!(matches!(
        HidChannel::open(host, config),
        Err(ClientError::Timeout {
            cmd: Command::INIT,
            ..
        })
    ));
    assert!(started.elapsed() < secs(2));

    let (host, dev) = pipe();
    drop(dev);
    assert!(matches!(
        HidChannel::open(host, ClientConfig::default()),
        Err(ClientError::Transport(TransportError::Disconnected))
    ));
}

#[test]
fn ping_wink_lock() {
    let (mut ch, _stop) = connected();
    assert_eq!(ch.ping(&[7; 300], secs(1)).unwrap(), vec![7; 300]);
    ch.wink(secs(1)).unwrap();
    ch.lock(1, secs(1)).unwrap();
    ch.lock(0, secs(1)).unwrap();
}

/// A bus like hidraw: every host sees every report the device sends.
struct BusDevice {
    inbox: Receiver<Report>,
    hosts: Arc<Mutex<Vec<Sender<Report>>>>,
}

struct BusHost {
    to_device: Sender<Report>,
    inbox: Receiver<Report>,
}

impl ReportTransport for BusDevice {
    fn send(&mut self, r: &Report) -> Result<(), TransportError> {
        for h in self.hosts.lock().unwrap().iter() {
            let _ = h.send(*r);
        }
        Ok(())
    }
    fn recv(&mut self, t: Duration) -> Result<Option<Report>, TransportError> {
        ctaphid::transport::recv_queued(&self.inbox, t)
    }
}

impl ReportTransport for BusHost {
    fn send(&mut self, r: &Report) -> Result<(), TransportError> {
        self.to_device
            .send(*r)
            .map_err(|_| TransportError::Disconnected)
    }
    fn recv(&mut self, t: Duration) -> Result<Option<Report>, TransportError> {
        ctaphid::transport::recv_queued(&self.inbox, t)
    }
}

fn bus(n: usize) -> (BusDevice, Vec<BusHost>) {
    let (to_device, inbox) = mpsc::channel();
    let hosts = Arc::new(Mutex::new(Vec::new()));
    let mut out = Vec::new();
    for _ in 0..n {
        let (tx, rx) = mpsc::channel();
        hosts.lock().unwrap().push(tx);
        out.push(BusHost {
            to_device: to_device.clone(),
            inbox: rx,
        });
    }
    (BusDevice { inbox, hosts }, out)
}

#[test]
fn a_busy_channel_is_retried_and_other_channels_are_filtered() {
    let (device, mut hosts) = bus(2);
    let _stop = start_device(device);
    let mut b = HidChannel::open(hosts.pop().unwrap(), ClientConfig::default()).unwrap();
    let mut a = HidChannel::open(hosts.pop().unwrap(), ClientConfig::default()).unwrap();
    assert_ne!(a.info().cid, b.info().cid);

    let touch = std::thread::spawn(move || a.cbor(&[TOUCH], Transaction::with_timeout(secs(5))));
    std::thread::sleep(Duration::from_millis(50));
    // B's request meets ERR_CHANNEL_BUSY while A waits for a touch, and is retried.
    let echoed = b
        .cbor(&[ECHO, 42], Transaction::with_timeout(secs(5)))
        .unwrap();
    assert_eq!(echoed, [0, 42]);
    assert_eq!(touch.join().unwrap().unwrap(), [0]);

    // With no retries allowed, the busy device is reported as such.
    let (device, mut hosts) = bus(2);
    let _stop = start_device(device);
    let no_retry = ClientConfig {
        busy_retries: 0,
        ..Default::default()
    };
    let mut b = HidChannel::open(hosts.pop().unwrap(), no_retry).unwrap();
    let mut a = HidChannel::open(hosts.pop().unwrap(), ClientConfig::default()).unwrap();
    let touch = std::thread::spawn(move || a.cbor(&[TOUCH], Transaction::with_timeout(secs(5))));
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(
        b.cbor(&[ECHO], Transaction::with_timeout(secs(5))),
        Err(ClientError::Busy { retries: 0 })
    );
    touch.join().unwrap().unwrap();
}

#[test]
fn over_udp_on_loopback() {
    let device = UdpReports::listen(([127, 0, 0, 1], 0).into()).unwrap();
    let addr = device.local_addr().unwrap();
    let _stop = start_device(device);
    let mut ch =
        HidChannel::open(UdpReports::connect(addr).unwrap(), ClientConfig::default()).unwrap();
    let mut request = vec![ECHO];
    request.extend(vec![0x5a; MAX_MESSAGE_LEN - 1]);
    let answer = ch
        .cbor(&request, Transaction::with_timeout(secs(5)))
        .unwrap();
    assert_eq!(answer.len(), MAX_MESSAGE_LEN);
    assert!(answer[1..].iter().all(|b| *b == 0x5a));
}

/// A raw UDP peer: another local process writing to the key.
fn stranger(device: std::net::SocketAddr) -> std::net::UdpSocket {
    let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    s.connect(device).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    s
}

/// Every datagram `s` receives until it has been quiet for 200 ms.
fn drain(s: &std::net::UdpSocket) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 128];
    while let Ok(n) = s.recv(&mut buf) {
        out.push(buf[..n].to_vec());
    }
    out
}

#[test]
fn a_udp_key_serves_its_first_client_until_it_is_idle() {
    let idle = Duration::from_millis(400);
    let device = UdpReports::listen_with_idle(([127, 0, 0, 1], 0).into(), idle).unwrap();
    assert_eq!(device.client_idle(), Some(idle));
    let addr = device.local_addr().unwrap();
    let _stop = start_device(device);
    let mut first =
        HidChannel::open(UdpReports::connect(addr).unwrap(), ClientConfig::default()).unwrap();

    // Another process's INIT, while the first client is active: it is told
    // the key is busy on its own channel, and hears nothing else.
    let other = stranger(addr);
    let mut init = [0u8; 64];
    init[..4].copy_from_slice(&[0xff; 4]);
    init[4] = 0x86;
    init[6] = 8;
    init[7..15].copy_from_slice(b"strangr!");
    other.send(&init).unwrap();
    // A continuation packet gets no answer at all.
    other.send(&[0x11; 64]).unwrap();
    let answer = first
        .cbor(&[ECHO, 0x5a, 0x5a], Transaction::with_timeout(secs(5)))
        .unwrap();
    assert_eq!(answer, vec![0, 0x5a, 0x5a]);
    let heard = drain(&other);
    assert_eq!(heard.len(), 1, "{heard:?}");
    assert_eq!(&heard[0][..8], &[0xff, 0xff, 0xff, 0xff, 0xbf, 0, 1, 0x06]);

    // A client that does not retry is refused while the first is bound.
    let no_retry = ClientConfig {
        busy_retries: 0,
        ..Default::default()
    };
    assert!(matches!(
        HidChannel::open(UdpReports::connect(addr).unwrap(), no_retry),
        Err(ClientError::Busy { retries: 0 })
    ));
    // One that retries gets the key once the first client has gone quiet.
    let mut second =
        HidChannel::open(UdpReports::connect(addr).unwrap(), ClientConfig::default()).unwrap();
    let answer = second
        .cbor(&[ECHO, 7], Transaction::with_timeout(secs(5)))
        .unwrap();
    assert_eq!(answer, vec![0, 7]);
}

#[test]
fn a_client_keeping_its_udp_socket_stays_the_bound_client() {
    let device =
        UdpReports::listen_with_idle(([127, 0, 0, 1], 0).into(), Duration::from_secs(60)).unwrap();
    let addr = device.local_addr().unwrap();
    let _stop = start_device(device);
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.connect(addr).unwrap();
    let no_retry = ClientConfig {
        busy_retries: 0,
        ..Default::default()
    };
    for round in 0..3u8 {
        let transport = UdpReports::from_connected(socket.try_clone().unwrap()).unwrap();
        let mut ch = HidChannel::open(transport, no_retry).unwrap();
        let answer = ch
            .cbor(&[ECHO, round], Transaction::with_timeout(secs(5)))
            .unwrap();
        assert_eq!(answer, vec![0, round]);
    }
}
