//! The data of a store that runs a guest.

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use super::clock::WasiClocks;
use super::ctx::{WasockCtx, WasockCtxView, WasockView};
use super::memory::MemoryLimit;

/// The data of a store that runs a guest: WASI, wasock, their shared
/// resource table, and the store's resource limits.
pub struct HostState {
    /// WASI's context.
    pub wasi: WasiCtx,
    /// wasock's context.
    pub wasock: WasockCtx,
    /// Resources of both.
    pub table: ResourceTable,
    /// The limit on linear memory (over all of the instance's memories),
    /// from the wasock context's [`crate::runtime::Limits`].
    pub store_limits: MemoryLimit,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasockView for HostState {
    fn wasock(&mut self) -> WasockCtxView<'_> {
        WasockCtxView {
            ctx: &mut self.wasock,
            table: &mut self.table,
        }
    }
}

impl HostState {
    /// A state for one instance. Its standard `wasi:sockets` are served by
    /// the wasock context (see [`crate::runtime::add_wasi_to_linker`]).
    /// Its WASI wall and monotonic clocks read the wasock context's clock
    /// (replacing any set on `wasi`), so that the guest's time is the time
    /// its timeouts keep.
    pub fn new(mut wasi: WasiCtxBuilder, wasock: WasockCtx) -> HostState {
        WasiClocks::install(&wasock.clock, &mut wasi);
        let store_limits = MemoryLimit::new(wasock.limits.max_memory);
        HostState {
            wasi: wasi.build(),
            wasock,
            table: ResourceTable::new(),
            store_limits,
        }
    }
}
