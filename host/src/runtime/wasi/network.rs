//! `wasi:sockets/network` and `instance-network`: the network capability
//! and address conversions (the address checks the WASI documentation asks
//! for are `super::addr`'s, shared with WASI 0.3).

use wasmtime::component::Resource;
use wasmtime_wasi::p2::IoError;

use super::error::{WasiError, WasiResult, to_wasi};
use crate::net::ErrorCode;
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

super::addr::address_conversions!();
