//! Host bindings generated from `wit/`. Never edited by hand.

#![allow(missing_docs)]

wasmtime::component::bindgen!({
    path: "../wit",
    world: "wasock:sockets/connection-handler",
    imports: {
        "wasock:sockets/socket.[method]socket.accept": async | trappable,
        "wasock:sockets/socket.[method]socket.connect": async | trappable,
        "wasock:sockets/socket.[method]socket.send": async | trappable,
        "wasock:sockets/socket.[method]socket.recv": async | trappable,
        "wasock:sockets/socket.[method]socket.send-to": async | trappable,
        "wasock:sockets/socket.[method]socket.recv-from": async | trappable,
        "wasock:sockets/poll.poll": async | trappable,
        "wasock:sockets/name-lookup.resolve-addresses": async | trappable,
        default: trappable,
    },
    exports: { default: async },
    with: {
        "wasock:sockets/socket.socket": crate::runtime::GuestSocket,
        "wasock:sockets/name-lookup.lookup": crate::runtime::PendingLookup,
    },
    trappable_error_type: {
        "wasock:sockets/types.error-code" => crate::runtime::SocketError,
    },
});

/// Bindings for wasock's own `wasi:sockets/ip-name-lookup`.
pub mod wasi_lookup {
    wasmtime::component::bindgen!({
        path: "wit",
        world: "wasock:host/wasi-name-lookup",
        imports: { default: trappable },
        require_store_data_send: true,
        with: {
            "wasi:io": wasmtime_wasi::p2::bindings::io,
            "wasi:sockets/network": wasmtime_wasi::p2::bindings::sockets::network,
            "wasi:sockets/ip-name-lookup.resolve-address-stream": crate::runtime::wasi::ResolveAddressStream,
        },
    });
}
