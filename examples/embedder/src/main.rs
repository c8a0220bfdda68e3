//! `embedder [--wasi-0.3] GUEST.wasm [ARGS]...`: see the library's
//! documentation.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // wasock logs through `tracing`: without a subscriber, an embedder sees
    // no denial. This one writes to stderr what `RUST_LOG` chooses
    // (warnings, which include every denial, by default).
    wasock_host::cli::init_tracing(None);
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let wasi_0_3 = args.first().is_some_and(|a| a == "--wasi-0.3");
    if wasi_0_3 {
        args.remove(0);
    }
    let Some((path, rest)) = args.split_first() else {
        anyhow::bail!("usage: embedder [--wasi-0.3] GUEST.wasm [ARGS]...");
    };
    let report = if wasi_0_3 {
        embedder::run_wasi_0_3_guest(path, rest).await?
    } else {
        embedder::run_guest(path, rest).await?
    };
    embedder::print_report(&report);
    Ok(())
}
