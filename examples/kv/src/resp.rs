//! RESP2, the Redis protocol: an incremental request parser (multibulk and
//! inline commands) with hard limits, and the reply encoder.
//!
//! The parser never allocates what a client merely claims: a bulk length
//! is checked against [`MAX_BULK`] and then only remembered; the bytes are
//! buffered by the caller as they arrive. A command's arguments are ranges
//! into the caller's buffer (no copy); the parse of a command that is not
//! complete yet resumes where it stopped, so a command arriving a byte at a
//! time costs linear work.

use crate::inline::split_args;

/// Largest bulk string (one argument) accepted: 64 MiB. Redis allows
/// 512 MiB (`proto-max-bulk-len`); a guest's memory is smaller.
pub const MAX_BULK: usize = 64 << 20;
/// Most arguments in one multibulk command (as Redis).
pub const MAX_ARGS: usize = 1 << 20;
/// Longest inline command, or `*`/`$` header line, without its newline
/// (as Redis: 64 KiB).
pub const MAX_INLINE: usize = 64 << 10;

/// A protocol error: the client is sent `-ERR Protocol error: ...` and the
/// connection is closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError(pub String);

impl ProtocolError {
    fn new(msg: &str) -> ProtocolError {
        ProtocolError(msg.to_string())
    }
}

/// What a parse found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// A whole command of this many bytes (its arguments: [`Parser::args`];
    /// none for an empty command, which is skipped).
    Done(usize),
    /// Incomplete: nothing more can happen before the command's bytes
    /// reach `need` (a lower bound, exact while a bulk's body is awaited).
    More {
        /// The least number of command bytes worth parsing again at.
        need: usize,
    },
}

/// The incremental parser of one connection's requests.
#[derive(Debug, Default)]
pub struct Parser {
    /// The arguments parsed so far: ranges into the command's bytes, or,
    /// for an inline command, into `inline`.
    ranges: Vec<(usize, usize)>,
    /// An inline command's arguments, unquoted, end to end.
    inline: Vec<u8>,
    /// Whether the command is inline (arguments in `inline`).
    is_inline: bool,
    /// The multibulk's argument count, once its header is read.
    expected: Option<usize>,
    /// How far into the command the parse has got.
    cursor: usize,
    /// The length of the bulk whose header is read and body is awaited.
    bulk: Option<usize>,
    /// How far a search for the end of a line has looked already.
    scanned: usize,
}

/// A command's arguments (the name first).
#[derive(Debug, Clone, Copy)]
pub struct Args<'a> {
    src: &'a [u8],
    ranges: &'a [(usize, usize)],
}

impl<'a> Args<'a> {
    /// How many (the name included).
    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    /// Whether there are none (an empty command).
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Argument `i` (0 is the command's name).
    pub fn get(&self, i: usize) -> &'a [u8] {
        let (a, b) = self.ranges[i];
        &self.src[a..b]
    }

    /// Arguments `from..`.
    pub fn iter_from(&self, from: usize) -> impl Iterator<Item = &'a [u8]> + 'a {
        let src = self.src;
        self.ranges[from.min(self.ranges.len())..]
            .iter()
            .map(move |&(a, b)| &src[a..b])
    }
}

/// Where the line that starts at `from` ends: the index of its `\n`,
/// searching from `scanned` on (what was looked at before is known to hold
/// none).
fn find_newline(data: &[u8], from: usize, scanned: &mut usize) -> Option<usize> {
    let start = from.max(*scanned);
    match data[start..].iter().position(|&b| b == b'\n') {
        Some(i) => {
            *scanned = 0;
            Some(start + i)
        }
        None => {
            *scanned = data.len();
            None
        }
    }
}

/// The line `data[from..nl]` without a trailing `\r`.
fn line(data: &[u8], from: usize, nl: usize) -> &[u8] {
    let l = &data[from..nl];
    l.strip_suffix(b"\r").unwrap_or(l)
}

