//! Calling a connection handler's `handle` with the connection the host
//! accepted: directly with the host's socket, or, for a handler composed on
//! provider layers, with the socket the nearest layer makes of it (taken
//! down the layers through `wasock:sockets/handoff`).

use std::net::SocketAddr;

use anyhow::Context as _;
use wasmtime::Store;
use wasmtime::component::{Component, ComponentExportIndex, InstancePre, Resource, ResourceAny};

use super::bindings::WasockHostPre;
use super::bindings::wasock::sockets::types::{ErrorCode, SocketAddress};
use super::convert::addr_from_std;
use super::exit::GuestExit;
use super::handoff::Handoff;
use super::socket::GuestSocket;
use super::state::HostState;

pub(crate) const HANDLER: &str = "wasock:sockets/handler@0.1.0";
/// The export through which a composition's nearest provider layer takes
/// the connection `wasock serve` accepted (`wit/handoff.wit`).
pub const HANDOFF_EXPORT: &str = "wasock:sockets/handoff@0.1.0";

/// A prepared connection handler and how to reach it.
pub(crate) enum Handler {
    /// The handler's sockets are the host's.
    Direct(WasockHostPre<HostState>),
    /// The handler runs on provider layers: its sockets are the nearest
    /// layer's, which exports `handoff`.
    Layered {
        pre: InstancePre<HostState>,
        take: ComponentExportIndex,
        handle: ComponentExportIndex,
    },
}

/// What a component that `serve` cannot run is missing, and how to build
/// one it can.
const NOT_A_HANDLER: &str = "the component is not a connection handler: it must export \
    wasock:sockets/handler (in Rust, `wasock::export_connection_handler!`; in C, a \
    `wasock_handle` function built with `wasock-cc --handler`)";

/// The index of `name` inside the exported instance `instance`.
fn export(
    component: &Component,
    instance: &str,
    name: &str,
) -> anyhow::Result<ComponentExportIndex> {
    let outer = component
        .get_export_index(None, instance)
        .with_context(|| format!("the component does not export {instance}"))?;
    component
        .get_export_index(Some(&outer), name)
        .with_context(|| format!("the component's {instance} has no `{name}`"))
}

impl Handler {
    /// Prepare `component`, pre-instantiated as `pre`.
    pub(crate) fn new(
        component: &Component,
        pre: InstancePre<HostState>,
    ) -> anyhow::Result<Handler> {
        if component.get_export_index(None, HANDOFF_EXPORT).is_none() {
            let pre = WasockHostPre::new(pre)
                .map_err(anyhow::Error::from)
                .context(NOT_A_HANDLER)?;
            return Ok(Handler::Direct(pre));
        }
        let handle = export(component, HANDLER, "handle").context(NOT_A_HANDLER)?;
        let take = export(component, HANDOFF_EXPORT, "take-connection")?;
        Ok(Handler::Layered { pre, take, handle })
    }

    /// Instantiate in `store` and hand the handler `conn` from `peer`.
    pub(crate) async fn call(
        &self,
        store: &mut Store<HostState>,
        conn: Resource<GuestSocket>,
        peer: SocketAddr,
    ) -> GuestExit {
        let result = match self {
            Handler::Direct(pre) => {
                let handler = match pre.instantiate_async(&mut *store).await {
                    Ok(h) => h,
                    Err(e) => return GuestExit::Trapped(e),
                };
                handler
                    .wasock_sockets_handler()
                    .call_handle(&mut *store, conn, addr_from_std(peer))
                    .await
            }
            Handler::Layered { pre, take, handle } => {
                store.data_mut().wasock.handoff = Some(Handoff { socket: conn, peer });
                return layered(store, pre, take, handle)
                    .await
                    .unwrap_or_else(GuestExit::Trapped);
            }
        };
        result.map_or_else(GuestExit::Trapped, handled)
    }
}

/// How a handler's call ended, from what it returned. The handler
/// interface (`wit/worlds.wit`) names the codes that say the peer left.
fn handled(result: Result<(), ErrorCode>) -> GuestExit {
    match result {
        Ok(()) => GuestExit::Exited(0),
        Err(
            code @ (ErrorCode::ConnectionReset
            | ErrorCode::ConnectionAborted
            | ErrorCode::NotConnected),
        ) => GuestExit::PeerLeft(code.name()),
        Err(code) => GuestExit::HandlerFailed(code.name()),
    }
}

/// The layered call: the nearest layer takes the connection (each layer
/// from the one below it, the lowest from the host), then the handler gets
/// the layer's socket. A layer that refuses the connection ends the call
/// before any handler runs.
async fn layered(
    store: &mut Store<HostState>,
    pre: &InstancePre<HostState>,
    take: &ComponentExportIndex,
    handle: &ComponentExportIndex,
) -> wasmtime::Result<GuestExit> {
    let instance = pre.instantiate_async(&mut *store).await?;
    let take = instance.get_typed_func::<(), (Result<(ResourceAny, SocketAddress), ErrorCode>,)>(
        &mut *store,
        take,
    )?;
    let (taken,) = take.call_async(&mut *store, ()).await?;
    let (socket, peer) = match taken {
        Ok(t) => t,
        Err(code) => {
            // `not-supported` is what handoff.wit has a provider with a
            // network of its own answer; other codes are the layer's
            // failures, passed on as they are.
            let why = if code == ErrorCode::NotSupported {
                "; a provider that does not pass the host's connections through (such as \
                 an in-memory network) cannot serve"
            } else {
                ""
            };
            return Ok(GuestExit::NotHandedOver(format!(
                "the provider refused to take it ({}){why}",
                code.name()
            )));
        }
    };
    let handle = instance
        .get_typed_func::<(ResourceAny, SocketAddress), (Result<(), ErrorCode>,)>(
            &mut *store,
            handle,
        )?;
    let (result,) = handle.call_async(&mut *store, (socket, peer)).await?;
    Ok(handled(result))
}
