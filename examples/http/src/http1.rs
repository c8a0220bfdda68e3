//! HTTP/1.1 without I/O: parsing a request head, routing it, the framing of
//! chunked bodies, and writing response heads.
//!
//! The benchmark's native server includes this file and `conn.rs` as they
//! are (`bench/src/http.rs`), so the guest and its native counterpart run
//! the same logic and answer with the same bytes.

use std::cell::Cell;

/// Longest request head (request line and header fields) read: past it,
/// `431`.
pub const MAX_HEAD: usize = 16 * 1024;
/// Most header fields in one request: past it, `431`.
pub const MAX_FIELDS: usize = 100;
/// Longest request target: past it, `414`.
pub const MAX_TARGET: usize = 8 * 1024;
/// Largest request body read (by `Content-Length`, or chunked once
/// decoded): past it, `413`.
pub const MAX_BODY: u64 = 16 * 1024 * 1024;
/// Largest `N` of `GET /bytes/N`: past it, `400`.
pub const MAX_BYTES: u64 = 16 * 1024 * 1024;
/// Longest chunk-size line (the size and any extensions).
pub const MAX_CHUNK_LINE: usize = 1024;
/// The body of `GET /`.
pub const HELLO: &[u8] = b"hello from wasock\n";
/// The interim response sent to `Expect: 100-continue` before a body is
/// read.
pub const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";
/// Most bytes of the `/bytes/N` pattern one call to [`pattern`] gives.
pub const PATTERN_CHUNK: usize = 64 * 1024;

/// A response status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status(pub u16);

impl Status {
    /// `200 OK`.
    pub const OK: Status = Status(200);
    /// `400 Bad Request`.
    pub const BAD_REQUEST: Status = Status(400);
    /// `404 Not Found`.
    pub const NOT_FOUND: Status = Status(404);
    /// `405 Method Not Allowed`.
    pub const METHOD_NOT_ALLOWED: Status = Status(405);
    /// `408 Request Timeout`.
    pub const REQUEST_TIMEOUT: Status = Status(408);
    /// `413 Content Too Large`.
    pub const CONTENT_TOO_LARGE: Status = Status(413);
    /// `414 URI Too Long`.
    pub const URI_TOO_LONG: Status = Status(414);
    /// `417 Expectation Failed`.
    pub const EXPECTATION_FAILED: Status = Status(417);
    /// `431 Request Header Fields Too Large`.
    pub const HEADERS_TOO_LARGE: Status = Status(431);
    /// `501 Not Implemented`.
    pub const NOT_IMPLEMENTED: Status = Status(501);
    /// `503 Service Unavailable`.
    pub const UNAVAILABLE: Status = Status(503);
    /// `505 HTTP Version Not Supported`.
    pub const VERSION_NOT_SUPPORTED: Status = Status(505);

    /// The reason phrase (RFC 9110's).
    pub fn reason(self) -> &'static str {
        match self.0 {
            200 => "OK",
            400 => "Bad Request",
            404 => "Not Found",
            405 => "Method Not Allowed",
            408 => "Request Timeout",
            413 => "Content Too Large",
            414 => "URI Too Long",
            417 => "Expectation Failed",
            431 => "Request Header Fields Too Large",
            501 => "Not Implemented",
            503 => "Service Unavailable",
            505 => "HTTP Version Not Supported",
            _ => "Unknown",
        }
    }
}

/// The request methods told apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET`.
    Get,
    /// `HEAD`: as `GET`, without the body.
    Head,
    /// `POST`.
    Post,
    /// Any other (well-formed) method.
    Other,
}

/// What a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `GET /`: [`HELLO`].
    Hello,
    /// `GET /bytes/N`: N bytes of [`pattern`].
    Bytes(u64),
    /// `GET /bytes/N` with N past [`MAX_BYTES`].
    TooManyBytes,
    /// `POST /echo`: the request body back.
    Echo,
    /// A path this server does not have.
    NotFound,
    /// A path it has, with another method; the value of `Allow`.
    MethodNotAllowed(&'static str),
}

