//! One HTTP/1.1 connection, over whatever I/O a runtime gives ([`Io`]):
//! requests are read and answered in order, responses to pipelined
//! requests are written together, and every wait is bounded.
//!
//! - A malformed request is answered (`400`, `413`, `431`, ...) and the
//!   connection closed, after a bounded lingering read so that the answer
//!   is not lost to a reset.
//! - Between requests a connection may stay idle for [`Config::idle`];
//!   within one, the client may stall that long (then `408`); a client that
//!   reads nothing for that long is dropped.
//! - Request bodies are bounded per request ([`MAX_BODY`]) and, for those
//!   held in memory (`/echo`), over all connections ([`MAX_HELD`]).

use std::cell::Cell;
use std::io;
use std::ops::Range;
use std::time::{Duration, Instant};

use super::http1::{
    self, CONTINUE, Framing, HELLO, Head, MAX_BODY, MAX_CHUNK_LINE, MAX_HEAD, Method,
    PATTERN_CHUNK, Parsed, Persist, Route, Status,
};

/// The I/O one connection needs, as each runtime provides it.
pub trait Io {
    /// Wait at most `within` for bytes, then read what is there into `buf`:
    /// 0 at the end of the stream, a `TimedOut` error if nothing came.
    async fn read(&mut self, buf: &mut [u8], within: Duration) -> io::Result<usize>;
    /// Write all of `buf`; a `TimedOut` error if no byte could be written
    /// for `within`.
    async fn write_all(&mut self, buf: &[u8], within: Duration) -> io::Result<()>;
    /// Shut down the sending side: the peer reads the end of the stream.
    async fn shutdown_write(&mut self);
    /// Let other connections run.
    async fn yield_now(&mut self);
}

/// How connections behave.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// How long a connection may be idle between requests, or stall within
    /// one (reading or writing).
    pub idle: Duration,
}

/// Most bytes of request bodies held in memory at once, over every
/// connection (`/echo` holds a body to answer with its length); a request
/// that would pass it gets `503`.
pub const MAX_HELD: usize = 64 << 20;
/// The read buffer's first size; it grows to [`MAX_BUF`] for long heads.
const FIRST_BUF: usize = 4096;
/// The read buffer's largest size: a whole head of [`MAX_HEAD`] and more.
const MAX_BUF: usize = MAX_HEAD + 4096;
/// Responses gathered before they are written (pipelined ones together).
const OUT_BATCH: usize = 64 * 1024;
/// Largest read straight into a request body.
const BODY_PIECE: usize = 256 * 1024;
/// Requests answered before other connections get a turn.
const TURN: u32 = 64;
/// After the last response of a closing connection: how long, and how
/// many bytes, to read and drop until the client's end, so that what it
/// still sends does not make the system reset the connection (and lose the
/// response) before the client has read it.
const LINGER: Duration = Duration::from_secs(2);
/// See [`LINGER`].
const LINGER_BYTES: usize = 1 << 20;

thread_local! {
    /// Bytes of bodies held now, over all connections.
    static HELD: Cell<usize> = const { Cell::new(0) };
}

/// A share of [`MAX_HELD`], given back when dropped.
#[derive(Default)]
struct Held(usize);

impl Held {
    /// Hold `to` bytes in all (more or fewer than now); false, holding as
    /// before, if that would pass [`MAX_HELD`].
    fn set(&mut self, to: usize) -> bool {
        let others = HELD.get() - self.0;
        if others + to > MAX_HELD {
            return false;
        }
        HELD.set(others + to);
        self.0 = to;
        true
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        HELD.set(HELD.get() - self.0);
    }
}

/// Why a connection ends.
enum Stop {
    /// The client went away, or stayed idle between requests: close at
    /// once.
    Quiet,
    /// Answer with this status, then close.
    Reject(Status),
    /// The last response is written: close.
    Close,
}

/// Why a read gave nothing.
enum Short {
    /// The end of the stream.
    End,
    /// Nothing came in time.
    TimedOut,
    /// The connection failed (or a write did).
    Broken,
}

/// A read that came short in the middle of a request: a client that stalls
/// is told so; one that went away is not.
fn mid_request(s: Short) -> Stop {
    match s {
        Short::TimedOut => Stop::Reject(Status::REQUEST_TIMEOUT),
        Short::End | Short::Broken => Stop::Quiet,
    }
}

