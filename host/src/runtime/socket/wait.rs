//! Blocking on top of the non-blocking provider: wait for readiness, with an
//! optional deadline, suspending only the calling guest.

use std::future::poll_fn;
use std::time::Duration;

use tokio::time::Instant;

use crate::net::{ErrorCode, NetSocket, Readiness};

/// When a blocking call gives up (`SO_RCVTIMEO` / `SO_SNDTIMEO`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline(Option<Instant>);

impl Deadline {
    /// A deadline `timeout` from now; `None` never passes.
    pub(crate) fn after(timeout: Option<Duration>) -> Deadline {
        Deadline(timeout.and_then(|t| Instant::now().checked_add(t)))
    }
}

/// Wait until an operation of `interest` may succeed on `net`, or the
/// deadline passes (`timed-out`). The caller retries the operation, so a
/// spurious wake-up costs one more try.
pub(crate) async fn wait_ready(
    net: &mut dyn NetSocket,
    interest: Readiness,
    deadline: Deadline,
) -> Result<(), ErrorCode> {
    net.prepare_wait(interest)?;
    let net = &*net;
    let ready = poll_fn(|cx| net.poll_wait(cx, interest));
    match deadline.0 {
        None => {
            ready.await;
            Ok(())
        }
        Some(at) => tokio::time::timeout_at(at, ready)
            .await
            .map_err(|_| ErrorCode::TimedOut),
    }
}
