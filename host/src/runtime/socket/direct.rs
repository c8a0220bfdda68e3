//! `[method]socket.send` without a copy. The generated binding lifts the
//! guest's bytes into a fresh `Vec` before the host function sees them;
//! this definition, linked over it, hands the socket a slice of the guest's
//! linear memory instead, so the bytes go from the guest straight to the
//! kernel.

use std::future::Future;

use wasmtime::StoreContextMut;
use wasmtime::component::{Linker, Resource, WasmList};

use super::GuestSocket;
use crate::runtime::bindings::wasock::sockets::types as wit;
use crate::runtime::convert::error_from_net;
use crate::runtime::ctx::WasockView;

/// The WIT name of the `socket` interface, as the linker knows it.
pub(crate) const SOCKET_INTERFACE: &str = "wasock:sockets/socket@0.1.0";

/// Link [`send`] over the generated `[method]socket.send`. Leaves the
/// linker refusing to shadow definitions, as it is by default.
pub(crate) fn add_to_linker<T: WasockView + 'static>(
    linker: &mut Linker<T>,
) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let linked = linker
        .instance(SOCKET_INTERFACE)
        .and_then(|mut socket| socket.func_wrap_async("[method]socket.send", send::<T>));
    linker.allow_shadowing(false);
    linked
}

type SendResult = wasmtime::Result<(Result<u64, wit::ErrorCode>,)>;

fn send<T: WasockView + 'static>(
    mut store: StoreContextMut<'_, T>,
    (this, data, flags): (Resource<GuestSocket>, WasmList<u8>, wit::SendFlags),
) -> Box<dyn Future<Output = SendResult> + Send + '_> {
    Box::new(async move {
        let guest_bytes = data.as_le_slice(&store);
        let (ptr, len) = (guest_bytes.as_ptr(), guest_bytes.len());
        // SAFETY: `ptr..ptr + len` lies in the instance's linear memory
        // (`as_le_slice` checked the bounds), a mapping of its own, apart
        // from the store's data that `data_mut` lends out below, so the
        // two borrows never overlap. The memory stays where it is and holds
        // the same bytes until this call returns: the guest is suspended in
        // it, only wasm or the host can grow or write its memory, and
        // nothing on the send path calls into wasm or touches memory.
        let bytes = unsafe { std::slice::from_raw_parts(ptr, len) };
        let mut view = store.data_mut().wasock();
        match view.send_bytes(this, bytes, flags).await {
            Ok(n) => Ok((Ok(n),)),
            Err(e) => Ok((Err(error_from_net(e.into_result()?)),)),
        }
    })
}
