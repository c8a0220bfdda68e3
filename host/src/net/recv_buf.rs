//! The buffer a provider receives into: it tracks how many bytes were
//! written, so that the count the runtime trusts can only come from bytes
//! really put there.

use std::mem::MaybeUninit;

/// A receive buffer: the unfilled part of a `Vec<u8>`, up to a limit.
///
/// A provider fills it either by copying ([`RecvBuf::put`], safe) or by
/// letting the system write into [`RecvBuf::unfilled`] and then promising
/// what was written ([`RecvBuf::assume_filled`], `unsafe`). Either way the
/// vector's length only ever covers initialised bytes: a provider that
/// miscounts cannot make the runtime read uninitialised memory without
/// writing `unsafe` itself.
///
/// ```
/// use wasock_host::net::RecvBuf;
///
/// let mut v = Vec::new();
/// let mut buf = RecvBuf::new(&mut v, 4);
/// assert_eq!(buf.put(b"hello"), 4);
/// assert_eq!(buf.remaining(), 0);
/// assert_eq!(v, b"hell");
/// ```
pub struct RecvBuf<'a> {
    vec: &'a mut Vec<u8>,
    limit: usize,
}

impl<'a> RecvBuf<'a> {
    /// A buffer that appends to `vec` until it holds `limit` bytes in all.
    /// The room is reserved when a provider first asks for it, so that a
    /// receive that finds nothing without a system call allocates nothing.
    pub fn new(vec: &'a mut Vec<u8>, limit: usize) -> RecvBuf<'a> {
        let limit = limit.max(vec.len());
        RecvBuf { vec, limit }
    }

    /// Bytes that may still be written.
    pub fn remaining(&self) -> usize {
        self.limit - self.vec.len()
    }

    /// Bytes written so far (including any the vector held before).
    pub fn filled(&self) -> usize {
        self.vec.len()
    }

    /// Copy as much of `data` as fits; returns how much was copied.
    pub fn put(&mut self, data: &[u8]) -> usize {
        let n = data.len().min(self.remaining());
        self.vec.extend_from_slice(&data[..n]);
        n
    }

    /// The unfilled space, for the system to write into (reserved now, if
    /// it was not yet).
    pub fn unfilled(&mut self) -> &mut [MaybeUninit<u8>] {
        let remaining = self.remaining();
        self.vec.reserve_exact(remaining);
        &mut self.vec.spare_capacity_mut()[..remaining]
    }

    /// Count the first `n` bytes of [`RecvBuf::unfilled`] as filled.
    ///
    /// # Safety
    ///
    /// Those `n` bytes must have been initialised, and `n` must be at most
    /// [`RecvBuf::remaining`].
    pub unsafe fn assume_filled(&mut self, n: usize) {
        debug_assert!(n <= self.remaining());
        let len = self.vec.len() + n;
        // SAFETY: the caller promises that `n` more bytes past the length
        // are initialised and within the reserved capacity.
        unsafe { self.vec.set_len(len) };
    }
}
