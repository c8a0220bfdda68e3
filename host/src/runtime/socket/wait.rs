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

/// How long a blocking call waits in place at most (see
/// `WasockCtxBuilder::wait_in_place`) before it waits through the reactor,
/// where the runtime's timers and signals are heard.
const IN_PLACE: Duration = Duration::from_millis(1);

/// Wait in the system for `interest` on `sock`, blocking the thread for
/// [`IN_PLACE`] at most: whether the socket may be ready now. Not at all
/// when less than that is left before `deadline` (the reactor's timer is
/// exact; a provider's wait may round to whole milliseconds).
fn wait_in_place(sock: &mut GuestSocket, interest: Readiness, deadline: Deadline) -> bool {
    let room = deadline
        .0
        .is_none_or(|at| at.saturating_duration_since(sock.clock.now()) >= IN_PLACE);
    room && sock.net.wait_in_place(interest, IN_PLACE)
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
    // After a wait in place the next try is made for real (the reactor's
    // cache has not seen what the wait saw), as a non-blocking socket's are.
    let mut real = false;
    loop {
        let tried = if std::mem::take(&mut real) {
            sock.with_real_calls(&mut attempt)
        } else {
            attempt(sock)
        };
        match tried {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => tokio::task::consume_budget().await,
            Err(ErrorCode::WouldBlock) if !sock.nonblocking => {
                if sock.waits_in_place && wait_in_place(sock, interest, deadline) {
                    real = true;
                    continue;
                }
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