/// Serve one connection until the client is done, or it is closed.
pub async fn serve<T: Io>(io: T, config: Config) {
    let mut c = Conn {
        io,
        idle: config.idle,
        buf: vec![0; FIRST_BUF],
        start: 0,
        end: 0,
        scanned: 0,
        out: Vec::with_capacity(1024),
    };
    match c.run().await {
        Stop::Quiet => {}
        Stop::Reject(status) => {
            let body = status.reason();
            http1::write_head(
                &mut c.out,
                status,
                "text/plain",
                body.len() as u64 + 1,
                None,
                Persist::Close,
            );
            c.out.extend_from_slice(body.as_bytes());
            c.out.push(b'\n');
            c.close().await;
        }
        Stop::Close => c.close().await,
    }
}

struct Conn<T> {
    io: T,
    idle: Duration,
    /// Bytes read; `start..end` not yet taken.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// How far past `start` the current head has been searched.
    scanned: usize,
    /// Responses not yet written.
    out: Vec<u8>,
}

impl<T: Io> Conn<T> {
    async fn run(&mut self) -> Stop {
        let mut answered = 0u32;
        loop {
            let head = match self.next_head().await {
                Ok(h) => h,
                Err(stop) => return stop,
            };
            match self.answer(head).await {
                Ok(true) => {}
                Ok(false) => return Stop::Close,
                Err(stop) => return stop,
            }
            if self.out.len() >= OUT_BATCH && self.flush().await.is_err() {
                return Stop::Quiet;
            }
            answered += 1;
            if answered.is_multiple_of(TURN) {
                if self.flush().await.is_err() {
                    return Stop::Quiet;
                }
                self.io.yield_now().await;
            }
        }
    }

    /// Write the responses gathered so far.
    async fn flush(&mut self) -> Result<(), Short> {
        if self.out.is_empty() {
            return Ok(());
        }
        let r = self.io.write_all(&self.out, self.idle).await;
        self.out.clear();
        if self.out.capacity() > 4 * OUT_BATCH {
            self.out.shrink_to(OUT_BATCH);
        }
        r.map_err(|_| Short::Broken)
    }

    /// Read more into the buffer, after writing what is gathered (the
    /// client may wait for it before sending more).
    async fn fill(&mut self) -> Result<(), Short> {
        self.flush().await?;
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.start > 0 && (self.end == self.buf.len() || self.start >= self.buf.len() / 2)
        {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            if self.buf.len() >= MAX_BUF {
                // Callers bound what they buffer below this.
                return Err(Short::Broken);
            }
            self.buf.resize((self.buf.len() * 2).min(MAX_BUF), 0);
        }
        match self.io.read(&mut self.buf[self.end..], self.idle).await {
            Ok(0) => Err(Short::End),
            Ok(n) => {
                self.end += n;
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::TimedOut => Err(Short::TimedOut),
            Err(_) => Err(Short::Broken),
        }
    }

    /// Read into `dst` (after writing what is gathered), past the buffer.
    async fn read_into(&mut self, dst: &mut [u8]) -> Result<usize, Stop> {
        self.flush().await.map_err(mid_request)?;
        match self.io.read(dst, self.idle).await {
            Ok(0) => Err(Stop::Quiet),
            Ok(n) => Ok(n),
            Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                Err(Stop::Reject(Status::REQUEST_TIMEOUT))
            }
            Err(_) => Err(Stop::Quiet),
        }
    }

    /// The next request's head, taken from the buffer.
    async fn next_head(&mut self) -> Result<Head, Stop> {
        loop {
            match http1::parse(&self.buf[self.start..self.end], &mut self.scanned) {
                Parsed::Head(h) => {
                    self.start += h.len;
                    self.scanned = 0;
                    return Ok(h);
                }
                Parsed::Reject(status) => return Err(Stop::Reject(status)),
                Parsed::Partial => {}
            }
            if self.end - self.start >= MAX_HEAD {
                return Err(Stop::Reject(Status::HEADERS_TOO_LARGE));
            }
            // Something of a request (not just empty lines) is here.
            let begun = self.buf[self.start..self.end]
                .iter()
                .any(|&b| b != b'\r' && b != b'\n');
            match self.fill().await {
                Ok(()) => {}
                Err(Short::End) if begun => return Err(Stop::Reject(Status::BAD_REQUEST)),
                Err(Short::TimedOut) if begun => {
                    return Err(Stop::Reject(Status::REQUEST_TIMEOUT));
                }
                Err(_) => return Err(Stop::Quiet),
            }
        }
    }