/// How the request body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body.
    None,
    /// `Content-Length` bytes (`u64::MAX` for a length too large to
    /// represent).
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// A parsed request head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// The method.
    pub method: Method,
    /// What it asks for.
    pub route: Route,
    /// An HTTP/1.0 request (else 1.1).
    pub http10: bool,
    /// The connection may carry another request after this one.
    pub keep_alive: bool,
    /// How its body is delimited.
    pub framing: Framing,
    /// The client waits for `100 Continue` before sending the body.
    pub expect_continue: bool,
    /// Bytes the head took (with any empty lines before it).
    pub len: usize,
}

/// What [`parse`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parsed {
    /// The head is not complete yet.
    Partial,
    /// A complete, well-formed head.
    Head(Head),
    /// A malformed request: answer with this status and close.
    Reject(Status),
}

/// Parse the request head at the start of `buf`. `scanned` carries how far
/// an earlier call looked for the head's end without finding it (start at
/// 0 for each request), so that a head arriving a byte at a time is not
/// searched again from its start each time.
pub fn parse(buf: &[u8], scanned: &mut usize) -> Parsed {
    // Empty lines before the request line are ignored (RFC 9112, 2.2).
    let mut begin = 0;
    loop {
        match &buf[begin..] {
            [b'\r', b'\n', ..] => begin += 2,
            [b'\n', ..] => begin += 1,
            [b'\r'] => return Parsed::Partial,
            _ => break,
        }
    }
    let Some(end) = head_end(buf, begin.max(*scanned), scanned) else {
        return if doomed(&buf[begin..]) {
            Parsed::Reject(Status::BAD_REQUEST)
        } else {
            Parsed::Partial
        };
    };
    match parse_head(&buf[begin..end]) {
        Ok(mut head) => {
            head.len = end;
            Parsed::Head(head)
        }
        Err(status) => Parsed::Reject(status),
    }
}

/// Where the head ends (just past its empty line), searching from `from`;
/// on `None`, `scanned` is where the next search should begin.
fn head_end(buf: &[u8], from: usize, scanned: &mut usize) -> Option<usize> {
    let mut i = from;
    while let Some(k) = buf[i..].iter().position(|&b| b == b'\n') {
        let nl = i + k;
        match &buf[nl + 1..] {
            [b'\n', ..] => return Some(nl + 2),
            [b'\r', b'\n', ..] => return Some(nl + 3),
            [] | [b'\r'] => {
                // Whether this line ends the head is not known yet.
                *scanned = nl;
                return None;
            }
            _ => i = nl + 1,
        }
    }
    *scanned = buf.len();
    None
}

/// Whether an incomplete head's request line already cannot be valid: its
/// method, or the start of its target, has a byte they cannot have (binary
/// garbage, a TLS handshake), so there is no point waiting for the rest.
/// Looks at the first 256 bytes only, so that a head arriving a byte at a
/// time costs little.
fn doomed(buf: &[u8]) -> bool {
    let line = &buf[..buf.len().min(256)];
    let line = &line[..line.iter().position(|&b| b == b'\n').unwrap_or(line.len())];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut parts = line.splitn(3, |&b| b == b' ');
    let method = parts.next().unwrap_or_default();
    let target = parts.next();
    !method.iter().all(|&b| tchar(b))
        || (target.is_some() && method.is_empty())
        || target.is_some_and(|t| !t.iter().all(|b| (0x21..=0x7e).contains(b)))
}

/// Which bytes are token characters (RFC 9110, 5.6.2).
static TCHAR: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = (b as u8).is_ascii_alphanumeric();
        b += 1;
    }
    let extra = b"!#$%&'*+-.^_`|~";
    let mut i = 0;
    while i < extra.len() {
        t[extra[i] as usize] = true;
        i += 1;
    }
    t
};

/// A token character.
fn tchar(b: u8) -> bool {
    TCHAR[usize::from(b)]
}

