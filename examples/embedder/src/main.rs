//! `embedder GUEST.wasm [ARGS]...`: see the library's documentation.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((path, rest)) = args.split_first() else {
        anyhow::bail!("usage: embedder GUEST.wasm [ARGS]...");
    };
    let report = embedder::run_guest(path, rest).await?;
    embedder::print_report(&report);
    Ok(())
}