    /// Answer one request (reading its body); whether the connection goes
    /// on.
    async fn answer(&mut self, head: Head) -> Result<bool, Stop> {
        let persist = if !head.keep_alive {
            Persist::Close
        } else if head.http10 {
            Persist::KeepAlive
        } else {
            Persist::Default
        };
        if head.route == Route::Echo {
            return self.echo(head, persist).await;
        }
        if head.framing != Framing::None {
            if head.expect_continue {
                // The client waits before sending a body this route does
                // not want: answer now, and close rather than find out
                // whether it sends the body anyway.
                self.respond(head, Persist::Close).await?;
                return Ok(false);
            }
            match head.framing {
                Framing::Length(n) if n > MAX_BODY => {
                    return Err(Stop::Reject(Status::CONTENT_TOO_LARGE));
                }
                Framing::Length(n) => self.skip(n).await?,
                _ => self.chunked(None).await?,
            }
        }
        self.respond(head, persist).await?;
        Ok(persist != Persist::Close)
    }

    /// The response to any route but `/echo`.
    async fn respond(&mut self, head: Head, persist: Persist) -> Result<(), Stop> {
        let body = head.method != Method::Head;
        let (status, text, allow): (Status, &[u8], _) = match head.route {
            Route::Hello => (Status::OK, HELLO, None),
            Route::Bytes(n) => {
                http1::write_head(
                    &mut self.out,
                    Status::OK,
                    "application/octet-stream",
                    n,
                    None,
                    persist,
                );
                if body {
                    self.send_pattern(n).await?;
                }
                return Ok(());
            }
            Route::TooManyBytes => (Status::BAD_REQUEST, b"at most 16777216 bytes\n", None),
            Route::NotFound | Route::Echo => (Status::NOT_FOUND, b"not found\n", None),
            Route::MethodNotAllowed(allow) => (
                Status::METHOD_NOT_ALLOWED,
                b"method not allowed\n",
                Some(allow),
            ),
        };
        http1::write_head(
            &mut self.out,
            status,
            "text/plain",
            text.len() as u64,
            allow,
            persist,
        );
        if body {
            self.out.extend_from_slice(text);
        }
        Ok(())
    }

    /// `n` bytes of the pattern, gathered while they fit, then written.
    async fn send_pattern(&mut self, n: u64) -> Result<(), Stop> {
        let mut off = 0u64;
        while off < n {
            let piece = http1::pattern(off, (n - off).min(PATTERN_CHUNK as u64) as usize);
            if self.out.len() + piece.len() <= OUT_BATCH {
                self.out.extend_from_slice(piece);
            } else {
                self.flush().await.map_err(|_| Stop::Quiet)?;
                self.io
                    .write_all(piece, self.idle)
                    .await
                    .map_err(|_| Stop::Quiet)?;
            }
            off += piece.len() as u64;
        }
        Ok(())
    }

    /// `POST /echo`: read the body (bounded), answer with it.
    async fn echo(&mut self, head: Head, persist: Persist) -> Result<bool, Stop> {
        let mut body = Vec::new();
        let mut held = Held::default();
        match head.framing {
            Framing::None => {}
            Framing::Length(n) if n > MAX_BODY => {
                return Err(Stop::Reject(Status::CONTENT_TOO_LARGE));
            }
            Framing::Length(n) => {
                self.go_ahead(head);
                self.take(&mut body, &mut held, n, n as usize).await?;
            }
            Framing::Chunked => {
                self.go_ahead(head);
                self.chunked(Some((&mut body, &mut held))).await?;
            }
        }
        http1::write_head(
            &mut self.out,
            Status::OK,
            "application/octet-stream",
            body.len() as u64,
            None,
            persist,
        );
        if self.out.len() + body.len() <= OUT_BATCH {
            self.out.extend_from_slice(&body);
        } else {
            self.flush().await.map_err(|_| Stop::Quiet)?;
            self.io
                .write_all(&body, self.idle)
                .await
                .map_err(|_| Stop::Quiet)?;
        }
        Ok(persist != Persist::Close)
    }

    /// Tell a client that waits for it to send the body.
    fn go_ahead(&mut self, head: Head) {
        if head.expect_continue {
            self.out.extend_from_slice(CONTINUE);
        }
    }