/// Leading and trailing spaces and tabs removed.
fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// The comma-separated elements of a field value, trimmed, empty ones
/// skipped (RFC 9110, 5.6.1).
fn elements(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(trim_ows)
        .filter(|e| !e.is_empty())
}

/// A decimal number; `u64::MAX` for one too large, `None` for anything
/// that is not digits.
fn decimal(s: &[u8]) -> Option<u64> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().try_fold(0u64, |n, &d| {
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    }))
    .map(|n| n.unwrap_or(u64::MAX))
}

/// The head's fields, as far as this server cares.
#[derive(Default)]
struct Fields {
    content_length: Option<u64>,
    /// Transfer codings named, in order.
    codings: usize,
    chunked_last: bool,
    chunked_count: usize,
    close: bool,
    keep_alive: bool,
    hosts: usize,
    expect_continue: bool,
    expect_other: bool,
}

/// Parse a complete head (without the empty lines before it).
fn parse_head(head: &[u8]) -> Result<Head, Status> {
    let mut lines = head.split(|&b| b == b'\n').map(|l| match l {
        [rest @ .., b'\r'] => rest,
        l => l,
    });
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.splitn(3, |&b| b == b' ');
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(Status::BAD_REQUEST);
    };
    if method.is_empty() || !method.iter().all(|&b| tchar(b)) {
        return Err(Status::BAD_REQUEST);
    }
    if target.is_empty() || !target.iter().all(|b| (0x21..=0x7e).contains(b)) {
        return Err(Status::BAD_REQUEST);
    }
    let http10 = match version {
        b"HTTP/1.0" => true,
        [b'H', b'T', b'T', b'P', b'/', b'1', b'.', minor] if minor.is_ascii_digit() => false,
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit() =>
        {
            return Err(Status::VERSION_NOT_SUPPORTED);
        }
        _ => return Err(Status::BAD_REQUEST),
    };
    if target.len() > MAX_TARGET {
        return Err(Status::URI_TOO_LONG);
    }

    let mut f = Fields::default();
    let mut count = 0;
    for line in lines {
        if line.is_empty() {
            break;
        }
        count += 1;
        if count > MAX_FIELDS {
            return Err(Status::HEADERS_TOO_LARGE);
        }
        field(line, &mut f)?;
    }

    if f.hosts > 1 || (!http10 && f.hosts == 0) {
        return Err(Status::BAD_REQUEST);
    }
    let framing = if f.codings > 0 {
        // RFC 9112, 6.1 and 6.3: chunked must come last (and once); a
        // request with both framings, or chunked in HTTP/1.0, is refused
        // rather than guessed at (request smuggling).
        if http10 || f.content_length.is_some() || !f.chunked_last || f.chunked_count > 1 {
            return Err(Status::BAD_REQUEST);
        }
        if f.codings > 1 {
            return Err(Status::NOT_IMPLEMENTED);
        }
        Framing::Chunked
    } else {
        match f.content_length {
            None | Some(0) => Framing::None,
            Some(n) => Framing::Length(n),
        }
    };
    if f.expect_other && !http10 {
        return Err(Status::EXPECTATION_FAILED);
    }
    let method = match method {
        b"GET" => Method::Get,
        b"HEAD" => Method::Head,
        b"POST" => Method::Post,
        _ => Method::Other,
    };
    Ok(Head {
        method,
        route: route(method, target),
        http10,
        keep_alive: if http10 {
            f.keep_alive && !f.close
        } else {
            !f.close
        },
        framing,
        expect_continue: f.expect_continue && !http10 && framing != Framing::None,
        len: 0,
    })
}

