//! Socket options as wasi:sockets names them, over the socket layer's
//! option setting (which keeps the buffer budget). WASI clamps values the
//! system would refuse, and refuses only 0.

use std::time::Duration;

use super::error::WasiResult;
use super::shared::Shared;
use crate::net::{OptionName, SockOption};
use crate::runtime::bindings::wasi_sockets::wasi::sockets::network::ErrorCode as Code;
use crate::runtime::socket::options::set_net;

/// Longest keep-alive idle time or interval Linux accepts, in seconds.
const MAX_KEEPALIVE_SECS: u64 = 32767;

/// Largest buffer size the system takes.
const MAX_BUFFER: u64 = i32::MAX as u64;

pub(crate) fn get(shared: &Shared, name: OptionName) -> WasiResult<SockOption> {
    Ok(shared.lock()?.sock.net.get_option(name)?)
}

pub(crate) fn set(shared: &Shared, option: SockOption) -> WasiResult<()> {
    Ok(set_net(&mut shared.lock()?.sock, option)?)
}

/// A WASI duration as whole keep-alive seconds: 0 is `invalid-argument`,
/// anything else is rounded up and clamped to what the system takes.
pub(crate) fn keepalive_seconds(nanos: u64) -> WasiResult<Duration> {
    if nanos == 0 {
        return Err(Code::InvalidArgument.into());
    }
    let secs = nanos.div_ceil(1_000_000_000).clamp(1, MAX_KEEPALIVE_SECS);
    Ok(Duration::from_secs(secs))
}

/// A duration in WASI's nanoseconds.
pub(crate) fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

pub(crate) fn hop_limit(shared: &Shared) -> WasiResult<u8> {
    match get(shared, OptionName::UnicastHopLimit)? {
        SockOption::UnicastHopLimit(h) => Ok(h),
        _ => Err(Code::Unknown.into()),
    }
}

pub(crate) fn set_hop_limit(shared: &Shared, value: u8) -> WasiResult<()> {
    if value == 0 {
        return Err(Code::InvalidArgument.into());
    }
    set(shared, SockOption::UnicastHopLimit(value))
}

pub(crate) fn buffer_size(shared: &Shared, name: OptionName) -> WasiResult<u64> {
    match get(shared, name)? {
        SockOption::ReceiveBufferSize(n) | SockOption::SendBufferSize(n) => Ok(n),
        _ => Err(Code::Unknown.into()),
    }
}

/// Set a buffer size. WASI promises no error for any size but 0, so a size
/// past what the instance's buffer budget has left is clamped to it, as
/// one past the system's maximum is.
pub(crate) fn set_buffer_size(shared: &Shared, name: OptionName, value: u64) -> WasiResult<()> {
    if value == 0 {
        return Err(Code::InvalidArgument.into());
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
    let value = value.min(MAX_BUFFER).min(room).max(1);
    let option = match name {
        OptionName::SendBufferSize => SockOption::SendBufferSize(value),
        _ => SockOption::ReceiveBufferSize(value),
    };
    Ok(set_net(sock, option)?)
}