    /// Append `n` body bytes to `body`, holding (in `held`) what it takes,
    /// growing it towards `hint` bytes in all.
    async fn take(
        &mut self,
        body: &mut Vec<u8>,
        held: &mut Held,
        n: u64,
        hint: usize,
    ) -> Result<(), Stop> {
        let mut left = n;
        while left > 0 {
            let buffered = self.end - self.start;
            let piece = if buffered > 0 {
                buffered.min(left as usize)
            } else {
                BODY_PIECE.min(left as usize)
            };
            let need = body.len() + piece;
            if body.capacity() < need {
                let cap = need.max((body.capacity() * 2).min(hint));
                if !held.set(cap) {
                    return Err(Stop::Reject(Status::UNAVAILABLE));
                }
                body.reserve_exact(cap - body.len());
            }
            if buffered > 0 {
                body.extend_from_slice(&self.buf[self.start..self.start + piece]);
                self.start += piece;
                left -= piece as u64;
                continue;
            }
            let old = body.len();
            body.resize(need, 0);
            let got = self.read_into(&mut body[old..]).await;
            let got = got?;
            body.truncate(old + got);
            left -= got as u64;
        }
        Ok(())
    }

    /// Read past `n` body bytes.
    async fn skip(&mut self, n: u64) -> Result<(), Stop> {
        let mut left = n;
        while left > 0 {
            if self.start == self.end {
                self.fill().await.map_err(mid_request)?;
            }
            let k = (self.end - self.start).min(left as usize);
            self.start += k;
            left -= k as u64;
        }
        Ok(())
    }

    /// The next line (without its line ending), taken from the buffer; a
    /// line longer than `max` is answered with `too_long`.
    async fn line(&mut self, max: usize, too_long: Status) -> Result<Range<usize>, Stop> {
        let mut from = 0;
        loop {
            let have = &self.buf[self.start..self.end];
            if let Some(k) = have[from..].iter().position(|&b| b == b'\n') {
                let nl = from + k;
                let len = if nl > 0 && have[nl - 1] == b'\r' {
                    nl - 1
                } else {
                    nl
                };
                if len > max {
                    return Err(Stop::Reject(too_long));
                }
                let line = self.start..self.start + len;
                self.start += nl + 1;
                return Ok(line);
            }
            if have.len() > max + 1 {
                return Err(Stop::Reject(too_long));
            }
            from = have.len();
            self.fill().await.map_err(mid_request)?;
        }
    }

    /// Decode a chunked body (RFC 9112, 7.1), into `keep` or dropped.
    async fn chunked(&mut self, mut keep: Option<(&mut Vec<u8>, &mut Held)>) -> Result<(), Stop> {
        let mut total = 0u64;
        loop {
            let line = self.line(MAX_CHUNK_LINE, Status::BAD_REQUEST).await?;
            let size =
                http1::chunk_size(&self.buf[line]).ok_or(Stop::Reject(Status::BAD_REQUEST))?;
            if size == 0 {
                break;
            }
            total = total.saturating_add(size);
            if total > MAX_BODY {
                return Err(Stop::Reject(Status::CONTENT_TOO_LARGE));
            }
            match &mut keep {
                Some((body, held)) => self.take(body, held, size, MAX_BODY as usize).await?,
                None => self.skip(size).await?,
            }
            if !self.line(0, Status::BAD_REQUEST).await?.is_empty() {
                return Err(Stop::Reject(Status::BAD_REQUEST));
            }
        }
        // The trailer section, read past (bounded as a head is).
        let mut trailers = 0;
        loop {
            let line = self.line(MAX_HEAD, Status::HEADERS_TOO_LARGE).await?;
            trailers += line.len() + 2;
            if trailers > MAX_HEAD {
                return Err(Stop::Reject(Status::HEADERS_TOO_LARGE));
            }
            if line.is_empty() {
                return Ok(());
            }
        }
    }

    /// Write what is left, end our side, and read (and drop) what the
    /// client still sends, within [`LINGER`] and [`LINGER_BYTES`].
    async fn close(&mut self) {
        if self.flush().await.is_err() {
            return;
        }
        self.io.shutdown_write().await;
        let until = Instant::now() + LINGER;
        let mut dropped = 0;
        while dropped < LINGER_BYTES {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            match self.io.read(&mut self.buf, left).await {
                Ok(0) | Err(_) => break,
                Ok(n) => dropped += n,
            }
        }
    }
}
