//! A guest's stdout or stderr under the simulator: each line goes into the
//! transcript, stamped with the virtual time it was written.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

use super::transcript::{Recorder, What};

/// Longest line kept whole; a longer one is cut into pieces of this size.
const MAX_LINE: usize = 4096;

/// Which stream.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Stream {
    Stdout,
    Stderr,
}

/// One guest's output stream, cut into lines for the transcript.
#[derive(Clone)]
pub(crate) struct LineSink {
    host: Arc<str>,
    stream: Stream,
    recorder: Recorder,
    partial: Arc<Mutex<Vec<u8>>>,
}

impl LineSink {
    pub(crate) fn new(host: &str, stream: Stream, recorder: Recorder) -> LineSink {
        LineSink {
            host: host.into(),
            stream,
            recorder,
            partial: Arc::default(),
        }
    }

    fn emit(&self, line: &[u8]) {
        let text = String::from_utf8_lossy(line).into_owned();
        let what = match self.stream {
            Stream::Stdout => What::Stdout(text),
            Stream::Stderr => What::Stderr(text),
        };
        self.recorder.record(&self.host, what);
    }

    fn write_bytes(&self, bytes: &[u8]) {
        let mut partial = self.partial.lock().unwrap_or_else(|p| p.into_inner());
        for &b in bytes {
            if b == b'\n' {
                let line = std::mem::take(&mut *partial);
                self.emit(&line);
            } else {
                partial.push(b);
                if partial.len() >= MAX_LINE {
                    let line = std::mem::take(&mut *partial);
                    self.emit(&line);
                }
            }
        }
    }

    /// Emit what is left without a newline (at the guest's end).
    fn finish(&self) {
        let line = std::mem::take(&mut *self.partial.lock().unwrap_or_else(|p| p.into_inner()));
        if !line.is_empty() {
            self.emit(&line);
        }
    }
}

/// A guest's stdout and stderr for one of its lives. Dropping it, however
/// the life ends (the guest's exit, its time limit, or its host's crash,
/// which drops the guest in the middle of a call), puts what the guest
/// wrote after its last newline into the transcript: bytes written to a
/// pipe stay written whatever becomes of the writer.
pub(crate) struct Outputs {
    pub stdout: LineSink,
    pub stderr: LineSink,
}

impl Outputs {
    /// The two streams of `host`'s guest, recorded by `recorder`.
    pub(crate) fn new(host: &str, recorder: &Recorder) -> Outputs {
        Outputs {
            stdout: LineSink::new(host, Stream::Stdout, recorder.clone()),
            stderr: LineSink::new(host, Stream::Stderr, recorder.clone()),
        }
    }
}

impl Drop for Outputs {
    fn drop(&mut self) {
        self.stdout.finish();
        self.stderr.finish();
    }
}

impl IsTerminal for LineSink {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for LineSink {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl OutputStream for LineSink {
    fn write(&mut self, bytes: bytes::Bytes) -> StreamResult<()> {
        self.write_bytes(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(64 * 1024)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for LineSink {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for LineSink {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.write_bytes(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
