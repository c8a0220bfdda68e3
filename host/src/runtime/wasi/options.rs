//! Socket options as wasi:sockets names them, over the socket layer's
//! option setting (which keeps the buffer budget). WASI clamps values the
//! system would refuse, and refuses only 0. Both WASI versions use these:
//! each function returns whichever WASI error type its caller does.

use std::time::Duration;

use super::shared::{LayerError, Shared};
use crate::net::{ErrorCode, OptionName, SockOption};
use crate::runtime::socket::options::set_net;

/// Longest keep-alive idle time or interval Linux accepts, in seconds.
const MAX_KEEPALIVE_SECS: u64 = 32767;

/// Largest buffer size the system takes.
const MAX_BUFFER: u64 = i32::MAX as u64;

fn get<E: LayerError>(shared: &Shared, name: OptionName) -> Result<SockOption, E> {
    Ok(shared.lock()?.sock.net.get_option(name)?)
}

fn set<E: LayerError>(shared: &Shared, option: SockOption) -> Result<(), E> {
    Ok(set_net(&mut shared.lock()?.sock, option)?)
}

/// A WASI duration as whole keep-alive seconds: 0 is `invalid-argument`,
/// anything else is rounded up and clamped to what the system takes.
fn keepalive_seconds(nanos: u64) -> Result<Duration, ErrorCode> {
    if nanos == 0 {
        return Err(ErrorCode::InvalidArgument);
    }
    let secs = nanos.div_ceil(1_000_000_000).clamp(1, MAX_KEEPALIVE_SECS);
    Ok(Duration::from_secs(secs))
}

/// A duration in WASI's nanoseconds.
fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

pub(crate) fn keep_alive<E: LayerError>(shared: &Shared) -> Result<bool, E> {
    match get::<E>(shared, OptionName::KeepAlive)? {
        SockOption::KeepAlive(on) => Ok(on),
        _ => Err(ErrorCode::Unknown.into()),
    }
}

pub(crate) fn set_keep_alive<E: LayerError>(shared: &Shared, on: bool) -> Result<(), E> {
    set(shared, SockOption::KeepAlive(on))
}

/// The keep-alive idle time, in nanoseconds.
pub(crate) fn keep_alive_idle<E: LayerError>(shared: &Shared) -> Result<u64, E> {
    match get::<E>(shared, OptionName::KeepAliveIdle)? {
        SockOption::KeepAliveIdle(d) => Ok(nanos(d)),
        _ => Err(ErrorCode::Unknown.into()),
    }
}

/// Set the keep-alive idle time from nanoseconds (see `keepalive_seconds`).
pub(crate) fn set_keep_alive_idle<E: LayerError>(shared: &Shared, value: u64) -> Result<(), E> {
    set(shared, SockOption::KeepAliveIdle(keepalive_seconds(value)?))
}

/// The keep-alive interval, in nanoseconds.
pub(crate) fn keep_alive_interval<E: LayerError>(shared: &Shared) -> Result<u64, E> {
    match get::<E>(shared, OptionName::KeepAliveInterval)? {
        SockOption::KeepAliveInterval(d) => Ok(nanos(d)),
        _ => Err(ErrorCode::Unknown.into()),
    }
}

/// Set the keep-alive interval from nanoseconds.
pub(crate) fn set_keep_alive_interval<E: LayerError>(shared: &Shared, value: u64) -> Result<(), E> {
    set(
        shared,
        SockOption::KeepAliveInterval(keepalive_seconds(value)?),
    )
}

pub(crate) fn keep_alive_count<E: LayerError>(shared: &Shared) -> Result<u32, E> {
    match get::<E>(shared, OptionName::KeepAliveCount)? {
        SockOption::KeepAliveCount(n) => Ok(n),
        _ => Err(ErrorCode::Unknown.into()),
    }
}

/// Set the keep-alive probe count: 0 is `invalid-argument`; Linux takes 1
/// to 127, and WASI clamps rather than fails.
pub(crate) fn set_keep_alive_count<E: LayerError>(shared: &Shared, value: u32) -> Result<(), E> {
    if value == 0 {
        return Err(ErrorCode::InvalidArgument.into());
    }
    set(shared, SockOption::KeepAliveCount(value.min(127)))
}

pub(crate) fn hop_limit<E: LayerError>(shared: &Shared) -> Result<u8, E> {
    match get::<E>(shared, OptionName::UnicastHopLimit)? {
        SockOption::UnicastHopLimit(h) => Ok(h),
        _ => Err(ErrorCode::Unknown.into()),
    }
}

pub(crate) fn set_hop_limit<E: LayerError>(shared: &Shared, value: u8) -> Result<(), E> {
    if value == 0 {
        return Err(ErrorCode::InvalidArgument.into());
    }
    set(shared, SockOption::UnicastHopLimit(value))
}

pub(crate) fn buffer_size<E: LayerError>(shared: &Shared, name: OptionName) -> Result<u64, E> {
    match get::<E>(shared, name)? {
        SockOption::ReceiveBufferSize(n) | SockOption::SendBufferSize(n) => Ok(n),
        _ => Err(ErrorCode::Unknown.into()),
    }
}

/// Set a buffer size. WASI promises no error for any size but 0, so a size
/// past what the instance's buffer budget has left is clamped to it, as
/// one past the system's maximum is.
pub(crate) fn set_buffer_size<E: LayerError>(
    shared: &Shared,
    name: OptionName,
    value: u64,
) -> Result<(), E> {
    if value == 0 {
        return Err(ErrorCode::InvalidArgument.into());
    }
    let mut inner = shared.lock()?;
    let sock = &mut inner.sock;
    let (rcv, snd) = sock.buffers_asked;
    let other = if name == OptionName::SendBufferSize {
        rcv
    } else {
        snd
    };
    let room = sock.buffers.room().saturating_sub(other);
    let value = value.min(MAX_BUFFER).min(room);
    // Nothing left in the budget: clamped to nothing more, the socket keeps
    // the size it has (the system's default, or what it was given before).
    if value == 0 {
        return Ok(());
    }
    let option = match name {
        OptionName::SendBufferSize => SockOption::SendBufferSize(value),
        _ => SockOption::ReceiveBufferSize(value),
    };
    Ok(set_net(sock, option)?)
}
