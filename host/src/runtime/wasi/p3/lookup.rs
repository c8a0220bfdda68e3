//! `wasi:sockets/ip-name-lookup@0.3`: the same checked path as every other
//! name lookup (IP literals, the policy's `resolve` grants, pinned names,
//! the instance's lookups in flight), as an async function.

use wasmtime::component::Accessor;
use wasmtime_wasi::runtime::with_ambient_tokio_runtime;

use super::WasiSockets;
use super::addrs::ip_from_std;
use crate::net::ErrorCode;
use crate::runtime::bindings::wasi_sockets_0_3::wasi::sockets::ip_name_lookup::{
    ErrorCode as Code, Host, HostWithStore,
};
use crate::runtime::bindings::wasi_sockets_0_3::wasi::sockets::types::IpAddress;
use crate::runtime::ctx::WasockCtxView;
use crate::runtime::lookup::{Lookup, start_lookup};

/// WASI's code for a wasock lookup error.
fn wasi_error(e: ErrorCode) -> Code {
    match e {
        ErrorCode::NameNotFound => Code::NameUnresolvable,
        ErrorCode::TemporaryResolverFailure => Code::TemporaryResolverFailure,
        ErrorCode::AccessDenied => Code::AccessDenied,
        ErrorCode::InvalidArgument => Code::InvalidArgument,
        _ => Code::PermanentResolverFailure,
    }
}

impl Host for WasockCtxView<'_> {}

impl<T: Send + 'static> HostWithStore<T> for WasiSockets {
    async fn resolve_addresses(
        store: &Accessor<T, Self>,
        name: String,
    ) -> wasmtime::Result<Result<Vec<IpAddress>, Code>> {
        let started = store.with(|mut access| start_lookup(access.get().ctx, &name));
        let answer = match started {
            Err(e) => Err(e),
            Ok(Lookup::Ready(ips)) => Ok(ips),
            // The lookup runs to its end even if the guest cancels this
            // call: the system resolver's thread cannot be stopped, and the
            // lookup counts against the instance's lookups in flight until
            // it is done.
            Ok(pending) => with_ambient_tokio_runtime(|| tokio::spawn(pending.finish()))
                .await
                .unwrap_or(Err(ErrorCode::PermanentResolverFailure)),
        };
        Ok(answer
            .map(|ips| {
                ips.into_iter()
                    .map(|ip| ip_from_std(ip.to_canonical()))
                    .collect()
            })
            .map_err(wasi_error))
    }
}
