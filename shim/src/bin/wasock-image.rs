//! `wasock-image`: write an OCI image archive of a component, for
//! `ctr image import` (or any registry tool that takes an OCI layout).

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Parser;
use containerd_shim_wasock::image::ImageBuilder;

/// Write an OCI image of a WebAssembly component, to run with the wasock
/// containerd shim (`ctr run --runtime io.containerd.wasock.v1`).
#[derive(Debug, Parser)]
#[command(name = "wasock-image", version, after_help = EXAMPLE)]
struct Args {
    /// The image's name, e.g. `docker.io/library/tcp-echo:latest`.
    #[arg(long)]
    name: String,
    /// Where to write the archive.
    #[arg(short, long, value_name = "OUT.tar")]
    output: PathBuf,
    /// A policy file to put in the image (at /etc/wasock/policy.toml).
    #[arg(long, value_name = "POLICY.toml")]
    policy: Option<PathBuf>,
    /// Write runwasi's wasm-layer kind of image (the component as its one
    /// layer, platform wasip1/wasm; containerd 1.6.25 or 1.7.7 and later)
    /// instead of a plain one. It cannot hold a policy file.
    #[arg(long, conflicts_with = "policy")]
    wasm_layer: bool,
    /// An environment variable for the component (repeatable).
    #[arg(long = "env", value_name = "NAME=VALUE")]
    env: Vec<String>,
    /// The component.
    #[arg(value_name = "COMPONENT.wasm")]
    component: PathBuf,
    /// Its arguments (the image's default command).
    #[arg(
        value_name = "ARGS",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    args: Vec<String>,
}

const EXAMPLE: &str = "\
Example:
  wasock-image --name docker.io/library/tcp-echo:latest -o tcp-echo.tar \\
      target/wasm32-wasip2/release/tcp-echo.wasm 0.0.0.0:7000
  ctr image import tcp-echo.tar";

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let component = std::fs::read(&args.component)
        .with_context(|| format!("cannot read the component {}", args.component.display()))?;
    let mut image = ImageBuilder::new(args.name, component);
    if let Some(path) = &args.policy {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the policy file {}", path.display()))?;
        // A policy that does not parse would fail every container at start.
        wasock_host::policy::parse_policy_file(&path.display().to_string(), &text)?;
        image = image.policy(text.into_bytes());
    }
    for var in args.env {
        image = image.env(var);
    }
    for arg in args.args {
        image = image.arg(arg);
    }
    if args.wasm_layer {
        image = image.as_wasm_layer();
    }
    let file = std::fs::File::create(&args.output)
        .with_context(|| format!("cannot create {}", args.output.display()))?;
    image
        .write(std::io::BufWriter::new(file))
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    Ok(())
}