/// A decimal integer as Redis's `string2ll` reads it: an optional `-`, no
/// `+`, no spaces, no leading zeros, within `i64`.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, s),
    };
    match digits {
        [] => return None,
        [b'0'] => return (!neg).then_some(0),
        [b'0', ..] => return None,
        _ => {}
    }
    if digits.len() <= 18 {
        // Cannot overflow: no checked (128-bit, on wasm32) multiplication.
        let mut v: i64 = 0;
        for &d in digits {
            if !d.is_ascii_digit() {
                return None;
            }
            v = v * 10 + i64::from(d - b'0');
        }
        return Some(if neg { -v } else { v });
    }
    let mut v: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        let d = i64::from(d - b'0');
        v = v.checked_mul(10)?;
        v = if neg {
            v.checked_sub(d)?
        } else {
            v.checked_add(d)?
        };
    }
    Some(v)
}

/// The common header line, `<marker><digits>\r\n` at `data[at..]`, read
/// in one pass: its number and where the next line starts. `None` for
/// anything else (incomplete, signed, leading zeros, over 18 digits, not a
/// number), which the general path then reads or refuses.
#[inline]
fn quick_header(data: &[u8], at: usize) -> Option<(u64, usize)> {
    let digits = at + 1;
    let mut i = digits;
    let mut v: u64 = 0;
    while let Some(&b) = data.get(i) {
        if !b.is_ascii_digit() || i - digits == 18 {
            break;
        }
        v = v * 10 + u64::from(b - b'0');
        i += 1;
    }
    let n = i - digits;
    if n == 0 || (n > 1 && data[digits] == b'0') {
        return None;
    }
    (data.get(i) == Some(&b'\r') && data.get(i + 1) == Some(&b'\n')).then_some((v, i + 2))
}

impl Parser {
    /// Parse the command at the start of `data` (the bytes buffered from
    /// its first on), resuming where the last call stopped; `data` must
    /// begin with the same bytes as it did then.
    pub fn parse(&mut self, data: &[u8]) -> Result<Step, ProtocolError> {
        if self.expected.is_none() {
            if let Some(len) = self.parse_whole(data) {
                return Ok(Step::Done(len));
            }
            let Some(&first) = data.first() else {
                return Ok(Step::More { need: 1 });
            };
            if first != b'*' {
                return self.parse_inline(data);
            }
            let (n, next) = match quick_header(data, 0) {
                Some((n, next)) => {
                    self.scanned = 0;
                    (i64::try_from(n).unwrap_or(i64::MAX), next)
                }
                None => {
                    let Some(nl) = find_newline(data, 0, &mut self.scanned) else {
                        if data.len() > MAX_INLINE {
                            return Err(ProtocolError::new("too big mbulk count string"));
                        }
                        return Ok(Step::More {
                            need: data.len() + 1,
                        });
                    };
                    let n = parse_i64(&line(data, 0, nl)[1..])
                        .ok_or_else(|| ProtocolError::new("invalid multibulk length"))?;
                    (n, nl + 1)
                }
            };
            if n > MAX_ARGS as i64 {
                return Err(ProtocolError::new("invalid multibulk length"));
            }
            if n <= 0 {
                // `*0` and `*-1`: nothing to do.
                return Ok(Step::Done(next));
            }
            let n = n as usize;
            self.expected = Some(n);
            self.cursor = next;
            // What is claimed is not reserved: only as far as is usual.
            self.ranges.reserve(n.min(64));
        }
        let expected = self.expected.unwrap_or(0);
        while self.ranges.len() < expected {
            match self.bulk {
                None => {
                    let Some(&b) = data.get(self.cursor) else {
                        return Ok(Step::More {
                            need: self.cursor + 1,
                        });
                    };
                    if b != b'$' {
                        return Err(ProtocolError(format!(
                            "expected '$', got '{}'",
                            printable(b)
                        )));
                    }
                    let (len, next) = match quick_header(data, self.cursor) {
                        Some((len, next)) => {
                            self.scanned = 0;
                            (i64::try_from(len).unwrap_or(-1), next)
                        }
                        None => {
                            let Some(nl) = find_newline(data, self.cursor, &mut self.scanned)
                            else {
                                if data.len() - self.cursor > MAX_INLINE {
                                    return Err(ProtocolError::new("too big bulk count string"));
                                }
                                return Ok(Step::More {
                                    need: data.len() + 1,
                                });
                            };
                            let len = parse_i64(&line(data, self.cursor, nl)[1..]).unwrap_or(-1);
                            (len, nl + 1)
                        }
                    };
                    if !(0..=MAX_BULK as i64).contains(&len) {
                        return Err(ProtocolError::new("invalid bulk length"));
                    }
                    self.bulk = Some(len as usize);
                    self.cursor = next;
                }
                Some(len) => {
                    let end = self.cursor + len;
                    if data.len() < end + 2 {
                        return Ok(Step::More { need: end + 2 });
                    }
                    if &data[end..end + 2] != b"\r\n" {
                        return Err(ProtocolError::new("expected CRLF after bulk string"));
                    }
                    self.ranges.push((self.cursor, end));
                    self.cursor = end + 2;
                    self.bulk = None;
                }
            }
        }
        Ok(Step::Done(self.cursor))
    }

