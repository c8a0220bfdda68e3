//! A TCP connection's `wasi:io` streams: non-blocking reads and writes on
//! the shared socket, and pollables that wait on the provider.

use std::sync::Arc;

use bytes::Bytes;
use wasmtime_wasi::p2::{InputStream, OutputStream, Pollable, StreamError, StreamResult};

use super::error::WasiError;
use super::shared::{Ahead, Inner, Shared, receive_waiting, stream_failure};
use super::tcp_outgoing::{self, Events};
use crate::net::{ErrorCode, Readiness, RecvBuf, RecvFlags};

/// Most bytes one `read` allocates for, whatever the guest asks: a stream
/// read may return less than asked for.
const READ_CHUNK: usize = 64 * 1024;

/// Most bytes `check-write` permits at once; what the socket does not take
/// at once waits until it does (see `tcp_outgoing`).
const WRITE_PERMIT: usize = 64 * 1024;

/// The connection's `input-stream`.
pub(crate) struct TcpReader {
    shared: Shared,
    max_read: usize,
    /// What the guest's last `read` asked for (at most `max_read`): what a
    /// pollable's wait reads ahead, so that the bytes it keeps fit the read
    /// that takes them in one buffer of their own size.
    ask: usize,
}

impl TcpReader {
    pub(crate) fn new(shared: Shared, max_recv: usize) -> TcpReader {
        let max_read = max_recv.clamp(1, READ_CHUNK);
        TcpReader {
            shared,
            max_read,
            ask: max_read,
        }
    }
}

