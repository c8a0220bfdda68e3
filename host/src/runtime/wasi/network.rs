//! `wasi:sockets/network` and `instance-network`: the network capability,
//! address conversions, and the address checks the WASI documentation
//! asks for before an address reaches the socket layer.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use wasmtime::component::Resource;
use wasmtime_wasi::p2::IoError;

use super::error::{WasiError, WasiResult, to_wasi};
use crate::net::{ErrorCode, Family};
use crate::runtime::bindings::wasi_sockets::wasi::sockets::{instance_network, network};
use crate::runtime::ctx::WasockCtxView;
use network::{
    ErrorCode as Code, IpAddress, IpAddressFamily, IpSocketAddress, Ipv4SocketAddress,
    Ipv6SocketAddress,
};

/// The `network` resource: the capability to use the instance's network.
/// Every instance has one network, the provider's, behind the policy; the
/// handle only proves the guest was given it.
pub struct Network;

impl network::Host for WasockCtxView<'_> {
    fn convert_error_code(&mut self, err: WasiError) -> wasmtime::Result<Code> {
        err.into_result()
    }

    fn network_error_code(&mut self, err: Resource<IoError>) -> wasmtime::Result<Option<Code>> {
        let err = self.table.get(&err)?;
        Ok(err.downcast_ref::<ErrorCode>().map(|e| to_wasi(*e)))
    }
}

impl network::HostNetwork for WasockCtxView<'_> {
    fn drop(&mut self, this: Resource<Network>) -> wasmtime::Result<()> {
        self.table.delete(this)?;
        Ok(())
    }
}

impl instance_network::Host for WasockCtxView<'_> {
    fn instance_network(&mut self) -> wasmtime::Result<Resource<Network>> {
        Ok(self.table.push(Network)?)
    }
}

/// Check that `network` is a live network handle of this instance.
pub(crate) fn check_network(
    view: &WasockCtxView<'_>,
    network: &Resource<Network>,
) -> WasiResult<()> {
    view.table.get(network)?;
    Ok(())
}

pub(crate) fn family_to_net(f: IpAddressFamily) -> Family {
    match f {
        IpAddressFamily::Ipv4 => Family::Ipv4,
        IpAddressFamily::Ipv6 => Family::Ipv6,
    }
}

pub(crate) fn family_from_net(f: Family) -> IpAddressFamily {
    match f {
        Family::Ipv4 => IpAddressFamily::Ipv4,
        Family::Ipv6 => IpAddressFamily::Ipv6,
    }
}

pub(crate) fn ip_from_std(ip: IpAddr) -> IpAddress {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            IpAddress::Ipv4((a, b, c, d))
        }
        IpAddr::V6(v6) => {
            let [a, b, c, d, e, f, g, h] = v6.segments();
            IpAddress::Ipv6((a, b, c, d, e, f, g, h))
        }
    }
}

pub(crate) fn addr_to_std(addr: IpSocketAddress) -> SocketAddr {
    match addr {
        IpSocketAddress::Ipv4(a) => {
            let (w, x, y, z) = a.address;
            SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(w, x, y, z), a.port))
        }
        IpSocketAddress::Ipv6(a) => {
            let (s0, s1, s2, s3, s4, s5, s6, s7) = a.address;
            SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::new(s0, s1, s2, s3, s4, s5, s6, s7),
                a.port,
                a.flow_info,
                a.scope_id,
            ))
        }
    }
}

pub(crate) fn addr_from_std(addr: SocketAddr) -> IpSocketAddress {
    match addr {
        SocketAddr::V4(a) => {
            let [w, x, y, z] = a.ip().octets();
            IpSocketAddress::Ipv4(Ipv4SocketAddress {
                port: a.port(),
                address: (w, x, y, z),
            })
        }
        SocketAddr::V6(a) => {
            let [s0, s1, s2, s3, s4, s5, s6, s7] = a.ip().segments();
            IpSocketAddress::Ipv6(Ipv6SocketAddress {
                port: a.port(),
                flow_info: a.flowinfo(),
                address: (s0, s1, s2, s3, s4, s5, s6, s7),
                scope_id: a.scope_id(),
            })
        }
    }
}

/// Whether `ip` names one host: not multicast, not the IPv4 broadcast.
fn is_unicast(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => !v4.is_multicast() && !v4.is_broadcast(),
        IpAddr::V6(v6) => !v6.is_multicast(),
    }
}

/// An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`), which WASI refuses:
/// its sockets are IPv6-only.
fn is_v4_mapped(ip: IpAddr) -> bool {
    matches!(ip, IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some())
}

/// The checks every address a WASI socket is given passes first: its
/// family is the socket's, and it is not IPv4-mapped (`invalid-argument`).
fn check_address(family: Family, addr: SocketAddr) -> Result<(), Code> {
    if Family::of(&addr) != family || is_v4_mapped(addr.ip()) {
        return Err(Code::InvalidArgument);
    }
    Ok(())
}

/// A local address for `start-bind`: of the socket's family, unicast, not
/// IPv4-mapped.
pub(crate) fn local_address(family: Family, addr: IpSocketAddress) -> Result<SocketAddr, Code> {
    let addr = addr_to_std(addr);
    check_address(family, addr)?;
    if !is_unicast(addr.ip()) {
        return Err(Code::InvalidArgument);
    }
    Ok(addr)
}

/// A remote address for `start-connect`, `stream` or `send`: of the
/// socket's family, not IPv4-mapped, a unicast host, not the unspecified
/// address, not port 0.
pub(crate) fn remote_address(family: Family, addr: IpSocketAddress) -> Result<SocketAddr, Code> {
    let addr = addr_to_std(addr);
    check_address(family, addr)?;
    if !is_unicast(addr.ip()) || addr.ip().is_unspecified() || addr.port() == 0 {
        return Err(Code::InvalidArgument);
    }
    Ok(addr)
}
