//! Socket options: checked here for type and range, then kept (timeouts)
//! or passed to the provider.

use super::{GuestSocket, State};
use crate::net::{ErrorCode, Family, SockOption};
use crate::runtime::bindings::wasock::sockets::types as wit;
use crate::runtime::convert::{
    Setting, name_of, option_applies_to, option_from_net, option_name, setting, timeout_option,
};

fn check_applies(sock: &GuestSocket, name: wit::OptionName) -> Result<(), ErrorCode> {
    if let Some(only) = option_applies_to(name)
        && only != sock.socket_type
    {
        return Err(ErrorCode::ProtocolOptionNotSupported);
    }
    if name == wit::OptionName::Ipv6Only && sock.family != Family::Ipv6 {
        return Err(ErrorCode::AddressFamilyNotSupported);
    }
    Ok(())
}

pub(crate) fn set(sock: &mut GuestSocket, value: wit::SocketOption) -> Result<(), ErrorCode> {
    check_applies(sock, name_of(&value))?;
    match setting(value)? {
        Setting::ReceiveTimeout(t) => sock.recv_timeout = t,
        Setting::SendTimeout(t) => sock.send_timeout = t,
        Setting::Net(option) => set_net(sock, option)?,
    }
    Ok(())
}

/// Set a provider option whose type and range are checked: buffer sizes
/// are held to the instance's buffer budget, and `ipv6-only` changes only
/// before the socket is bound.
pub(crate) fn set_net(sock: &mut GuestSocket, option: SockOption) -> Result<(), ErrorCode> {
    if matches!(option, SockOption::Ipv6Only(_)) && sock.state != State::Unbound {
        return Err(ErrorCode::InvalidArgument);
    }
    let asked = match option {
        SockOption::ReceiveBufferSize(n) => Some((n, sock.buffers_asked.1)),
        SockOption::SendBufferSize(n) => Some((sock.buffers_asked.0, n)),
        _ => None,
    };
    let Some((rcv, snd)) = asked else {
        return sock.net.set_option(option);
    };
    let held = sock.buffers.amount();
    if !sock.buffers.resize(rcv.saturating_add(snd)) {
        return Err(ErrorCode::NoBufferSpace);
    }
    if let Err(e) = sock.net.set_option(option) {
        sock.buffers.resize(held);
        return Err(e);
    }
    sock.buffers_asked = (rcv, snd);
    Ok(())
}

pub(crate) fn get(
    sock: &GuestSocket,
    name: wit::OptionName,
) -> Result<wit::SocketOption, ErrorCode> {
    check_applies(sock, name)?;
    match option_name(name) {
        Some(n) => Ok(option_from_net(sock.net.get_option(n)?)),
        None => Ok(timeout_option(
            name,
            match name {
                wit::OptionName::SendTimeout => sock.send_timeout,
                _ => sock.recv_timeout,
            },
        )),
    }
}
