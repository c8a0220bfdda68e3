//! What a TCP output stream wrote that the socket has not taken yet, and
//! the task that hands it over as the socket makes room. Bytes a guest
//! wrote go out whatever it calls next, as after a POSIX `send`: a client
//! that sends its request and then only waits for the reply gets it.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::sync::Notify;
use wasmtime_wasi::runtime::with_ambient_tokio_runtime;

use super::shared::{Inner, Shared};
use crate::net::{ErrorCode, Readiness, SendFlags, Shutdown};

/// How long bytes written before the output stream was dropped may wait
/// for room in the socket.
const LINGER: Duration = Duration::from_secs(30);

/// An output stream's bytes on their way into the socket.
#[derive(Default)]
pub(crate) struct Outgoing {
    /// Written, and not yet taken by the socket. While there are any, a
    /// task sends them ([`Outgoing::sending`]).
    unsent: Bytes,
    /// The task that sends `unsent` runs.
    sending: bool,
    /// A send failed: the stream's next call reports it, and closes.
    failed: Option<ErrorCode>,
    /// `shutdown(send)` came while bytes waited: the task shuts the
    /// direction after the last of them.
    shut_after: bool,
    events: Arc<Events>,
}

/// What the sending task tells, and is told.
#[derive(Default)]
pub(crate) struct Events {
    /// The task ended: everything went, a send failed, or it gave up
    /// [`LINGER`] after the stream was dropped.
    pub sent: Notify,
    /// The output stream was dropped: the task gives up after [`LINGER`].
    pub dropped: Notify,
}

impl Outgoing {
    /// Nothing waits to go.
    pub(crate) fn is_empty(&self) -> bool {
        self.unsent.is_empty()
    }

    /// A failure not yet reported.
    pub(crate) fn has_failed(&self) -> bool {
        self.failed.is_some()
    }

    /// The task that sends what waits runs (it may have sent it all and
    /// not have ended yet).
    pub(crate) fn is_sending(&self) -> bool {
        self.sending
    }

    /// Take the failure to report.
    pub(crate) fn take_failure(&mut self) -> Option<ErrorCode> {
        self.failed.take()
    }

    /// The task's signals.
    pub(crate) fn events(&self) -> Arc<Events> {
        self.events.clone()
    }

    /// `shutdown(send)` while bytes wait: the task shuts the sending
    /// direction after the last of them (the WIT: data still in the send
    /// buffer is flushed).
    pub(crate) fn shut_after_unsent(&mut self) {
        self.shut_after = true;
    }
}

/// Queue `bytes` behind what waits and hand the socket what it takes now;
/// a task sends the rest as the socket makes room.
pub(crate) fn write(shared: &Shared, inner: &mut Inner, bytes: Bytes) {
    let out = &mut inner.outgoing;
    out.unsent = if out.unsent.is_empty() {
        bytes
    } else {
        let mut all = BytesMut::with_capacity(out.unsent.len() + bytes.len());
        all.extend_from_slice(&out.unsent);
        all.extend_from_slice(&bytes);
        all.freeze()
    };
    push(inner);
    start_sending(shared, inner);
}

/// Hand the socket what it takes now of what waits. A failure drops what
/// waits and is kept for the stream's next call.
pub(crate) fn push(inner: &mut Inner) {
    let Inner { sock, outgoing, .. } = inner;
    while !outgoing.unsent.is_empty() {
        match sock.net.try_send(&outgoing.unsent, SendFlags::default()) {
            Ok(n) => {
                let _ = outgoing.unsent.split_to(n.min(outgoing.unsent.len()));
            }
            Err(ErrorCode::WouldBlock) => return,
            Err(e) => {
                outgoing.unsent.clear();
                outgoing.failed = Some(e);
                return;
            }
        }
    }
}

/// Start the task that sends what waits, unless it runs or nothing waits.
pub(crate) fn start_sending(shared: &Shared, inner: &mut Inner) {
    let out = &mut inner.outgoing;
    if out.unsent.is_empty() || out.sending {
        return;
    }
    out.sending = true;
    let shared = shared.clone();
    let events = out.events.clone();
    with_ambient_tokio_runtime(|| tokio::spawn(send_unsent(shared, events)));
}

/// Send what waits as the socket makes room, until it is all gone or a
/// send fails, or [`LINGER`] after the stream was dropped.
async fn send_unsent(shared: Shared, events: Arc<Events>) {
    loop {
        let sent = shared.wait_until(Readiness::WRITABLE, |inner: &mut Inner, _| {
            push(inner);
            inner.outgoing.unsent.is_empty()
        });
        let lingered = async {
            events.dropped.notified().await;
            tokio::time::sleep(LINGER).await;
        };
        let ended = tokio::select! {
            r = sent => r,
            () = lingered => Err(ErrorCode::TimedOut),
        };
        let Ok(mut inner) = shared.lock() else {
            break;
        };
        let out = &mut inner.outgoing;
        match ended {
            // Written meanwhile, after the last of the earlier bytes went.
            Ok(()) if !out.unsent.is_empty() => continue,
            Ok(()) => {}
            Err(e) => {
                out.unsent.clear();
                out.failed.get_or_insert(e);
            }
        }
        out.sending = false;
        if std::mem::take(&mut out.shut_after) {
            let _ = inner.sock.net.shutdown(Shutdown::Send);
        }
        break;
    }
    events.sent.notify_waiters();
}
