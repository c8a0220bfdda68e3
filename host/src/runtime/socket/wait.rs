//! Blocking on top of the non-blocking provider: the one loop every
//! blocking operation runs (try, and on `would-block` wait for readiness
//! with an optional deadline, suspending only the calling guest).

use std::future::poll_fn;
use std::time::Duration;

use tokio::time::Instant;

use super::GuestSocket;
use crate::net::{ErrorCode, NetSocket, Readiness};
use crate::runtime::clock::{Clock, spin, until};

/// When a blocking call gives up (`SO_RCVTIMEO` / `SO_SNDTIMEO`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline(Option<Instant>);

impl Deadline {
    /// A deadline `timeout` from now on `clock`; `None` never passes.
    pub(crate) fn after(clock: &dyn Clock, timeout: Option<Duration>) -> Deadline {
        Deadline(timeout.and_then(|t| clock.now().checked_add(t)))
    }
}

/// Wait until an operation of `interest` may succeed on `net`, or the
/// deadline passes on `clock` (`timed-out`). The caller retries the
/// operation, so a spurious wake-up costs one more try.
pub(crate) async fn wait_ready(
    clock: &dyn Clock,
    net: &dyn NetSocket,
    interest: Readiness,
    deadline: Deadline,
) -> Result<(), ErrorCode> {
    until(clock, deadline.0, poll_fn(|cx| net.poll_wait(cx, interest)))
        .await
        .map_err(|()| ErrorCode::TimedOut)
}

/// Run `attempt` until it completes: `Ok(Some(v))` is the result;
/// `Ok(None)` means "again at once" (it made progress, such as dropping a
/// refused peer: the task yields to others on its thread first, so a flood
/// cannot hold it); `would-block` on a blocking socket waits for
/// `interest` until `deadline`, and is returned as it is on a non-blocking
/// one; any other error is returned.
pub(crate) async fn retry<T>(
    sock: &mut GuestSocket,
    interest: Readiness,
    deadline: Deadline,
    mut attempt: impl FnMut(&mut GuestSocket) -> Result<Option<T>, ErrorCode>,
) -> Result<T, ErrorCode> {
    loop {
        match attempt(sock) {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => tokio::task::consume_budget().await,
            Err(ErrorCode::WouldBlock) if !sock.nonblocking => {
                sock.net.prepare_wait(interest)?;
                let clock = sock.clock.clone();
                wait_ready(&*clock, &*sock.net, interest, deadline).await?;
            }
            Err(ErrorCode::WouldBlock) => {
                spin(&*sock.clock).await;
                return Err(ErrorCode::WouldBlock);
            }
            Err(e) => return Err(e),
        }
    }
}
