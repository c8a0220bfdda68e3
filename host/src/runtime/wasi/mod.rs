//! Standard `wasi:sockets@0.2` for guests, served by wasock's socket layer.
//!
//! std::net (through wasi-libc), mio and tokio guests reach the network
//! through the same sockets as guests of wasock's own interface: the
//! instance's provider (native or simulated), the same policy decisions and
//! peer filters, the same limits and counters. What this module adds is
//! WASI's shape: the `start-*`/`finish-*` state machines, `wasi:io` streams
//! and pollables, datagram streams with `check-send` permits. The rest of
//! WASI (clocks, stdio, files, random) is wasmtime-wasi's.

mod addr;
mod error;
mod link;
mod lookup;
mod network;
mod options;
#[cfg(feature = "wasi-0-3")]
pub mod p3;
mod shared;
mod tcp;
mod tcp_outgoing;
mod tcp_streams;
mod udp;

pub use error::{Trappable, WasiCode, WasiError};
#[cfg(feature = "wasi-0-3")]
pub use link::add_wasi_0_3_to_linker;
pub use link::add_wasi_to_linker;
pub(crate) use link::claim_wasi_sockets;
pub use lookup::ResolveAddressStream;
pub use network::Network;
pub use tcp::TcpSocket;
pub use udp::{IncomingDatagramStream, OutgoingDatagramStream, UdpSocket};
