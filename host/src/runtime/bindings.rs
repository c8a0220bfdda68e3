//! Host bindings generated from `wit/`. Never edited by hand.

#![allow(missing_docs)]

wasmtime::component::bindgen!({
    path: "../wit",
    world: "wasock:sockets/wasock-host",
    imports: {
        "wasock:sockets/socket.[method]socket.accept": async | trappable,
        "wasock:sockets/socket.[method]socket.connect": async | trappable,
        "wasock:sockets/socket.[method]socket.send": async | trappable,
        "wasock:sockets/socket.[method]socket.recv": async | trappable,
        "wasock:sockets/socket.[method]socket.send-to": async | trappable,
        "wasock:sockets/socket.[method]socket.recv-from": async | trappable,
        "wasock:sockets/poll.poll": async | trappable,
        "wasock:sockets/poll.[method]poll-set.wait": async | trappable,
        "wasock:sockets/name-lookup.resolve-addresses": async | trappable,
        default: trappable,
    },
    exports: { default: async },
    with: {
        "wasock:sockets/socket.socket": crate::runtime::GuestSocket,
        "wasock:sockets/name-lookup.lookup": crate::runtime::PendingLookup,
        "wasock:sockets/poll.poll-set": crate::runtime::PollSet,
    },
    trappable_error_type: {
        "wasock:sockets/types.error-code" => crate::runtime::SocketError,
    },
});

/// Bindings for wasock's own `wasi:sockets@0.2` (see `runtime::wasi`).
pub mod wasi_sockets {
    wasmtime::component::bindgen!({
        path: "wit",
        world: "wasock:host/wasi-sockets",
        imports: { default: trappable },
        require_store_data_send: true,
        with: {
            "wasi:io": wasmtime_wasi::p2::bindings::io,
            "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
            "wasi:sockets/network.network": crate::runtime::wasi::Network,
            "wasi:sockets/tcp.tcp-socket": crate::runtime::wasi::TcpSocket,
            "wasi:sockets/udp.udp-socket": crate::runtime::wasi::UdpSocket,
            "wasi:sockets/udp.incoming-datagram-stream": crate::runtime::wasi::IncomingDatagramStream,
            "wasi:sockets/udp.outgoing-datagram-stream": crate::runtime::wasi::OutgoingDatagramStream,
            "wasi:sockets/ip-name-lookup.resolve-address-stream": crate::runtime::wasi::ResolveAddressStream,
        },
        trappable_error_type: {
            "wasi:sockets/network.error-code" => crate::runtime::wasi::WasiError,
        },
    });
}

/// Bindings for wasock's own `wasi:sockets@0.3` (see `runtime::wasi::p3`).
#[cfg(feature = "wasi-0-3")]
pub mod wasi_sockets_0_3 {
    wasmtime::component::bindgen!({
        path: "wit-p3",
        world: "wasock:host-p3/wasi-sockets",
        imports: {
            "wasi:sockets/types.[method]tcp-socket.listen": store | trappable,
            "wasi:sockets/types.[method]tcp-socket.send": store | trappable,
            "wasi:sockets/types.[method]tcp-socket.receive": store | trappable,
            default: trappable,
        },
        require_store_data_send: true,
        with: {
            "wasi:clocks": wasmtime_wasi::p3::bindings::clocks,
            "wasi:sockets/types.tcp-socket": crate::runtime::wasi::p3::TcpSocket,
            "wasi:sockets/types.udp-socket": crate::runtime::wasi::p3::UdpSocket,
        },
        trappable_error_type: {
            "wasi:sockets/types.error-code" => crate::runtime::wasi::p3::P3Error,
        },
    });
}

/// Bindings for calling a provider component's exports from the host (see
/// `runtime::bridge`): world `provider`, whose types are the host's own.
pub mod provider {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "wasock:sockets/provider",
        exports: { default: async },
        with: {
            "wasock:sockets/types": super::wasock::sockets::types,
        },
    });
}
