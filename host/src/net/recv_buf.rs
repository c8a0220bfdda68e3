//! The buffer a provider receives into: it tracks how many bytes were
//! written, so that the count the runtime trusts can only come from bytes
//! really put there.

use std::mem::MaybeUninit;

/// A receive buffer: the unfilled part of a `Vec<u8>`, up to a limit (or,
/// inside this crate, of memory already initialised, such as a guest's
/// buffer: see
/// [`NetSocket::try_recv_into`](crate::net::NetSocket::try_recv_into)).
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
    room: Room<'a>,
    limit: usize,
}

/// Where a [`RecvBuf`]'s bytes go.
enum Room<'a> {
    /// Appended to a vector; its length counts what was written.
    Vec(&'a mut Vec<u8>),
    /// Written over memory that is already initialised (a guest's buffer),
    /// from its start; `filled` counts what was written.
    Initialised {
        mem: &'a mut [MaybeUninit<u8>],
        filled: usize,
    },
}

impl<'a> RecvBuf<'a> {
    /// A buffer that appends to `vec` until it holds `limit` bytes in all.
    /// The room is reserved when a provider first asks for it, so that a
    /// receive that finds nothing without a system call allocates nothing.
    pub fn new(vec: &'a mut Vec<u8>, limit: usize) -> RecvBuf<'a> {
        let limit = limit.max(vec.len());
        RecvBuf {
            room: Room::Vec(vec),
            limit,
        }
    }

    /// A buffer over `mem`, which is initialised, written from its start.
    ///
    /// # Safety
    ///
    /// Whatever writes through [`RecvBuf::unfilled`] must write initialised
    /// bytes only (as the system's receive calls do): `mem` stays
    /// initialised memory for its owner afterwards. So the buffer may be
    /// handed only to code known to do that, never to an arbitrary
    /// provider.
    pub(crate) unsafe fn over_initialised(mem: &'a mut [u8]) -> RecvBuf<'a> {
        let limit = mem.len();
        // SAFETY: `u8` and `MaybeUninit<u8>` have the same layout; the
        // caller promises that only initialised bytes are written through
        // the view, so `mem` is initialised again when the borrow ends.
        let mem = unsafe { &mut *(std::ptr::from_mut(mem) as *mut [MaybeUninit<u8>]) };
        RecvBuf {
            room: Room::Initialised { mem, filled: 0 },
            limit,
        }
    }

    /// Bytes that may still be written.
    pub fn remaining(&self) -> usize {
        self.limit - self.filled()
    }

    /// Bytes written so far (including any the vector held before).
    pub fn filled(&self) -> usize {
        match &self.room {
            Room::Vec(vec) => vec.len(),
            Room::Initialised { filled, .. } => *filled,
        }
    }

    /// Copy as much of `data` as fits; returns how much was copied.
    pub fn put(&mut self, data: &[u8]) -> usize {
        let n = data.len().min(self.remaining());
        match &mut self.room {
            Room::Vec(vec) => vec.extend_from_slice(&data[..n]),
            Room::Initialised { mem, filled } => {
                mem[*filled..*filled + n].write_copy_of_slice(&data[..n]);
                *filled += n;
            }
        }
        n
    }

    /// The unfilled space, for the system to write into (reserved now, if
    /// it was not yet).
    pub fn unfilled(&mut self) -> &mut [MaybeUninit<u8>] {
        let remaining = self.remaining();
        match &mut self.room {
            Room::Vec(vec) => {
                vec.reserve_exact(remaining);
                &mut vec.spare_capacity_mut()[..remaining]
            }
            Room::Initialised { mem, filled } => &mut mem[*filled..*filled + remaining],
        }
    }

    /// Count the first `n` bytes of [`RecvBuf::unfilled`] as filled.
    ///
    /// # Safety
    ///
    /// Those `n` bytes must have been initialised, and `n` must be at most
    /// [`RecvBuf::remaining`].
    pub unsafe fn assume_filled(&mut self, n: usize) {
        debug_assert!(n <= self.remaining());
        match &mut self.room {
            Room::Vec(vec) => {
                let len = vec.len() + n;
                // SAFETY: the caller promises that `n` more bytes past the
                // length are initialised and within the reserved capacity.
                unsafe { vec.set_len(len) };
            }
            Room::Initialised { filled, .. } => *filled += n,
        }
    }
}

/// Receive into `mem`, memory that is already initialised, with `recv`:
/// how many bytes it wrote, from the start of `mem`.
///
/// # Safety
///
/// `recv` must write into the buffer it is given only initialised bytes
/// (through [`RecvBuf::put`], or a system call's receive into
/// [`RecvBuf::unfilled`]): a provider's own receive, known to do that,
/// never an arbitrary one's.
pub(crate) unsafe fn recv_into_initialised<E>(
    mem: &mut [u8],
    recv: impl FnOnce(&mut RecvBuf<'_>) -> Result<(), E>,
) -> Result<usize, E> {
    // SAFETY: passed on to the caller.
    let mut room = unsafe { RecvBuf::over_initialised(mem) };
    recv(&mut room)?;
    Ok(room.filled())
}

#[cfg(test)]
mod tests {
    use super::RecvBuf;

    /// Over initialised memory, the buffer counts from the start of it and
    /// leaves what it did not write as it was.
    #[test]
    fn over_initialised_memory_counts_what_was_written() {
        let mut mem = *b"........";
        // SAFETY: only `put` and the writes below fill it, with bytes.
        let mut buf = unsafe { RecvBuf::over_initialised(&mut mem) };
        assert_eq!((buf.filled(), buf.remaining()), (0, 8));
        assert_eq!(buf.put(b"ab"), 2);
        let room = buf.unfilled();
        assert_eq!(room.len(), 6);
        room[0].write(b'c');
        room[1].write(b'd');
        // SAFETY: the two bytes were just written.
        unsafe { buf.assume_filled(2) };
        assert_eq!(buf.put(b"efghij"), 4);
        assert_eq!((buf.filled(), buf.remaining()), (8, 0));
        assert_eq!(&mem, b"abcdefgh");

        let mut mem = *b"........";
        // SAFETY: as above.
        let mut buf = unsafe { RecvBuf::over_initialised(&mut mem) };
        assert_eq!(buf.put(b"xy"), 2);
        assert_eq!(buf.filled(), 2);
        assert_eq!(&mem, b"xy......");
    }
}
