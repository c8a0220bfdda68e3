//! Receiving into the caller's buffer.
//!
//! `recv` returns a `list<u8>`. Under the canonical ABI the host asks the
//! component's allocator, `cabi_realloc`, for room and writes the bytes
//! there; a std-shaped `read(&mut buf)` would then copy them into `buf` and
//! free the list. This crate's `cabi_realloc` hands the host the caller's
//! buffer instead: a receive arms it with `buf` just before the call, the
//! one byte-aligned allocation the host makes during the call (the list's)
//! takes it, and it is disarmed after the call whatever happened. The bytes
//! then go from the host straight into `buf`, and a receive needs no second
//! buffer of its size in guest memory. Every other allocation, and a list
//! that would not fit, goes to the global allocator exactly as std's own
//! `cabi_realloc` (a weak symbol, which this one replaces) sends it; if the
//! linker kept std's instead, receives still work, copying.

use crate::Socket;
use crate::bindings::wasock::sockets::types::{ErrorCode, RecvFlags};

/// Receive at most `buf.len()` bytes on `sock` into `buf`; how many.
pub(crate) fn recv_into(
    sock: &Socket,
    buf: &mut [u8],
    flags: RecvFlags,
) -> Result<usize, ErrorCode> {
    #[cfg(all(target_arch = "wasm32", target_env = "p2"))]
    {
        in_place::recv(sock, buf, flags)
    }
    #[cfg(not(all(target_arch = "wasm32", target_env = "p2")))]
    {
        let data = sock.recv(buf.len() as u64, flags)?;
        let n = data.len().min(buf.len());
        buf[..n].copy_from_slice(&data[..n]);
        Ok(n)
    }
}

// The landing below is one per component: with threads, one thread's
// receive could take another's buffer.
#[cfg(all(target_arch = "wasm32", target_feature = "atomics"))]
compile_error!("the in-place receive assumes a single-threaded component");

#[cfg(all(target_arch = "wasm32", target_env = "p2"))]
mod in_place {
    use std::alloc::{Layout, alloc, dealloc, handle_alloc_error, realloc};
    use std::ptr;
    use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering::Relaxed};

    use super::{ErrorCode, RecvFlags, Socket};

    /// Where the next byte-aligned allocation may land, and its room.
    static LANDING: AtomicPtr<u8> = AtomicPtr::new(ptr::null_mut());
    static LANDING_LEN: AtomicUsize = AtomicUsize::new(0);

    // The import wit-bindgen's `Socket::recv` calls, declared here so that
    // the result can be read without taking ownership of its list:
    // `recv(self, max-len: u64, flags: recv-flags) -> result<list<u8>,
    // error-code>` lowers to (handle, max-len, flags, return area).
    #[link(wasm_import_module = "wasock:sockets/socket@0.1.0")]
    unsafe extern "C" {
        #[link_name = "[method]socket.recv"]
        fn socket_recv(handle: i32, max_len: i64, flags: i32, ret: *mut u8);
    }

    /// The return area of `recv`: the result's case at 0; at 4 the
    /// error-code, or the list's address and, at 8, its length.
    #[repr(C, align(4))]
    struct RecvResult([u8; 12]);

    impl RecvResult {
        fn word(&self, at: usize) -> usize {
            let b = &self.0[at..at + 4];
            u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize
        }
    }

    pub(super) fn recv(
        sock: &Socket,
        buf: &mut [u8],
        flags: RecvFlags,
    ) -> Result<usize, ErrorCode> {
        let dst = buf.as_mut_ptr();
        let mut ret = RecvResult([0; 12]);
        LANDING_LEN.store(buf.len(), Relaxed);
        LANDING.store(dst, Relaxed);
        // SAFETY: the handle is a live socket (borrowed for the call), the
        // return area is 12 bytes aligned to 4 as the ABI lays it out, and
        // `buf` (which the host may be handed as the list) is exclusively
        // borrowed for the whole call.
        unsafe {
            socket_recv(
                sock.handle() as i32,
                buf.len() as i64,
                i32::from(flags.bits()),
                ret.0.as_mut_ptr(),
            );
        }
        LANDING.store(ptr::null_mut(), Relaxed);
        if ret.0[0] != 0 {
            // SAFETY: the host wrote one of error-code's cases.
            return Err(unsafe { ErrorCode::_lift(ret.0[4]) });
        }
        let (list, len) = (ret.word(4) as *mut u8, ret.word(8));
        if list == dst {
            // Landed: the bytes are in `buf` already.
            return Ok(len.min(buf.len()));
        }
        let n = len.min(buf.len());
        // SAFETY: the list is `len` bytes the global allocator gave the
        // host through `cabi_realloc` (with alignment 1), now ours; it does
        // not overlap `buf`, which the host did not take.
        unsafe {
            ptr::copy_nonoverlapping(list, dst, n);
            if len != 0 {
                dealloc(list, Layout::from_size_align_unchecked(len, 1));
            }
        }
        Ok(n)
    }

    /// The component's allocator for what the host returns: the armed
    /// landing for the first fitting byte-aligned allocation, otherwise
    /// what std's `cabi_realloc` does.
    ///
    /// # Safety
    ///
    /// As `realloc`: `old_ptr` is null with `old_len` 0, or an allocation
    /// of `old_len` bytes at `align` from this function; `align` is a power
    /// of two. Only the canonical ABI calls it.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn cabi_realloc(
        old_ptr: *mut u8,
        old_len: usize,
        align: usize,
        new_len: usize,
    ) -> *mut u8 {
        if old_len == 0 && align == 1 {
            let landing = LANDING.swap(ptr::null_mut(), Relaxed);
            if !landing.is_null() && new_len <= LANDING_LEN.load(Relaxed) {
                return landing;
            }
        }
        let layout;
        // SAFETY: the caller's contract, as for std's `cabi_realloc`.
        let p = unsafe {
            if old_len == 0 {
                if new_len == 0 {
                    return align as *mut u8;
                }
                layout = Layout::from_size_align_unchecked(new_len, align);
                alloc(layout)
            } else {
                layout = Layout::from_size_align_unchecked(old_len, align);
                realloc(old_ptr, layout, new_len)
            }
        };
        if p.is_null() {
            handle_alloc_error(layout);
        }
        p
    }
}