/// Take in one header field line.
fn field(line: &[u8], f: &mut Fields) -> Result<(), Status> {
    // No obsolete line folding, no whitespace before the colon (RFC 9112,
    // 5.1 and 5.2), no control characters but tab in a value.
    let colon = line
        .iter()
        .position(|&b| b == b':')
        .ok_or(Status::BAD_REQUEST)?;
    let (name, value) = (&line[..colon], trim_ows(&line[colon + 1..]));
    if name.is_empty() || !name.iter().all(|&b| tchar(b)) {
        return Err(Status::BAD_REQUEST);
    }
    if value.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        return Err(Status::BAD_REQUEST);
    }
    // By length first: most fields are none of these.
    let known: &[u8] = match name.len() {
        4 => b"host",
        6 => b"expect",
        10 => b"connection",
        14 => b"content-length",
        17 => b"transfer-encoding",
        _ => return Ok(()),
    };
    if !name.eq_ignore_ascii_case(known) {
        return Ok(());
    }
    if known == b"content-length" {
        // A list of one value repeated is that value (RFC 9110, 8.6).
        for e in value.split(|&b| b == b',').map(trim_ows) {
            let n = decimal(e).ok_or(Status::BAD_REQUEST)?;
            if f.content_length.is_some_and(|m| m != n) {
                return Err(Status::BAD_REQUEST);
            }
            f.content_length = Some(n);
        }
    } else if known == b"transfer-encoding" {
        for e in elements(value) {
            f.codings += 1;
            f.chunked_last = e.eq_ignore_ascii_case(b"chunked");
            f.chunked_count += usize::from(f.chunked_last);
        }
        if f.codings == 0 {
            return Err(Status::BAD_REQUEST);
        }
    } else if known == b"connection" {
        for e in elements(value) {
            f.close |= e.eq_ignore_ascii_case(b"close");
            f.keep_alive |= e.eq_ignore_ascii_case(b"keep-alive");
        }
    } else if known == b"host" {
        f.hosts += 1;
    } else if known == b"expect" {
        if value.eq_ignore_ascii_case(b"100-continue") {
            f.expect_continue = true;
        } else {
            f.expect_other = true;
        }
    }
    Ok(())
}

/// What `method` on `target` asks for.
pub fn route(method: Method, target: &[u8]) -> Route {
    let get = matches!(method, Method::Get | Method::Head);
    let path = path_of(target);
    if path == b"/" {
        return if get {
            Route::Hello
        } else {
            Route::MethodNotAllowed("GET, HEAD")
        };
    }
    if path == b"/echo" {
        return if method == Method::Post {
            Route::Echo
        } else {
            Route::MethodNotAllowed("POST")
        };
    }
    if let Some(n) = path.strip_prefix(b"/bytes/") {
        return match decimal(n) {
            None => Route::NotFound,
            Some(_) if !get => Route::MethodNotAllowed("GET, HEAD"),
            Some(n) if n > MAX_BYTES => Route::TooManyBytes,
            Some(n) => Route::Bytes(n),
        };
    }
    Route::NotFound
}

/// The path of a request target: absolute-form's scheme and authority, and
/// any query, removed.
fn path_of(target: &[u8]) -> &[u8] {
    let mut path = target;
    for scheme in [&b"http://"[..], b"https://"] {
        if path.len() >= scheme.len() && path[..scheme.len()].eq_ignore_ascii_case(scheme) {
            let rest = &path[scheme.len()..];
            path = match rest.iter().position(|&b| b == b'/' || b == b'?') {
                Some(i) if rest[i] == b'/' => &rest[i..],
                _ => b"/",
            };
            break;
        }
    }
    match path.iter().position(|&b| b == b'?' || b == b'#') {
        Some(i) => &path[..i],
        None => path,
    }
}

/// The size on a chunk-size line (`HEX[;extensions]`), or `None` when it
/// is malformed or does not fit in 64 bits.
pub fn chunk_size(line: &[u8]) -> Option<u64> {
    let end = line.iter().position(|&b| b == b';').unwrap_or(line.len());
    let (hex, ext) = (trim_ows(&line[..end]), &line[end..]);
    if hex.is_empty() || ext.iter().any(|&b| b < 0x20 && b != b'\t') {
        return None;
    }
    hex.iter().try_fold(0u64, |n, &d| {
        let v = char::from(d).to_digit(16)?;
        n.checked_mul(16)?.checked_add(u64::from(v))
    })
}

/// What a response says about its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persist {
    /// Nothing: HTTP/1.1's default, the connection stays open.
    Default,
    /// `Connection: keep-alive` (an HTTP/1.0 client that asked for it).
    KeepAlive,
    /// `Connection: close`: this is the last response.
    Close,
}

