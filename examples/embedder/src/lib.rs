//! Embedding wasock: build an engine and a linker with WASI and wasock,
//! write a policy in code, run a guest, and read its policy counters.
//!
//! `cargo run -p embedder -- GUEST.wasm [ARGS]...` runs a guest that may
//! bind, listen and connect on loopback and resolve nothing, then prints
//! what the policy allowed and denied. `--wasi-0.3` first runs a WASI 0.3
//! guest instead ([`run_wasi_0_3_guest`]): the same policy, on an engine
//! with the component model's concurrency.

use std::sync::Arc;

use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::p2::bindings::Command;
use wasmtime_wasi::p3::bindings::Command as CommandP3;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasock_host::policy::{Operation, Policy};
use wasock_host::runtime::{
    InstanceStats, Limits, PolicyCounters, WasockCtx, WasockCtxView, WasockView, add_to_linker,
    add_wasi_0_3_to_linker, add_wasi_to_linker,
};

/// The embedder's own store data: WASI and wasock side by side, sharing one
/// resource table.
struct MyState {
    wasi: WasiCtx,
    wasock: WasockCtx,
    table: ResourceTable,
}

impl WasiView for MyState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasockView for MyState {
    fn wasock(&mut self) -> WasockCtxView<'_> {
        WasockCtxView {
            ctx: &mut self.wasock,
            table: &mut self.table,
        }
    }
}

/// What a run produced.
#[derive(Debug)]
pub struct Report {
    /// Whether the guest's `run` returned `Ok`.
    pub succeeded: bool,
    /// The instance's policy counters.
    pub counters: PolicyCounters,
}

/// Run the component at `path` with `args` under a loopback-only policy.
pub async fn run_guest(path: &str, args: &[String]) -> anyhow::Result<Report> {
    // 1. An engine; async host functions need no special flag, and
    //    component-model concurrency (on by default, for WASI 0.3 guests)
    //    would cost every host call.
    let mut config = Config::new();
    config.concurrency_support(false);
    let engine = Engine::new(&config)?;

    // 2. A linker with WASI (its name lookup served by wasock, so that the
    //    same policy covers std::net guests) and wasock's interfaces.
    let mut linker: Linker<MyState> = Linker::new(&engine);
    add_wasi_to_linker(&mut linker)?;
    add_to_linker(&mut linker)?;

    // 3. A policy, written in code, and 4. the instance's contexts.
    let (state, stats) = state(path, args)?;

    // 5. Instantiate and run.
    let component = Component::from_file(&engine, path)?;
    let mut store = Store::new(&engine, state);
    let command = Command::instantiate_async(&mut store, &component, &linker).await?;
    let succeeded = command.wasi_cli_run().call_run(&mut store).await?.is_ok();

    // 6. The counters outlive the instance.
    Ok(Report {
        succeeded,
        counters: stats.snapshot(),
    })
}

/// The instance's contexts: wasock's with a policy written in code and
/// limits (which hold for standard wasi:sockets too), and WASI's; and a
/// handle on the counters, which outlives the instance.
fn state(path: &str, args: &[String]) -> anyhow::Result<(MyState, Arc<InstanceStats>)> {
    let policy = Arc::new(
        Policy::builder()
            .allow("tcp-bind=127.0.0.1:*")?
            .allow("tcp-connect=127.0.0.1:*")?
            .allow("tcp-accept=127.0.0.1:*")?
            .deny("tcp-connect=127.0.0.1:22")?
            .build(),
    );
    let wasock = WasockCtx::builder()
        .policy(policy)
        .limits(Limits {
            max_sockets: 64,
            ..Limits::default()
        })
        .build();
    let stats = wasock.stats();
    let mut wasi = WasiCtxBuilder::new();
    wasi.inherit_stdio().arg(path).args(args);
    let state = MyState {
        wasi: wasi.build(),
        wasock,
        table: ResourceTable::new(),
    };
    Ok((state, stats))
}

/// Run the WASI 0.3 component at `path` (one that exports
/// `wasi:cli/run@0.3`) with `args` under the same loopback-only policy.
pub async fn run_wasi_0_3_guest(path: &str, args: &[String]) -> anyhow::Result<Report> {
    // 1. An engine with the component model's concurrency, which WASI 0.3
    //    guests need (keep a second engine without it for other guests).
    let mut config = Config::new();
    config.concurrency_support(true);
    let engine = Engine::new(&config)?;

    // 2. A linker with WASI 0.2 (which Rust's std in a 0.3 guest still
    //    imports), wasock's interfaces, and WASI 0.3 with wasock's
    //    `wasi:sockets@0.3`.
    let mut linker: Linker<MyState> = Linker::new(&engine);
    add_wasi_to_linker(&mut linker)?;
    add_to_linker(&mut linker)?;
    add_wasi_0_3_to_linker(&mut linker)?;

    // 3 and 4 as for any guest.
    let (state, stats) = state(path, args)?;

    // 5. Instantiate, and run inside `run_concurrent`, which drives the
    //    guest's tasks until `run` returns.
    let component = Component::from_file(&engine, path)?;
    let mut store = Store::new(&engine, state);
    let command = CommandP3::instantiate_async(&mut store, &component, &linker).await?;
    let ran = store
        .run_concurrent(async |run| command.wasi_cli_run().call_run(run).await)
        .await??;

    Ok(Report {
        succeeded: ran.is_ok(),
        counters: stats.snapshot(),
    })
}

/// Print a report, one operation per line.
pub fn print_report(report: &Report) {
    println!(
        "guest {}",
        if report.succeeded {
            "succeeded"
        } else {
            "failed"
        }
    );
    for op in Operation::ALL {
        let (a, d) = (report.counters.allowed(op), report.counters.denied(op));
        if a + d > 0 {
            println!("{op}: {a} allowed, {d} denied");
        }
    }
}