impl InputStream for TcpReader {
    /// What the pollable read ahead comes first, before any error that
    /// came after it; with nothing read ahead, one read of the socket, as
    /// the pollable's, handed out at once.
    fn read(&mut self, size: usize) -> StreamResult<Bytes> {
        let mut inner = self.shared.lock_stream()?;
        if inner.read_closed {
            return Err(StreamError::Closed);
        }
        let want = size.min(self.max_read);
        if want > 0 {
            self.ask = want;
            if inner.ahead.is_none()
                && inner.sock.pending_error.is_none()
                && read_ahead(&mut inner, want) == Err(ErrorCode::WouldBlock)
            {
                return Ok(Bytes::new());
            }
            if let Some(Ahead::Bytes(mut ahead)) = inner.ahead.take() {
                // Nothing, with room: the peer ended the stream.
                if ahead.is_empty() {
                    inner.read_closed = true;
                    return Err(StreamError::Closed);
                }
                let got = ahead.split_to(want.min(ahead.len()));
                if !ahead.is_empty() {
                    inner.ahead = Some(Ahead::Bytes(ahead));
                }
                return Ok(got);
            }
        }
        if let Some(e) = inner.sock.pending_error.take() {
            inner.read_closed = true;
            return Err(stream_failure(e));
        }
        Ok(Bytes::new())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for TcpReader {
    /// Ready when a read would not return empty-handed: data, the end of
    /// the stream, or an error.
    ///
    /// The wait reads what it waited for itself, ahead of the guest's
    /// `read` (which then takes it without a system call), and looks at
    /// the socket only when the reactor says it may have something. After
    /// a read that found nothing, the wait and the read that finds the
    /// bytes are the only system calls, as for a blocking `recv`; a look
    /// at the truth (`poll(2)`) before and after the wait made four.
    async fn ready(&mut self) {
        let ask = self.ask;
        // A socket that cannot wait, or whose lock a host failure poisoned,
        // has something to report: the read retried will say what.
        let _ = receive_waiting(
            &self.shared,
            |inner| {
                if inner.read_closed || inner.sock.pending_error.is_some() || inner.ahead.is_some()
                {
                    return Ok(Some(()));
                }
                inner.with_cached_calls(|inner| read_ahead(inner, ask))
            },
            WasiError::from,
        )
        .await;
    }
}

/// One look for up to `max` bytes to read, kept for the stream's next
/// read: the bytes, the end of the stream (kept as nothing), or an error
/// (as the next read reports it); `would-block` if there is nothing yet.
fn read_ahead(inner: &mut Inner, max: usize) -> Result<Option<()>, ErrorCode> {
    let mut buf = Vec::new();
    match inner
        .sock
        .net
        .try_recv(&mut RecvBuf::new(&mut buf, max), RecvFlags::default())
    {
        Ok(()) => inner.ahead = Some(Ahead::Bytes(Bytes::from(buf))),
        Err(ErrorCode::WouldBlock) => return Err(ErrorCode::WouldBlock),
        Err(e) => inner.sock.pending_error = Some(e),
    }
    Ok(Some(()))
}

/// The connection's `output-stream`. What the socket does not take at once
/// waits in [`Inner::outgoing`], and goes as the socket makes room.
pub(crate) struct TcpWriter {
    shared: Shared,
    /// What the last `check-write` permitted, less what was written since.
    permit: usize,
    /// The signals of the task that sends what waits.
    events: Arc<Events>,
}

impl TcpWriter {
    pub(crate) fn new(shared: Shared) -> TcpWriter {
        let events = match shared.lock() {
            Ok(inner) => inner.outgoing.events(),
            Err(_) => Arc::default(),
        };
        TcpWriter {
            shared,
            permit: 0,
            events,
        }
    }

    /// Hand the socket what waits, and report the stream's state: closed,
    /// failed, or open with nothing waiting (`true`) or not.
    fn flush_now(&mut self) -> StreamResult<bool> {
        let mut inner = self.shared.lock_stream()?;
        still_open(&mut inner)?;
        tcp_outgoing::push(&mut inner);
        still_open(&mut inner)?;
        Ok(inner.outgoing.is_empty())
    }
}

/// Whether the output stream is still open: once closed it says `closed`
/// to every call; a send that failed is reported once, by the call after
/// it, and closes the stream.
fn still_open(inner: &mut Inner) -> StreamResult<()> {
    if inner.write_closed {
        return Err(StreamError::Closed);
    }
    if let Some(e) = inner.outgoing.take_failure() {
        inner.write_closed = true;
        return Err(stream_failure(e));
    }
    Ok(())
}

impl OutputStream for TcpWriter {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        if bytes.len() > self.permit {
            return Err(StreamError::trap(
                "write of more bytes than check-write permitted",
            ));
        }
        self.permit -= bytes.len();
        let mut inner = self.shared.lock_stream()?;
        still_open(&mut inner)?;
        if !bytes.is_empty() {
            // A failure is reported by the next call, as WASI streams do.
            tcp_outgoing::write(&self.shared, &mut inner, bytes);
        }
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        self.flush_now().map(drop)
    }

    /// As `write` of that many zeroes, within the same permit (the default
    /// asks `check-write` again, which gives none while bytes wait).
    fn write_zeroes(&mut self, nelem: usize) -> StreamResult<()> {
        if nelem > self.permit {
            return Err(StreamError::trap(
                "write-zeroes of more bytes than check-write permitted",
            ));
        }
        self.write(Bytes::from(vec![0; nelem]))
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        self.permit = if self.flush_now()? { WRITE_PERMIT } else { 0 };
        Ok(self.permit)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for TcpWriter {
    /// Ready when `check-write` has something to say: room to write, or an
    /// error or closed stream to report. While the task that sends written
    /// bytes runs, `check-write` grants nothing, whatever room the socket
    /// has: this waits for the task to end, and only then, if need be, for
    /// room.
    async fn ready(&mut self) {
        loop {
            let sent = self.events.sent.notified();
            let mut sent = std::pin::pin!(sent);
            sent.as_mut().enable();
            {
                let Ok(mut inner) = self.shared.lock() else {
                    return;
                };
                if inner.write_closed || inner.outgoing.has_failed() {
                    return;
                }
                if !inner.outgoing.is_sending() {
                    tcp_outgoing::push(&mut inner);
                    if inner.outgoing.is_empty() || inner.outgoing.has_failed() {
                        break;
                    }
                    tcp_outgoing::start_sending(&self.shared, &mut inner);
                }
            }
            sent.await;
        }
        self.shared
            .ready_when(Readiness::WRITABLE, |inner: &mut Inner, gate| {
                inner.write_closed
                    || inner.outgoing.has_failed()
                    || !inner.outgoing.is_empty()
                    || inner.has(gate, Readiness::WRITABLE)
            })
            .await
    }
}

impl Drop for TcpWriter {
    /// Bytes written and not yet taken by the socket still go, as after a
    /// POSIX `send`, for a while (see `tcp_outgoing`).
    fn drop(&mut self) {
        if let Ok(mut inner) = self.shared.lock() {
            tcp_outgoing::start_sending(&self.shared, &mut inner);
        }
        self.events.dropped.notify_one();
    }
}
