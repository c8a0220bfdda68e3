//! Async guests: a single-threaded executor, timers, and async sockets.
//!
//! [`block_on`] runs a future and the tasks it [`spawn`]s. When no task can
//! make progress, the reactor makes one wait on a poll set the host keeps
//! (`wasock:sockets/poll.poll-set`, one-shot entries as `EPOLLONESHOT`),
//! with the nearest timer as its timeout. The wait tells the host only the
//! sockets whose waiters changed since the last turn (interests merged per
//! socket), and the host looks only at sockets that had an event: an idle
//! turn costs one host call, and its work grows with the ready sockets,
//! not with the sockets waited on.
//!
//! ```no_run
//! use wasock::rt::{self, net::TcpListener};
//!
//! fn main() -> std::io::Result<()> {
//!     rt::block_on(async {
//!         let listener = TcpListener::bind("127.0.0.1:0").await?;
//!         println!("listening on {}", listener.local_addr()?);
//!         loop {
//!             let (stream, _) = listener.accept().await?;
//!             rt::spawn(async move {
//!                 let mut buf = [0; 4096];
//!                 loop {
//!                     match stream.read(&mut buf).await {
//!                         Ok(0) | Err(_) => break,
//!                         Ok(n) => {
//!                             if stream.write_all(&buf[..n]).await.is_err() {
//!                                 break;
//!                             }
//!                         }
//!                     }
//!                 }
//!             });
//!         }
//!     })
//! }
//! ```
//!
//! Everything here is single-threaded: futures need not be `Send`, and the
//! types are not. [`net::TcpStream`] and its halves implement
//! `futures-io`'s `AsyncRead` and `AsyncWrite`, and tokio's with the
//! `tokio` feature.

mod channel;
pub(crate) mod drain;
mod executor;
mod join_set;
pub mod net;
mod or;
mod reactor;
mod timer;

pub use channel::{
    BoundedSender, Receiver, Sender, TryRecvError, TrySendError, bounded_channel, channel,
};
pub use executor::{AbortHandle, JoinHandle, block_on, spawn, tasks, yield_now};
pub use join_set::JoinSet;
pub use or::or;
pub use reactor::waiting;
pub use timer::{
    Elapsed, Interval, MissedTickBehavior, Sleep, interval, sleep, sleep_until, timeout,
};
