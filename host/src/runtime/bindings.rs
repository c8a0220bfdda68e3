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
        "wasi": wasmtime_wasi::p2::bindings,
        "wasock:sockets/socket.socket": crate::runtime::GuestSocket,
    },
    trappable_error_type: {
        "wasock:sockets/types.error-code" => crate::runtime::SocketError,
    },
});