    /// The common case in one pass: a whole multibulk command of at most
    /// 64 arguments with well-formed headers, all of it in `data`. `None`
    /// for anything else (incomplete, unusual or wrong), with nothing
    /// changed: the general path then reads it, or says what is wrong.
    fn parse_whole(&mut self, data: &[u8]) -> Option<usize> {
        if data.first() != Some(&b'*') {
            return None;
        }
        let (n, mut at) = quick_header(data, 0)?;
        if !(1..=64).contains(&n) {
            return None;
        }
        self.ranges.clear();
        for _ in 0..n {
            let body = match quick_header(data, at) {
                Some((len, body)) if data[at] == b'$' && len <= MAX_BULK as u64 => {
                    Some((body, body + len as usize))
                }
                _ => None,
            };
            match body {
                Some((body, end)) if data.get(end..end + 2) == Some(b"\r\n") => {
                    self.ranges.push((body, end));
                    at = end + 2;
                }
                _ => {
                    self.ranges.clear();
                    return None;
                }
            }
        }
        Some(at)
    }

    /// An inline command: one line, split on blanks, with Redis's quoting
    /// (`"..."` with backslash escapes, `'...'`).
    fn parse_inline(&mut self, data: &[u8]) -> Result<Step, ProtocolError> {
        let Some(nl) = find_newline(data, 0, &mut self.scanned) else {
            if data.len() > MAX_INLINE {
                return Err(ProtocolError::new("too big inline request"));
            }
            return Ok(Step::More {
                need: data.len() + 1,
            });
        };
        let text = line(data, 0, nl);
        self.ranges.clear();
        self.inline.clear();
        split_args(text, &mut self.inline, &mut self.ranges)
            .map_err(|()| ProtocolError::new("unbalanced quotes in request"))?;
        self.is_inline = true;
        Ok(Step::Done(nl + 1))
    }

    /// The arguments of the command [`Parser::parse`] found complete;
    /// `command` is that command's bytes.
    pub fn args<'a>(&'a self, command: &'a [u8]) -> Args<'a> {
        Args {
            src: if self.is_inline {
                &self.inline
            } else {
                command
            },
            ranges: &self.ranges,
        }
    }

    /// Heap bytes held (argument ranges, an inline command's arguments).
    pub fn heap_bytes(&self) -> usize {
        self.ranges.capacity() * std::mem::size_of::<(usize, usize)>() + self.inline.capacity()
    }

    /// Forget the command just parsed, for the next one. Memory kept for a
    /// command with very many arguments is given back.
    pub fn reset(&mut self) {
        self.ranges.clear();
        if self.ranges.capacity() > 4096 {
            self.ranges = Vec::new();
        }
        if self.inline.capacity() > MAX_INLINE {
            self.inline = Vec::new();
        }
        self.is_inline = false;
        self.expected = None;
        self.cursor = 0;
        self.bulk = None;
        self.scanned = 0;
    }
}

