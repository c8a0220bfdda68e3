//! A TCP connection's `wasi:io` streams: non-blocking reads and writes on
//! the shared socket, and pollables that wait on the provider.

use bytes::{Bytes, BytesMut};
use wasmtime_wasi::p2::{InputStream, OutputStream, Pollable, StreamError, StreamResult};
use wasmtime_wasi::runtime::with_ambient_tokio_runtime;

use super::shared::{Inner, Shared, stream_failure};
use crate::net::{ErrorCode, Readiness, RecvBuf, RecvFlags, SendFlags};

/// Most bytes one `read` allocates for, whatever the guest asks: a stream
/// read may return less than asked for.
const READ_CHUNK: usize = 64 * 1024;

/// Most bytes `check-write` permits at once; what the socket does not take
/// at once waits here until it does.
const WRITE_PERMIT: usize = 64 * 1024;

/// How long bytes written before the output stream was dropped may wait
/// for room in the socket.
const LINGER: std::time::Duration = std::time::Duration::from_secs(30);

/// The connection's `input-stream`.
pub(crate) struct TcpReader {
    shared: Shared,
    max_read: usize,
}

impl TcpReader {
    pub(crate) fn new(shared: Shared, max_recv: usize) -> TcpReader {
        TcpReader {
            shared,
            max_read: max_recv.clamp(1, READ_CHUNK),
        }
    }
}

impl InputStream for TcpReader {
    fn read(&mut self, size: usize) -> StreamResult<Bytes> {
        let mut inner = self.shared.lock_stream()?;
        if inner.read_closed {
            return Err(StreamError::Closed);
        }
        if let Some(e) = inner.sock.pending_error.take() {
            inner.read_closed = true;
            return Err(stream_failure(e));
        }
        let want = size.min(self.max_read);
        if want == 0 {
            return Ok(Bytes::new());
        }
        let mut buf = Vec::with_capacity(want);
        match inner
            .sock
            .net
            .try_recv(&mut RecvBuf::new(&mut buf, want), RecvFlags::default())
        {
            // Nothing, with room: the peer ended the stream.
            Ok(()) if buf.is_empty() => {
                inner.read_closed = true;
                Err(StreamError::Closed)
            }
            Ok(()) => Ok(Bytes::from(buf)),
            Err(ErrorCode::WouldBlock) => Ok(Bytes::new()),
            Err(e) => {
                inner.read_closed = true;
                Err(stream_failure(e))
            }
        }
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for TcpReader {
    /// Ready when a read would not return empty-handed: data, the end of
    /// the stream, or an error.
    async fn ready(&mut self) {
        self.shared
            .ready_when(Readiness::READABLE, |inner: &mut Inner, gate| {
                inner.read_closed
                    || inner.sock.pending_error.is_some()
                    || inner.has(gate, Readiness::READABLE | Readiness::HANG_UP)
            })
            .await
    }
}

/// The connection's `output-stream`.
pub(crate) struct TcpWriter {
    shared: Shared,
    /// Bytes written that the socket has not taken yet.
    unsent: Bytes,
    /// What the last `check-write` permitted, less what was written since.
    permit: usize,
    /// A send failed: the stream reports this once, then is closed.
    failed: Option<ErrorCode>,
}

impl TcpWriter {
    pub(crate) fn new(shared: Shared) -> TcpWriter {
        TcpWriter {
            shared,
            unsent: Bytes::new(),
            permit: 0,
            failed: None,
        }
    }

    /// Hand the socket what it takes now of `unsent`.
    fn push(inner: &mut Inner, unsent: &mut Bytes) -> Result<(), ErrorCode> {
        while !unsent.is_empty() {
            match inner.sock.net.try_send(unsent, SendFlags::default()) {
                Ok(n) => {
                    let _ = unsent.split_to(n.min(unsent.len()));
                }
                Err(ErrorCode::WouldBlock) => return Ok(()),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Send what waits, and report the stream's state: closed, failed, or
    /// open.
    fn flush_now(&mut self) -> StreamResult<()> {
        let mut inner = self.shared.lock_stream()?;
        still_open(&mut inner, &mut self.failed, &mut self.unsent)?;
        if let Err(e) = Self::push(&mut inner, &mut self.unsent) {
            self.unsent.clear();
            inner.write_closed = true;
            return Err(stream_failure(e));
        }
        Ok(())
    }
}

/// Whether the output stream is still open: once closed it says `closed`
/// to every call; a send that failed is reported once, by the call after
/// it, and closes the stream.
fn still_open(
    inner: &mut Inner,
    failed: &mut Option<ErrorCode>,
    unsent: &mut Bytes,
) -> StreamResult<()> {
    if inner.write_closed {
        *failed = None;
        unsent.clear();
        return Err(StreamError::Closed);
    }
    if let Some(e) = failed.take() {
        inner.write_closed = true;
        unsent.clear();
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
        still_open(&mut inner, &mut self.failed, &mut self.unsent)?;
        if bytes.is_empty() {
            return Ok(());
        }
        // Within one permit, what an earlier write left unsent goes first;
        // together they are at most the permit.
        self.unsent = if self.unsent.is_empty() {
            bytes
        } else {
            let mut all = BytesMut::with_capacity(self.unsent.len() + bytes.len());
            all.extend_from_slice(&self.unsent);
            all.extend_from_slice(&bytes);
            all.freeze()
        };
        if let Err(e) = Self::push(&mut inner, &mut self.unsent) {
            // Reported by the next call, as WASI streams do.
            self.unsent.clear();
            self.failed = Some(e);
        }
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        self.flush_now()
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
        self.flush_now()?;
        self.permit = if self.unsent.is_empty() {
            WRITE_PERMIT
        } else {
            0
        };
        Ok(self.permit)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for TcpWriter {
    /// Ready when `check-write` has something to say: room to write, or an
    /// error or closed stream to report.
    async fn ready(&mut self) {
        let unsent = &mut self.unsent;
        let failed = &mut self.failed;
        self.shared
            .ready_when(Readiness::WRITABLE, |inner: &mut Inner, gate| {
                if failed.is_some() || inner.write_closed {
                    return true;
                }
                if let Err(e) = TcpWriter::push(inner, unsent) {
                    unsent.clear();
                    *failed = Some(e);
                    return true;
                }
                unsent.is_empty() && inner.has(gate, Readiness::WRITABLE)
            })
            .await
    }
}

impl Drop for TcpWriter {
    /// Bytes written and not yet taken by the socket still go, as after a
    /// POSIX `send`: a task sends them once the socket has room, for at
    /// most [`LINGER`].
    fn drop(&mut self) {
        if self.unsent.is_empty() || self.failed.is_some() {
            return;
        }
        let shared = self.shared.clone();
        let unsent = std::mem::take(&mut self.unsent);
        with_ambient_tokio_runtime(|| tokio::spawn(send_rest(shared, unsent)));
    }
}

/// Send `unsent` as the socket makes room, until it is all gone, the send
/// fails, the direction is shut, or [`LINGER`] passes.
async fn send_rest(shared: Shared, mut unsent: Bytes) {
    let sent = shared.wait_until(
        Readiness::WRITABLE,
        |inner: &mut Inner, _| match TcpWriter::push(inner, &mut unsent) {
            Ok(()) => unsent.is_empty() || inner.write_closed,
            Err(_) => true,
        },
    );
    let _ = tokio::time::timeout(LINGER, sent).await;
}
