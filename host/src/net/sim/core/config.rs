//! Link configuration and the protocol constants of the simulation.

use std::time::Duration;

/// The performance and fault model of a link (used for both directions by
/// [`super::Network::set_link`]; each direction has its own random stream
/// and bandwidth queue).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkConfig {
    /// One-way propagation delay.
    pub latency: Duration,
    /// Extra delay, uniform in `[0, jitter]`, drawn per packet.
    pub jitter: Duration,
    /// Serialization rate in bytes per second (`None`: unlimited). Packets
    /// queue behind each other per direction.
    pub bandwidth: Option<u64>,
    /// Probability that a packet is lost.
    pub loss: f64,
    /// Probability that a delivered packet arrives twice.
    pub duplicate: f64,
    /// Probability that a delivered packet is held back by an extra delay
    /// (uniform up to `2 * latency + jitter + 1 ms`), so later packets
    /// overtake it.
    pub reorder: f64,
}

impl Default for LinkConfig {
    fn default() -> LinkConfig {
        LinkConfig {
            latency: Duration::from_millis(1),
            jitter: Duration::ZERO,
            bandwidth: None,
            loss: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
        }
    }
}

/// Largest stream segment payload, in bytes.
pub const MSS: usize = 1460;
/// Default send and receive buffer size, in bytes.
pub const DEFAULT_BUFFER: u64 = 262_144;
/// How long a stream connect may take before it fails with `TimedOut`.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(75);
/// How long stream data may stay unacknowledged before the connection
/// fails with `TimedOut` (checked at each retransmission).
pub const DATA_TIMEOUT: Duration = Duration::from_secs(100);
/// First ephemeral port; ports are handed out upward from here.
pub const EPHEMERAL_START: u16 = 49152;

/// First SYN retransmission timeout (doubles per retry).
pub(crate) const SYN_RTO: Duration = Duration::from_secs(1);
/// Smallest data retransmission timeout.
pub(crate) const MIN_RTO: Duration = Duration::from_millis(200);
/// Largest data retransmission timeout.
pub(crate) const MAX_RTO: Duration = Duration::from_secs(60);
/// How long a closed stream waits for its peer's FIN once its own was
/// acknowledged (Linux `tcp_fin_timeout`).
pub(crate) const FIN_WAIT_TIMEOUT: Duration = Duration::from_secs(60);
/// Header bytes counted against bandwidth per packet.
pub(crate) const HEADER: usize = 40;
/// Largest UDP payload over IPv4.
pub(crate) const MAX_UDP_V4: usize = 65_507;
/// Largest UDP payload over IPv6.
pub(crate) const MAX_UDP_V6: usize = 65_527;
/// Backlog used for `listen(0)`.
pub(crate) const DEFAULT_BACKLOG: usize = 128;
/// Largest backlog.
pub(crate) const MAX_BACKLOG: usize = 4096;
/// Default keep-alive idle time.
pub(crate) const KEEPALIVE_IDLE: Duration = Duration::from_secs(7200);
/// Default keep-alive probe interval.
pub(crate) const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(75);
/// Default keep-alive probe count.
pub(crate) const KEEPALIVE_COUNT: u32 = 9;
/// Largest keep-alive idle time and probe interval (`TCP_KEEPIDLE` and
/// `TCP_KEEPINTVL` take at most 32767 s).
pub(crate) const MAX_KEEPALIVE_TIME: Duration = Duration::from_secs(32767);
/// Largest keep-alive probe count (`TCP_KEEPCNT`).
pub(crate) const MAX_KEEPALIVE_COUNT: u32 = 127;
/// Largest linger time (`SO_LINGER` keeps 16-bit seconds).
pub(crate) const MAX_LINGER: Duration = Duration::from_secs(65535);

/// `base * 2^(attempt-1)`, capped at `cap` (attempt counts from 1).
pub(crate) fn backoff(base: Duration, attempt: u32, cap: Duration) -> Duration {
    let shift = attempt.saturating_sub(1).min(40);
    let nanos = base.as_nanos().saturating_mul(1u128 << shift);
    let nanos = u64::try_from(nanos).unwrap_or(u64::MAX);
    Duration::from_nanos(nanos).min(cap)
}
