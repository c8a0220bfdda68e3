//! A guest's stdout or stderr cut into whole lines, each handed on at
//! once: to the simulator's transcript (stamped with the virtual time), or
//! to the process's own stream in one write (`wasock serve`, where
//! instances write at once and their lines must not interleave).

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// Longest line kept whole; a longer one is cut into pieces of this size.
const MAX_LINE: usize = 4096;

/// Where a guest's lines go.
pub(crate) trait Lines: Send + Sync + 'static {
    /// One line, without its newline.
    fn line(&self, line: &[u8]);

    /// Whether the lines end on a terminal (the guest's C library buffers
    /// by it).
    fn is_terminal(&self) -> bool {
        false
    }
}

/// One guest's output stream, cut into lines.
#[derive(Clone)]
pub(crate) struct LineSink {
    to: Arc<dyn Lines>,
    partial: Arc<Mutex<Vec<u8>>>,
}

impl LineSink {
    pub(crate) fn new(to: Arc<dyn Lines>) -> LineSink {
        LineSink {
            to,
            partial: Arc::default(),
        }
    }

    fn write_bytes(&self, bytes: &[u8]) {
        let mut partial = self.partial.lock().unwrap_or_else(|p| p.into_inner());
        for &b in bytes {
            if b == b'\n' {
                let line = std::mem::take(&mut *partial);
                self.to.line(&line);
            } else {
                partial.push(b);
                if partial.len() >= MAX_LINE {
                    let line = std::mem::take(&mut *partial);
                    self.to.line(&line);
                }
            }
        }
    }

    /// Hand on what is left without a newline (at the guest's end).
    fn finish(&self) {
        let line = std::mem::take(&mut *self.partial.lock().unwrap_or_else(|p| p.into_inner()));
        if !line.is_empty() {
            self.to.line(&line);
        }
    }
}

/// A guest's stdout and stderr for one instance (or one life of a
/// simulated guest). Dropping it, however the instance ends (its exit, its
/// time limit, a trap, or its simulated host's crash, which drops the
/// guest in the middle of a call), hands on what the guest wrote after its
/// last newline: bytes written to a pipe stay written whatever becomes of
/// the writer.
pub(crate) struct Outputs {
    pub stdout: LineSink,
    pub stderr: LineSink,
}

impl Outputs {
    /// Lines of stdout to `stdout`, of stderr to `stderr`.
    pub(crate) fn new(stdout: Arc<dyn Lines>, stderr: Arc<dyn Lines>) -> Outputs {
        Outputs {
            stdout: LineSink::new(stdout),
            stderr: LineSink::new(stderr),
        }
    }

    /// Lines to this process's stdout and stderr, each in one write.
    pub(crate) fn to_process() -> Outputs {
        Outputs::new(Arc::new(ProcessStdout), Arc::new(ProcessStderr))
    }
}

impl Drop for Outputs {
    fn drop(&mut self) {
        self.stdout.finish();
        self.stderr.finish();
    }
}

/// This process's stdout, a line per write.
struct ProcessStdout;

/// This process's stderr, a line per write.
struct ProcessStderr;

/// `line` and its newline in one write to `out`, the stream's lock held:
/// no other instance's output comes between its parts. (Against other
/// processes writing to the same pipe, a write is whole up to 4 KiB.) A
/// failure to write (a closed pipe) is the guest's output lost, as it is
/// for a native program: not the guest's error.
fn write_line(mut out: impl std::io::Write, line: &[u8]) {
    let mut whole = Vec::with_capacity(line.len() + 1);
    whole.extend_from_slice(line);
    whole.push(b'\n');
    let _ = out.write_all(&whole);
}

impl Lines for ProcessStdout {
    fn line(&self, line: &[u8]) {
        write_line(std::io::stdout().lock(), line);
    }

    fn is_terminal(&self) -> bool {
        std::io::IsTerminal::is_terminal(&std::io::stdout())
    }
}

impl Lines for ProcessStderr {
    fn line(&self, line: &[u8]) {
        write_line(std::io::stderr().lock(), line);
    }

    fn is_terminal(&self) -> bool {
        std::io::IsTerminal::is_terminal(&std::io::stderr())
    }
}

impl IsTerminal for LineSink {
    fn is_terminal(&self) -> bool {
        self.to.is_terminal()
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
