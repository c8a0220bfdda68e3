//! The wasmtime embedding: bindings, the socket table, limits and
//! instances.
//!
//! Host functions are async on tokio: a guest blocked in `accept` or `recv`
//! is a suspended fiber, not a thread, so thousands of them cost memory
//! only.

mod admission;
pub mod bindings;
mod bridge;
mod budget;
mod clock;
pub mod compose;
mod convert;
mod ctx;
mod denials;
mod drain;
mod error;
mod exit;
mod handler;
pub use handler::HANDOFF_EXPORT;
mod handoff;
mod kind;
mod limits;
mod lookup;
mod memory;
mod names;
mod output;
mod pinned;
mod poll;
mod poll_set;
mod runner;
mod serve;
pub(crate) mod sim;
pub(crate) mod socket;
mod state;
mod stats;
mod wasi;
mod workers;

pub use bridge::ComponentProvider;
pub use clock::{Clock, RealClock};
pub use ctx::{InstanceId, WasockCtx, WasockCtxBuilder, WasockCtxView, WasockView, add_to_linker};
pub use drain::DrainSignal;
pub use error::{SocketError, SocketResult};
pub use exit::GuestExit;
pub use kind::needs_concurrency_support;
pub use limits::Limits;
pub use lookup::PendingLookup;
pub use memory::MemoryLimit;
pub use pinned::PinnedNames;
pub use poll_set::PollSet;
pub use runner::{EPOCH_TICK, NotACommand, Prepared, Runner};
pub use serve::{ServeOptions, ServeStats, Server, WorkerReport, pooling_config};
pub use sim::{
    ClockSkew, Crash, DEFAULT_EPOCH_SECS, Entry, Fault, MAX_CLOCK_OFFSET, Nemesis, Offset, Outcome,
    Partition, Pause, SimGuest, SimRun, Simulation, Transcript, What,
};
pub use socket::GuestSocket;
pub use state::HostState;
pub use stats::{InstanceStats, PolicyCounters, StatsHandle};
#[cfg(feature = "wasi-0-3")]
pub use wasi::add_wasi_0_3_to_linker;
#[cfg(feature = "wasi-0-3")]
pub use wasi::p3 as wasi_0_3;
pub use wasi::{
    IncomingDatagramStream, Network, OutgoingDatagramStream, ResolveAddressStream, TcpSocket,
    Trappable, UdpSocket, WasiCode, WasiError, add_wasi_to_linker,
};
pub(crate) use workers::single_threaded;
pub use workers::{Workers, WorkersError};
