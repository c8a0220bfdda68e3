//! `fcntl(fd, F_SETFL, O_NONBLOCK)` for sockets, which the C library of
//! Rust 1.95's `wasm32-wasip2` target lacks.
//!
//! mio (1.2.5) makes every accepted socket non-blocking with
//! `fcntl(fd, F_SETFL, O_NONBLOCK)`. The wasi-libc that Rust 1.95 links
//! into `wasm32-wasip2` programs (wasi-sdk 30) implements `F_SETFL` only for
//! files: on a socket it fails with `EINVAL` (WebAssembly/wasi-libc#536,
//! fixed by #742 in wasi-sdk 31), so tokio's `TcpListener::accept` fails
//! with "Invalid argument" *after* the host accepted, and mio closes the
//! connection. The build script links with `--wrap=fcntl`, so every call
//! to `fcntl` comes here first: a `F_SETFL` that wasi-libc refuses with
//! `EINVAL` is retried as `ioctl(fd, FIONBIO, ..)`, which wasi-libc does
//! implement for sockets; every other call goes to wasi-libc unchanged.
//! Once Rust's `wasm32-wasip2` ships wasi-sdk 31 or later, this module and
//! the build script can go.

use std::ffi::c_int;

unsafe extern "C" {
    /// wasi-libc's own `fcntl` (the linker's name for it under `--wrap`).
    fn __real_fcntl(fd: c_int, cmd: c_int, ...) -> c_int;
}

/// Every `fcntl` call of the program, wasi-libc's included.
///
/// On `wasm32` a C variadic call passes its variable arguments in memory
/// and a pointer to them as one last parameter; `fcntl`'s third argument,
/// when there is one, is an `int` (or a pointer, also 32 bits), the first
/// thing there.
///
/// # Safety
///
/// As for `fcntl`: `args` points to the one argument the commands that
/// take one are given.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __wrap_fcntl(fd: c_int, cmd: c_int, args: *const c_int) -> c_int {
    match cmd {
        libc::F_GETFD | libc::F_GETFL => {
            // SAFETY: these commands take no argument.
            unsafe { __real_fcntl(fd, cmd) }
        }
        _ => {
            // SAFETY: every other command takes one 32-bit argument, which
            // the caller put where `args` points.
            let arg = unsafe { args.read() };
            // SAFETY: the caller's arguments, passed on.
            let r = unsafe { __real_fcntl(fd, cmd, arg) };
            if r == -1 && cmd == libc::F_SETFL && errno() == libc::EINVAL {
                let mut on: c_int = c_int::from(arg & libc::O_NONBLOCK != 0);
                // SAFETY: FIONBIO reads one `int` through the pointer.
                if unsafe { libc::ioctl(fd, libc::FIONBIO, &mut on as *mut c_int) } == 0 {
                    return 0;
                }
                set_errno(libc::EINVAL);
            }
            r
        }
    }
}

fn errno() -> c_int {
    // SAFETY: wasi-libc's errno location is always valid.
    unsafe { *libc::__errno_location() }
}

fn set_errno(e: c_int) {
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = e }
}