/// A byte as Redis shows it in "expected '$', got 'x'".
fn printable(b: u8) -> char {
    if b.is_ascii_graphic() || b == b' ' {
        b as char
    } else {
        '?'
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply::push_int;

    fn all(input: &[u8]) -> Vec<Vec<Vec<u8>>> {
        let mut p = Parser::default();
        let mut at = 0;
        let mut cmds = Vec::new();
        while at < input.len() {
            match p.parse(&input[at..]).unwrap() {
                Step::Done(n) => {
                    let a = p.args(&input[at..at + n]);
                    cmds.push(a.iter_from(0).map(<[u8]>::to_vec).collect());
                    p.reset();
                    at += n;
                }
                Step::More { .. } => break,
            }
        }
        cmds
    }

    #[test]
    fn multibulk_and_inline() {
        let c = all(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\nSET a \"b c\\n\" 'd'\n");
        assert_eq!(c.len(), 3);
        assert_eq!(c[0], vec![b"GET".to_vec(), b"k".to_vec()]);
        assert_eq!(c[1], vec![b"PING".to_vec()]);
        assert_eq!(
            c[2],
            vec![
                b"SET".to_vec(),
                b"a".to_vec(),
                b"b c\n".to_vec(),
                b"d".to_vec()
            ]
        );
    }

    #[test]
    fn inline_garbage_always_ends() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..2000 {
            let line: Vec<u8> = (0..64)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    [0, b' ', b'"', b'\'', b'\\', b'x', b'a', 0x0b][(x >> 40) as usize % 8]
                })
                .collect();
            let (mut out, mut ranges) = (Vec::new(), Vec::new());
            if split_args(&line, &mut out, &mut ranges).is_ok() {
                assert!(ranges.len() <= line.len() && out.len() <= line.len());
            }
        }
        let (mut out, mut ranges) = (Vec::new(), Vec::new());
        split_args(b"a\0b c", &mut out, &mut ranges).unwrap();
        assert_eq!(ranges.len(), 2);
    }

    #[test]
    fn byte_at_a_time() {
        let input = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n";
        let mut p = Parser::default();
        for end in 1..input.len() {
            assert!(matches!(p.parse(&input[..end]).unwrap(), Step::More { .. }));
        }
        assert_eq!(p.parse(input).unwrap(), Step::Done(input.len()));
        assert_eq!(p.args(input).get(2), b"hello");
    }

    #[test]
    fn limits() {
        let mut p = Parser::default();
        assert_eq!(
            p.parse(b"*1\r\n$4294967296\r\n").unwrap_err().0,
            "invalid bulk length"
        );
        let mut p = Parser::default();
        assert_eq!(
            p.parse(b"*1\r\n$-1\r\n").unwrap_err().0,
            "invalid bulk length"
        );
        let mut p = Parser::default();
        assert_eq!(
            p.parse(b"*99999999999\r\n").unwrap_err().0,
            "invalid multibulk length"
        );
        let mut p = Parser::default();
        assert_eq!(p.parse(b"*1\r\nx").unwrap_err().0, "expected '$', got 'x'");
        for bad in [
            &b"*1\r\n$01\r\n"[..],
            b"*1\r\n$x\r\n",
            b"*1\r\n$99999999999999999999\r\n",
        ] {
            let mut p = Parser::default();
            assert_eq!(
                p.parse(bad).unwrap_err().0,
                "invalid bulk length",
                "{bad:?}"
            );
        }
        let mut p = Parser::default();
        assert_eq!(p.parse(b"*0\r\n").unwrap(), Step::Done(4));
        let mut p = Parser::default();
        let claim = format!("*1\r\n${MAX_BULK}\r\n");
        assert_eq!(
            p.parse(claim.as_bytes()).unwrap(),
            Step::More {
                need: claim.len() + MAX_BULK + 2
            }
        );
        let mut p = Parser::default();
        assert!(p.parse(b"GET \"k\n").is_err());
    }

    #[test]
    fn integers() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"-12"), Some(-12));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"-",
            b"+1",
            b"01",
            b"-0",
            b" 1",
            b"9223372036854775808",
            b"1x",
        ] {
            assert_eq!(parse_i64(bad), None, "{bad:?}");
        }
        let mut v = Vec::new();
        push_int(&mut v, i64::MIN);
        assert_eq!(v, b"-9223372036854775808");
    }
}
