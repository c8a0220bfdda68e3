//! Per-instance limits on what a guest may hold in the host.

use std::time::Duration;

/// Limits that apply to one guest instance. Each has a documented default;
/// [`crate::runtime::WasockCtxBuilder::limits`] and the CLI's flags set
/// them. Every limit hit gives a defined error code, or ends that instance
/// with a message saying which limit it was; the host and other instances
/// go on.
///
/// Who applies them: the socket layer applies `max_sockets`, `max_recv`,
/// `max_datagram`, `max_poll_entries`, `max_buffer_bytes` and
/// `max_pending_calls` in any store that holds the context. `max_memory`,
/// `timeout` and `fuel` belong to the store and the engine: a
/// [`Runner`](crate::runtime::Runner) (`store`, `instantiate`, `run`)
/// applies them. An embedder with a `Store` of its own applies them
/// itself: `store.limiter` with a
/// [`MemoryLimit`](crate::runtime::MemoryLimit) of `max_memory`, a
/// `tokio::time::timeout` around the call together with an engine with
/// epoch interruption ticked by a thread (so that a guest that never
/// blocks is interrupted too; [`Runner::default_config`](crate::runtime::Runner::default_config)
/// sets it), and `store.set_fuel` on an engine that consumes fuel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Open sockets at once (listening, connected, datagram, and accepted
    /// ones). Over it, `open` and `accept` fail with `new-socket-limit`
    /// (`WSAEMFILE`). Default 1024. CLI: `--max-sockets`.
    pub max_sockets: usize,
    /// The largest single `recv` or `recv-from`: a guest asking for more gets
    /// at most this many bytes, and the host never allocates more. Default
    /// 1 MiB. CLI: `--max-recv`. WASI's datagram receives ask for no size
    /// and cannot say a datagram was cut: they take each datagram whole
    /// (at most 64 KiB), whatever this says.
    pub max_recv: usize,
    /// The largest datagram a guest may send. Larger ones fail with
    /// `message-size`. Default 65527 (the IPv6 maximum; IPv4's is 65507).
    /// CLI: `--max-datagram`.
    pub max_datagram: usize,
    /// The largest number of entries in one `poll` call, of sockets in one
    /// `poll-set`, and of changes in one `poll-set.wait`; more is
    /// `invalid-argument`. Default 65536. The instance's store may hold
    /// that many more component handles for each provider layer composed
    /// under its app (up to eight), beyond wasmtime's own 100,000.
    pub max_poll_entries: usize,
    /// Kernel buffer space the instance's sockets may ask for in all, with
    /// the `receive-buffer-size` and `send-buffer-size` options (counted as
    /// asked for). Over it, setting the option fails with
    /// `no-buffer-space`. Default 64 MiB. CLI: `--max-buffer`.
    pub max_buffer_bytes: u64,
    /// The guest's linear memory, in bytes. Growing past it traps the
    /// instance ("exceeded its memory limit"). Default 256 MiB. CLI:
    /// `--max-memory`. Applied by a `Runner`'s stores (see above). Counted over all of the instance's linear memories:
    /// an app composed on provider components has one per component, and
    /// together they get this much.
    pub max_memory: usize,
    /// WASI 0.3 calls that may wait at once (a `wasi:sockets@0.3` UDP
    /// `send` or `receive`, or a TCP `connect`, waiting for the network):
    /// each holds host memory (a send, its datagram) until it ends. Over
    /// it, the call fails at once with `other("pending-call-limit: ...")`.
    /// Default 1024. CLI: `--max-pending-calls`. Without the `wasi-0-3`
    /// feature there are no such calls and it has no effect.
    pub max_pending_calls: usize,
    /// Wall-clock time the instance may run, blocked or not; past it the
    /// instance is stopped. Default none. CLI: `--timeout`. Applied by
    /// [`Runner::run`](crate::runtime::Runner::run) (see above).
    pub timeout: Option<Duration>,
    /// WebAssembly fuel (roughly, instructions) the instance may use; out of
    /// fuel, it traps. Default none (fuel costs speed; the runner must be
    /// built for it, with `Runner::with_fuel`). CLI: `--fuel`.
    pub fuel: Option<u64>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_sockets: 1024,
            max_recv: 1 << 20,
            max_datagram: 65527,
            max_poll_entries: 65536,
            max_buffer_bytes: 64 << 20,
            max_memory: 256 << 20,
            max_pending_calls: 1024,
            timeout: None,
            fuel: None,
        }
    }
}
