//! Socket activation: the listening socket a service manager (systemd,
//! or anything that speaks its protocol) opened and passed to
//! `wasock serve` as descriptor 3, with `LISTEN_PID` and `LISTEN_FDS` in
//! the environment (sd_listen_fds(3)).

use std::net::TcpListener;
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};

use socket2::{Socket, Type};

/// The first descriptor a service manager passes.
const FIRST: i32 = 3;

/// Whether descriptor 3 was taken already: it is taken at most once per
/// process, so a second server in the same process (an embedder calling
/// [`super::execute`] twice) never takes a descriptor the first one's
/// closing freed for something else.
static TAKEN: AtomicBool = AtomicBool::new(false);

/// Why no passed socket could be taken.
#[derive(Debug, thiserror::Error)]
pub(super) enum ActivationError {
    /// Nothing was passed to this process.
    #[error(
        "no address to listen on: give --listen ADDR (e.g. --listen 127.0.0.1:8080), or start \
         wasock serve from a systemd socket unit, which passes the listening socket ({0})"
    )]
    NotPassed(String),
    /// More than one socket was passed.
    #[error(
        "the service manager passed {0} sockets (LISTEN_FDS={0}); wasock serve takes one: give \
         the socket unit one ListenStream= (a port alone, ListenStream=8080, is one socket for \
         IPv4 and IPv6), or run one wasock serve per socket"
    )]
    Several(u32),
    /// The passed descriptor is not what serving needs.
    #[error("descriptor 3, passed by the service manager, is not a listening TCP socket: {0}")]
    NotAListener(String),
}

/// The listening socket passed to this process, taken once: the
/// environment says whether there is one (`LISTEN_PID` is this process,
/// `LISTEN_FDS` is 1), and the descriptor itself must have been inherited
/// (not opened by this process) and be a listening TCP socket.
pub(super) fn listener() -> Result<TcpListener, ActivationError> {
    let var = |name: &str| std::env::var(name).ok();
    let not_passed = |why: String| Err(ActivationError::NotPassed(why));
    let (pid, fds) = match (var("LISTEN_PID"), var("LISTEN_FDS")) {
        (Some(pid), Some(fds)) => (pid, fds),
        (None, None) => return not_passed("LISTEN_PID and LISTEN_FDS are not set".into()),
        (None, Some(_)) => return not_passed("LISTEN_FDS is set, LISTEN_PID is not".into()),
        (Some(_), None) => return not_passed("LISTEN_PID is set, LISTEN_FDS is not".into()),
    };
    let me = std::process::id();
    if pid.trim().parse::<u32>().ok() != Some(me) {
        return not_passed(format!(
            "LISTEN_PID={pid} is not this process ({me}): the socket went to the process the \
             manager started; if that is a script, have it `exec wasock serve ...`"
        ));
    }
    match fds.trim().parse::<u32>() {
        Ok(1) => {}
        Ok(0) => return not_passed("LISTEN_FDS=0: no socket was passed".into()),
        Ok(n) => return Err(ActivationError::Several(n)),
        Err(_) => return not_passed(format!("LISTEN_FDS={fds} is not a number")),
    }
    let not = ActivationError::NotAListener;
    if TAKEN.swap(true, Ordering::SeqCst) {
        return Err(not("it was taken already by this process".into()));
    }
    // SAFETY: fcntl(F_GETFD) on any integer only reads the descriptor
    // table; it fails with EBADF for one that is not open.
    let flags = unsafe { libc::fcntl(FIRST, libc::F_GETFD) };
    if flags < 0 {
        return Err(not("it is not open".into()));
    }
    // Whatever this process opens (std, tokio, wasmtime) is close-on-exec;
    // a descriptor passed across exec is not.
    if flags & libc::FD_CLOEXEC != 0 {
        return Err(not(
            "this process opened it itself (it is close-on-exec), so it was not passed".into(),
        ));
    }
    // SAFETY: descriptor 3 is open and was inherited across exec (not
    // close-on-exec, so nothing in this process opened it), and by the
    // protocol checked above (LISTEN_PID is this process, LISTEN_FDS is
    // 1) it was passed for this process to own. It is taken once (TAKEN),
    // and nothing else in wasock takes descriptors it did not open.
    let sock = Socket::from(unsafe { OwnedFd::from_raw_fd(FIRST) });
    match sock.r#type() {
        Ok(t) if t == Type::STREAM => {}
        Ok(_) => return Err(not("it is not a stream socket".into())),
        Err(e) => return Err(not(format!("it is not a socket ({e})"))),
    }
    match sock.local_addr().map(|a| a.as_socket()) {
        Ok(Some(_)) => {}
        Ok(None) => return Err(not("it is not an IPv4 or IPv6 socket".into())),
        Err(e) => return Err(not(e.to_string())),
    }
    if !sock.is_listener().map_err(|e| not(e.to_string()))? {
        return Err(not(if sock.peer_addr().is_ok() {
            "it is a connection: a socket unit with Accept=yes passes each connection; wasock \
             serve takes the listener, which Accept=no (the default) passes"
                .into()
        } else {
            "it is not listening; give the socket unit a ListenStream= with a port".into()
        }));
    }
    // Passed without close-on-exec; nothing this process starts needs it.
    sock.set_cloexec(true).map_err(|e| not(e.to_string()))?;
    Ok(sock.into())
}
