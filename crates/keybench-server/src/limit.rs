//! How fast one peer may make the server create sessions: a token bucket
//! per peer address, so an anonymous client cannot fill the store with
//! sessions faster than cleanup's budget removes them. The table of peers
//! is bounded too: when full, peers whose bucket has refilled are forgotten
//! (they are indistinguishable from new ones), and past that every unknown
//! peer shares one bucket.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

/// A rate: `burst` creations at once, refilled at `per_minute`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Creations a peer may make at once.
    pub burst: u32,
    /// Creations a peer regains per minute.
    pub per_minute: u32,
}

impl Default for RateLimit {
    /// 300 at once, 300 a minute: far above what a person with a browser
    /// or the desktop app does, far below what fills a store.
    fn default() -> Self {
        RateLimit {
            burst: 300,
            per_minute: 300,
        }
    }
}

/// Peers remembered at most.
const MAX_PEERS: usize = 4096;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Per-peer token buckets.
#[derive(Debug)]
pub struct CreationLimiter {
    limit: RateLimit,
    peers: Mutex<HashMap<IpAddr, Bucket>>,
    overflow: Mutex<Option<Bucket>>,
}

impl CreationLimiter {
    /// A limiter at `limit`.
    pub fn new(limit: RateLimit) -> Self {
        CreationLimiter {
            limit,
            peers: Mutex::new(HashMap::new()),
            overflow: Mutex::new(None),
        }
    }

    fn refill(&self, bucket: &mut Bucket, now: Instant) {
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * f64::from(self.limit.per_minute) / 60.0)
            .min(f64::from(self.limit.burst));
        bucket.at = now;
    }

    fn take(&self, bucket: &mut Bucket, now: Instant) -> bool {
        self.refill(bucket, now);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Whether `peer` may create one more session now (and counts it).
    pub fn allow(&self, peer: IpAddr) -> bool {
        self.allow_at(peer, Instant::now())
    }

    /// Whose bucket an address draws from: any local process can send from
    /// any of 127.0.0.0/8 and an IPv6 host usually has a whole /64, so those
    /// count as one peer each.
    fn bucket_key(peer: IpAddr) -> IpAddr {
        match peer {
            IpAddr::V4(v4) if v4.is_loopback() => IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
            IpAddr::V4(v4) => IpAddr::V4(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self::bucket_key(IpAddr::V4(v4)),
                None => {
                    let s = v6.segments();
                    IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
                }
            },
        }
    }

    fn allow_at(&self, peer: IpAddr, now: Instant) -> bool {
        let peer = Self::bucket_key(peer);
        let full = Bucket {
            tokens: f64::from(self.limit.burst),
            at: now,
        };
        // A poisoned lock only means another request panicked mid-update;
        // the table is still a valid map of buckets.
        let mut peers = self.peers.lock().unwrap_or_else(|p| p.into_inner());
        if !peers.contains_key(&peer) && peers.len() >= MAX_PEERS {
            let limit = f64::from(self.limit.burst);
            peers.retain(|_, b| {
                self.refill(b, now);
                b.tokens < limit
            });
        }
        if let Some(bucket) = peers.get_mut(&peer) {
            return self.take(bucket, now);
        }
        if peers.len() < MAX_PEERS {
            let mut bucket = full;
            let allowed = self.take(&mut bucket, now);
            peers.insert(peer, bucket);
            return allowed;
        }
        drop(peers);
        let mut overflow = self.overflow.lock().unwrap_or_else(|p| p.into_inner());
        let bucket = overflow.get_or_insert(full);
        self.take(bucket, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_peer_gets_its_burst_then_the_refill_rate() {
        let l = CreationLimiter::new(RateLimit {
            burst: 3,
            per_minute: 60,
        });
        let t0 = Instant::now();
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        assert!((0..3).all(|_| l.allow_at(a, t0)));
        assert!(!l.allow_at(a, t0));
        // Another peer has its own bucket.
        assert!(l.allow_at(b, t0));
        // One per second comes back.
        assert!(l.allow_at(a, t0 + Duration::from_millis(1_000)));
        assert!(!l.allow_at(a, t0 + Duration::from_millis(1_000)));
        // Never more than the burst, however long the pause.
        let later = t0 + Duration::from_secs(3_600);
        assert!((0..3).all(|_| l.allow_at(a, later)));
        assert!(!l.allow_at(a, later));
    }

    #[test]
    fn the_peer_table_is_bounded() {
        let l = CreationLimiter::new(RateLimit {
            burst: 1,
            per_minute: 1,
        });
        let t0 = Instant::now();
        for i in 0..(MAX_PEERS as u32 + 10) {
            let ip: IpAddr = std::net::Ipv4Addr::from(i).into();
            l.allow_at(ip, t0);
        }
        assert!(l.peers.lock().unwrap().len() <= MAX_PEERS);
        // Past the table, unknown peers share one bucket, used up by now.
        let x: IpAddr = [203, 0, 113, 1].into();
        assert!(!l.allow_at(x, t0));
        // Once their buckets have refilled, peers are forgotten and a new
        // one gets a bucket of its own again.
        let later = t0 + Duration::from_secs(61);
        assert!(l.allow_at(x, later));
        assert_eq!(l.peers.lock().unwrap().len(), 1);
    }

    #[test]
    fn loopback_and_an_ipv6_prefix_are_one_peer_each() {
        let l = CreationLimiter::new(RateLimit {
            burst: 2,
            per_minute: 1,
        });
        let t0 = Instant::now();
        let lo1: IpAddr = [127, 0, 0, 1].into();
        let lo2: IpAddr = [127, 9, 8, 7].into();
        assert!(l.allow_at(lo1, t0));
        assert!(l.allow_at(lo2, t0));
        assert!(
            !l.allow_at([127, 1, 1, 1].into(), t0),
            "another loopback address"
        );
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert!(l.allow_at(a, t0));
        assert!(l.allow_at(b, t0));
        assert!(!l.allow_at(a, t0), "the same /64");
        assert!(l.allow_at(other, t0), "another /64");
    }
}
