//! Socket activation: the listening socket a service manager (systemd,
//! or anything that speaks its protocol) opened and passed to
//! `wasock serve` as descriptor 3, with `LISTEN_PID` and `LISTEN_FDS` in
//! the environment (sd_listen_fds(3)).

use std::net::TcpListener;
use std::os::fd::{FromRawFd, OwnedFd};

use socket2::{Socket, Type};

/// The first descriptor a service manager passes.
const FIRST: i32 = 3;

/// Why no passed socket could be taken.
#[derive(Debug, thiserror::Error)]
pub(super) enum ActivationError {
    /// Nothing was passed to this process.
    #[error(
        "no address to listen on: give --listen ADDR (e.g. --listen 127.0.0.1:8080), or start \
         wasock serve from a systemd socket unit, which passes the listening socket \
         ({0})"
    )]
    NotPassed(&'static str),
    /// More than one socket was passed.
    #[error(
        "the service manager passed {0} sockets (LISTEN_FDS={0}); wasock serve takes one: \
         give the socket unit one ListenStream= (or run one wasock serve per address)"
    )]
    Several(u32),
    /// The passed descriptor is not what serving needs.
    #[error(
        "descriptor 3, passed by the service manager, is not a listening TCP socket ({0}); \
         give the socket unit a ListenStream= with an IP address and port"
    )]
    NotAListener(String),
}

/// The listening socket passed to this process, taken once: the
/// environment says whether there is one (`LISTEN_PID` is this process,
/// `LISTEN_FDS` is 1), and the descriptor itself must be a listening
/// TCP socket.
pub(super) fn listener() -> Result<TcpListener, ActivationError> {
    let pid = std::env::var("LISTEN_PID").ok();
    let fds = std::env::var("LISTEN_FDS").ok();
    let (Some(pid), Some(fds)) = (pid, fds) else {
        return Err(ActivationError::NotPassed(
            "LISTEN_PID and LISTEN_FDS are not set",
        ));
    };
    if pid.trim().parse::<u32>().ok() != Some(std::process::id()) {
        return Err(ActivationError::NotPassed(
            "LISTEN_PID names another process: the sockets were passed to that one",
        ));
    }
    match fds.trim().parse::<u32>() {
        Ok(1) => {}
        Ok(0) | Err(_) => {
            return Err(ActivationError::NotPassed(
                "LISTEN_FDS says no socket was passed",
            ));
        }
        Ok(n) => return Err(ActivationError::Several(n)),
    }
    // Ask the system what descriptor 3 is before owning it: a closed
    // descriptor must not be wrapped.
    // SAFETY: fcntl(F_GETFD) on any integer only reads the descriptor
    // table; it fails with EBADF for one that is not open.
    if unsafe { libc::fcntl(FIRST, libc::F_GETFD) } < 0 {
        return Err(ActivationError::NotAListener("it is not open".into()));
    }
    // SAFETY: descriptor 3 is open (checked above), and by the protocol
    // checked above (LISTEN_PID is this process, LISTEN_FDS is 1) it was
    // passed for this process to own; nothing else in wasock opens or
    // takes it, and this function is called once, before any descriptor
    // is opened that could be given number 3 (serve calls it first).
    let sock = Socket::from(unsafe { OwnedFd::from_raw_fd(FIRST) });
    let not = ActivationError::NotAListener;
    match sock.r#type() {
        Ok(t) if t == Type::STREAM => {}
        Ok(_) => return Err(not("it is not a stream socket".into())),
        Err(e) => return Err(not(format!("it is not a socket: {e}"))),
    }
    if !sock.is_listener().map_err(|e| not(e.to_string()))? {
        return Err(not("it is not listening".into()));
    }
    match sock.local_addr().map(|a| a.as_socket()) {
        Ok(Some(_)) => {}
        Ok(None) => return Err(not("it is not an IPv4 or IPv6 socket".into())),
        Err(e) => return Err(not(e.to_string())),
    }
    // Passed without close-on-exec; nothing this process starts needs it.
    sock.set_cloexec(true).map_err(|e| not(e.to_string()))?;
    Ok(sock.into())
}
