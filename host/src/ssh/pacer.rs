//! A bounded rate of new SSH connections, with jitter. A run against a
//! thousand hosts with a high `--forks`, or many hosts behind one bastion
//! or load balancer, must not open them all in the same millisecond: each
//! new connection takes the next free slot of `1/rate` seconds, and starts
//! at a random point inside it, so starts spread evenly and never line up
//! into bursts (whatever the hosts' clocks or the order of the inventory).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Paces connection starts; shared (behind an `Arc`) by every connection of a run.
#[derive(Debug)]
pub struct Pacer {
    /// One slot; none: no limit.
    interval: Option<Duration>,
    /// When the next free slot begins.
    next: Mutex<Instant>,
    /// xorshift64* state for the jitter (no cryptographic need).
    seed: AtomicU64,
}

impl Pacer {
    /// At most `per_second` connection starts a second; 0: no limit.
    pub fn new(per_second: u32) -> Pacer {
        let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1) | 1;
        Pacer {
            interval: (per_second > 0).then(|| Duration::from_secs(1) / per_second),
            next: Mutex::new(Instant::now()),
            seed: AtomicU64::new(seed),
        }
    }

    /// A number in [0, 1).
    fn unit(&self) -> f64 {
        let mut x = self.seed.load(Ordering::Relaxed);
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.seed.store(x, Ordering::Relaxed);
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// The moment a new connection may start: its slot plus jitter.
    fn claim(&self) -> Option<Instant> {
        let interval = self.interval?;
        let slot = {
            let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
            let slot = (*next).max(Instant::now());
            *next = slot + interval;
            slot
        };
        Some(slot + interval.mul_f64(self.unit()))
    }

    /// Wait for this connection's turn.
    pub async fn wait(&self) {
        if let Some(at) = self.claim() {
            tokio::time::sleep_until(at.into()).await;
        }
    }
}

impl Default for Pacer {
    fn default() -> Self {
        Pacer::new(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_take_one_slot_each_with_jitter_inside_it() {
        let p = Pacer::new(100);
        let t0 = Instant::now();
        let starts: Vec<Instant> = (0..50).map(|_| p.claim().unwrap()).collect();
        for (i, s) in starts.iter().enumerate() {
            let offset = s.duration_since(t0);
            // Slot i begins at i × 10 ms (plus the microseconds this loop takes).
            assert!(offset >= Duration::from_millis(10) * i as u32, "start {i} at {offset:?}");
            assert!(offset < Duration::from_millis(10) * (i as u32 + 1) + Duration::from_millis(5), "start {i} at {offset:?}");
        }
        let jitters: Vec<u128> =
            starts.iter().enumerate().map(|(i, s)| (s.duration_since(t0) - Duration::from_millis(10) * i as u32).as_micros()).collect();
        assert!(jitters.iter().any(|j| *j > 2_000) && jitters.iter().any(|j| *j < 8_000), "jitter spreads over the slot: {jitters:?}");
        assert!(Pacer::new(0).claim().is_none(), "0: no limit");
    }
}
