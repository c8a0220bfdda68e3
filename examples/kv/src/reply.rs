//! RESP2 replies: what a connection has to send, encoded as it is
//! gathered, with large stored values held by reference instead of copied.

use std::rc::Rc;

/// Replies being gathered for one connection: bytes, with values too big
/// to copy held by reference at their place among them.
#[derive(Debug, Default)]
pub struct Out {
    /// The encoded replies.
    pub buf: Vec<u8>,
    /// Values to send at these offsets of `buf`, uncopied, in order.
    pub refs: Vec<(usize, Rc<[u8]>)>,
    /// Bytes held by reference.
    pub ref_bytes: usize,
}

/// Values at least this big are sent from the store by reference rather
/// than copied into the replies.
pub const BIG_VALUE: usize = 16 << 10;

impl Out {
    /// How many bytes are waiting to be sent.
    pub fn pending(&self) -> usize {
        self.buf.len() + self.ref_bytes
    }

    /// Heap bytes held (not counting the values held by reference).
    pub fn heap_bytes(&self) -> usize {
        self.buf.capacity() + self.refs.capacity() * std::mem::size_of::<(usize, Rc<[u8]>)>()
    }

    /// Forget what was sent.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.refs.clear();
        self.ref_bytes = 0;
    }

    /// `+OK`.
    pub fn ok(&mut self) {
        self.buf.extend_from_slice(b"+OK\r\n");
    }

    /// A simple string (`+...`).
    pub fn simple(&mut self, s: &str) {
        self.buf.push(b'+');
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.extend_from_slice(b"\r\n");
    }

    /// An error (`-...`); `msg` starts with its code (`ERR ...`). Line
    /// breaks in it become spaces.
    pub fn error(&mut self, msg: &str) {
        self.error_bytes(msg.as_bytes());
    }

    /// An error from raw bytes (which may quote what a client sent).
    pub fn error_bytes(&mut self, msg: &[u8]) {
        self.buf.push(b'-');
        self.buf.extend(
            msg.iter()
                .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
        );
        self.buf.extend_from_slice(b"\r\n");
    }

    /// An integer (`:n`).
    pub fn int(&mut self, n: i64) {
        self.buf.push(b':');
        push_int(&mut self.buf, n);
        self.buf.extend_from_slice(b"\r\n");
    }

    /// The null bulk string (`$-1`).
    pub fn nil(&mut self) {
        self.buf.extend_from_slice(b"$-1\r\n");
    }

    /// An array header (`*n`).
    pub fn array(&mut self, n: usize) {
        self.buf.push(b'*');
        push_int(&mut self.buf, n as i64);
        self.buf.extend_from_slice(b"\r\n");
    }

    /// A bulk string, copied.
    pub fn bulk(&mut self, v: &[u8]) {
        self.bulk_header(v.len());
        self.buf.extend_from_slice(v);
        self.buf.extend_from_slice(b"\r\n");
    }

    /// A bulk string from the store: copied if small, else by reference
    /// (or always by reference with `by_ref`).
    pub fn value(&mut self, v: &Rc<[u8]>, by_ref: bool) {
        if v.len() < BIG_VALUE && !by_ref {
            self.bulk(v);
            return;
        }
        self.bulk_header(v.len());
        self.ref_bytes += v.len();
        self.refs.push((self.buf.len(), v.clone()));
        self.buf.extend_from_slice(b"\r\n");
    }

    fn bulk_header(&mut self, len: usize) {
        self.buf.push(b'$');
        push_int(&mut self.buf, len as i64);
        self.buf.extend_from_slice(b"\r\n");
    }
}

/// Append `n` in decimal.
pub fn push_int(buf: &mut Vec<u8>, n: i64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    let mut v = n.unsigned_abs();
    loop {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if n < 0 {
        buf.push(b'-');
    }
    buf.extend_from_slice(&tmp[i..]);
}