thread_local! {
    /// The `Date` header's value, set once a second by the server.
    static DATE: Cell<[u8; 29]> = const { Cell::new(*b"Thu, 01 Jan 1970 00:00:00 GMT") };
}

/// Set the time the `Date` header gives (seconds since the Unix epoch).
pub fn set_date(unix_secs: u64) {
    DATE.with(|d| d.set(http_date(unix_secs)));
}

/// `unix_secs` as an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
fn http_date(unix_secs: u64) -> [u8; 29] {
    const DAYS: [&[u8; 3]; 7] = [b"Thu", b"Fri", b"Sat", b"Sun", b"Mon", b"Tue", b"Wed"];
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    let days = unix_secs / 86_400;
    let secs = unix_secs % 86_400;
    // Days to a civil date (Howard Hinnant's algorithm), from 0000-03-01.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = (yoe + era * 400 + u64::from(month <= 2)).min(9999);
    let mut out = *b"Thu, 01 Jan 1970 00:00:00 GMT";
    out[..3].copy_from_slice(DAYS[(days % 7) as usize]);
    let two = |v: u64| [b'0' + (v / 10) as u8, b'0' + (v % 10) as u8];
    out[5..7].copy_from_slice(&two(day));
    out[8..11].copy_from_slice(MONTHS[(month - 1) as usize]);
    out[12..14].copy_from_slice(&two(year / 100));
    out[14..16].copy_from_slice(&two(year % 100));
    out[17..19].copy_from_slice(&two(secs / 3600));
    out[20..22].copy_from_slice(&two(secs / 60 % 60));
    out[23..25].copy_from_slice(&two(secs % 60));
    out
}

/// Append `n` in decimal.
fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// Append a response head: status line, `Date`, `Content-Type`,
/// `Content-Length` (always: the body that follows, or for `HEAD` the one
/// `GET` would have), `Allow` if given, and `Connection` as `persist` says.
pub fn write_head(
    out: &mut Vec<u8>,
    status: Status,
    content_type: &str,
    len: u64,
    allow: Option<&str>,
    persist: Persist,
) {
    out.extend_from_slice(b"HTTP/1.1 ");
    push_decimal(out, u64::from(status.0));
    out.push(b' ');
    out.extend_from_slice(status.reason().as_bytes());
    out.extend_from_slice(b"\r\nDate: ");
    out.extend_from_slice(&DATE.with(Cell::get));
    out.extend_from_slice(b"\r\nContent-Type: ");
    out.extend_from_slice(content_type.as_bytes());
    out.extend_from_slice(b"\r\nContent-Length: ");
    push_decimal(out, len);
    if let Some(allow) = allow {
        out.extend_from_slice(b"\r\nAllow: ");
        out.extend_from_slice(allow.as_bytes());
    }
    out.extend_from_slice(match persist {
        Persist::Default => &b"\r\n\r\n"[..],
        Persist::KeepAlive => b"\r\nConnection: keep-alive\r\n\r\n",
        Persist::Close => b"\r\nConnection: close\r\n\r\n",
    });
}

/// `a`..`z` over and over, one chunk and a lap longer, so that any offset's
/// continuation is one slice.
static PATTERN: [u8; PATTERN_CHUNK + 26] = {
    let mut p = [0u8; PATTERN_CHUNK + 26];
    let mut i = 0;
    while i < p.len() {
        p[i] = b'a' + (i % 26) as u8;
        i += 1;
    }
    p
};

/// Bytes `offset..offset + len` of `/bytes/N`'s body, whose byte `i` is
/// `b'a' + i % 26`; `len` at most [`PATTERN_CHUNK`].
pub fn pattern(offset: u64, len: usize) -> &'static [u8] {
    let from = (offset % 26) as usize;
    &PATTERN[from..from + len.min(PATTERN_CHUNK)]
}

#[cfg(test)]
#[path = "http1_tests.rs"]
mod tests;
