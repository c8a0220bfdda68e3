//! Per-instance limits on what a guest may hold in the host.

/// Limits that apply to one guest instance. Each has a documented default;
/// builder methods on [`crate::runtime::WasockCtxBuilder`] and CLI flags set
/// them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Open sockets at once (listening, connected, datagram, and accepted
    /// ones). Over it, `open` and `accept` fail with `new-socket-limit`.
    /// Default 1024.
    pub max_sockets: usize,
    /// The largest single `recv` or `recv-from`: a guest asking for more gets
    /// at most this many bytes, and the host never allocates more. Default
    /// 1 MiB.
    pub max_recv: usize,
    /// The largest datagram a guest may send. Larger ones fail with
    /// `message-size`. Default 65527 (the IPv6 maximum; IPv4's is 65507).
    pub max_datagram: usize,
    /// The largest number of entries in one `poll` call. Default 65536.
    pub max_poll_entries: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_sockets: 1024,
            max_recv: 1 << 20,
            max_datagram: 65527,
            max_poll_entries: 65536,
        }
    }
}
