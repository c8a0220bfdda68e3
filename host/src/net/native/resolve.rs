//! Name lookup through the system resolver (`getaddrinfo`), keeping its
//! error codes apart so they map onto wasock's.

use std::ffi::CString;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::net::ErrorCode;

/// Resolve `name` with `getaddrinfo`, blocking the calling thread. Returns
/// the addresses in the resolver's order without duplicates.
pub fn getaddrinfo(name: &str) -> Result<Vec<IpAddr>, ErrorCode> {
    let c_name = CString::new(name).map_err(|_| ErrorCode::InvalidArgument)?;
    // SAFETY: zeroed addrinfo is the documented way to build hints.
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_family = libc::AF_UNSPEC;
    hints.ai_socktype = libc::SOCK_STREAM;
    let mut res: *mut libc::addrinfo = std::ptr::null_mut();
    // SAFETY: valid C string, valid hints, out-pointer to a list we free.
    let rc = unsafe { libc::getaddrinfo(c_name.as_ptr(), std::ptr::null(), &hints, &mut res) };
    if rc != 0 {
        return Err(match rc {
            libc::EAI_NONAME | libc::EAI_NODATA => ErrorCode::NameNotFound,
            libc::EAI_AGAIN => ErrorCode::TemporaryResolverFailure,
            libc::EAI_FAIL => ErrorCode::PermanentResolverFailure,
            libc::EAI_MEMORY => ErrorCode::NoBufferSpace,
            _ => ErrorCode::PermanentResolverFailure,
        });
    }
    let mut out = Vec::new();
    let mut cur = res;
    while !cur.is_null() {
        // SAFETY: `cur` is a node of the list getaddrinfo returned.
        let ai = unsafe { &*cur };
        let ip = if ai.ai_addr.is_null() {
            None
        } else if ai.ai_family == libc::AF_INET {
            // SAFETY: for AF_INET, ai_addr points to a sockaddr_in.
            let sin = unsafe { &*ai.ai_addr.cast::<libc::sockaddr_in>() };
            Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(
                sin.sin_addr.s_addr,
            ))))
        } else if ai.ai_family == libc::AF_INET6 {
            // SAFETY: for AF_INET6, ai_addr points to a sockaddr_in6.
            let sin6 = unsafe { &*ai.ai_addr.cast::<libc::sockaddr_in6>() };
            Some(IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr)))
        } else {
            None
        };
        if let Some(ip) = ip
            && !out.contains(&ip)
        {
            out.push(ip);
        }
        cur = ai.ai_next;
    }
    // SAFETY: `res` came from a successful getaddrinfo.
    unsafe { libc::freeaddrinfo(res) };
    if out.is_empty() {
        return Err(ErrorCode::NameNotFound);
    }
    Ok(out)
}
