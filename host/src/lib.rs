//! wasock-host: WebAssembly components get Berkeley/Windows-Sockets
//! networking, and every address they use passes a capability check first.
//!
//! # Embedding
//!
//! wasock plugs into a wasmtime embedding the way wasmtime-wasi does: a
//! context built by a builder ([`runtime::WasockCtx`]), a view trait for
//! the store's data ([`runtime::WasockView`]), and `add_to_linker`
//! functions. This is `examples/embedder` in the repository:
//!
//! ```no_run
//! use std::sync::Arc;
//! use wasmtime::component::{Component, Linker, ResourceTable};
//! use wasmtime::{Config, Engine, Store};
//! use wasmtime_wasi::p2::bindings::Command;
//! use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
//! use wasock_host::policy::{Operation, Policy};
//! use wasock_host::runtime::{
//!     Limits, WasockCtx, WasockCtxView, WasockView, add_to_linker, add_wasi_to_linker,
//! };
//!
//! struct MyState { wasi: WasiCtx, wasock: WasockCtx, table: ResourceTable }
//!
//! impl WasiView for MyState {
//!     fn ctx(&mut self) -> WasiCtxView<'_> {
//!         WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
//!     }
//! }
//! impl WasockView for MyState {
//!     fn wasock(&mut self) -> WasockCtxView<'_> {
//!         WasockCtxView { ctx: &mut self.wasock, table: &mut self.table }
//!     }
//! }
//!
//! # async fn run() -> anyhow::Result<()> {
//! let mut config = Config::new();
//! // Component-model concurrency costs every host call; only WASI 0.3
//! // guests need it (see `runtime::add_wasi_0_3_to_linker`).
//! config.concurrency_support(false);
//! let engine = Engine::new(&config)?;
//! let mut linker: Linker<MyState> = Linker::new(&engine);
//! add_wasi_to_linker(&mut linker)?; // WASI, its sockets served by wasock
//! add_to_linker(&mut linker)?;      // wasock's sockets, poll and name lookup
//!
//! let policy = Policy::builder()
//!     .allow("tcp-connect=127.0.0.1:*")?
//!     .deny("tcp-connect=127.0.0.1:22")?
//!     .build();
//! let wasock = WasockCtx::builder()
//!     .policy(Arc::new(policy))
//!     .limits(Limits { max_sockets: 64, ..Limits::default() })
//!     .build();
//! let stats = wasock.stats();
//! let mut wasi = WasiCtxBuilder::new();
//! let state = MyState { wasi: wasi.build(), wasock, table: ResourceTable::new() };
//!
//! let component = Component::from_file(&engine, "guest.wasm")?;
//! let mut store = Store::new(&engine, state);
//! let command = Command::instantiate_async(&mut store, &component, &linker).await?;
//! let _ = command.wasi_cli_run().call_run(&mut store).await?;
//! println!("denied connects: {}", stats.snapshot().denied(Operation::TcpConnect));
//! # Ok(())
//! # }
//! ```
//!
//! [`runtime::Runner`] does the same with wasock's defaults (epoch ticks,
//! per-instance limits, pre-instantiation), and [`runtime::Server`] serves
//! one instance per accepted connection. In a store of your own, as above,
//! the socket limits hold, but `max_memory`, `timeout` and `fuel` are the
//! store's and the engine's to apply ([`runtime::Limits`] says how).
//!
//! # Layout
//!
//! [`policy`] decides (no I/O); [`net`] is the provider contract and its
//! native provider; [`runtime`] is the wasmtime embedding; [`cli`] is the
//! `wasock` command line.

pub mod cli;
pub mod net;
pub mod policy;
pub mod runtime;
