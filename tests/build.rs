//! Builds every guest program the tests run, for `wasm32-wasip2`, and
//! writes their paths to `$OUT_DIR/programs.rs`.
//!
//! Guests are ordinary members of the workspace, built by a nested cargo
//! into `target/wasm-guests` (its own target directory, so the outer build's
//! lock is never contended and rebuilds are incremental).

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Guest packages with the binaries they provide.
const PACKAGES: &[&str] = &[
    "tcp-echo",
    "udp-echo",
    "p3-echo",
    "http-hello",
    "sim-guests",
    "async-echo",
    "async-chat",
    "tokio-echo",
    "tokio-hyper",
    "hyper-handler",
    "kv",
    "http",
    "socks5",
    "provider-tap",
    "provider-faulty",
    "provider-memnet",
    "wasock-guests",
    "wasock-bench-guests",
    "wasi-http-hello",
];

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest.parent().unwrap().to_path_buf();
    let target_dir = root.join("target").join("wasm-guests");

    for dir in [
        "wit",
        "guest-sdk",
        "examples",
        "tests/programs",
        "tests/provider-faulty",
        "bench/guests",
        "bench/workloads",
        "bench/wasi-http-hello",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(dir).display());
    }
    println!(
        "cargo:rerun-if-changed={}",
        root.join("Cargo.lock").display()
    );

    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&root)
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--target-dir",
        ])
        .arg(&target_dir);
    // Each with the workspace's version: a registry crate of the same name
    // (`http`, which hyper depends on) would make a bare name ambiguous.
    let version = env::var("CARGO_PKG_VERSION").unwrap();
    for p in PACKAGES {
        cmd.args(["-p", &format!("{p}@{version}")]);
    }
    // What the outer cargo set for this build script must not leak into the
    // guests' build (host flags, wrappers such as clippy, the target dir).
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_WRAPPER",
        "CARGO_PRIMARY_PACKAGE",
    ] {
        cmd.env_remove(var);
    }
    // tokio's networking on WASI (examples/tokio-echo, tokio-hyper) is behind this cfg;
    // only tokio reads it, so the other guests build as before. Per-target,
    // so build scripts and proc macros are untouched.
    cmd.env("CARGO_ENCODED_RUSTFLAGS", "--cfg\x1ftokio_unstable");
    let status = cmd
        .status()
        .expect("cannot run cargo to build the guest programs");
    if !status.success() {
        panic!(
            "building the guest programs failed; is the target installed? run `rustup target add wasm32-wasip2`"
        );
    }

    let out_dir = target_dir.join("wasm32-wasip2").join("release");
    let mut names: Vec<String> = [
        "tcp-echo",
        "udp-echo",
        "p3-echo",
        "p3-udp-echo",
        "http_hello",
        "bench_wasock",
        "bench_std",
        "bench_p3",
        "udp-source",
        "udp-sink",
        "tcp-send",
        "tcp-sink",
        "udp-ping",
        "sleeper",
        "udp-spin",
        "async-echo",
        "async_echo_handler",
        "async-chat",
        "tokio-echo",
        "tokio-hyper",
        "hyper_handler",
        "kv",
        "http",
        "socks5",
        "provider_tap",
        "provider_faulty",
        "provider_memnet",
        "wasi_http_hello",
    ]
    .map(String::from)
    .to_vec();
    for entry in fs::read_dir(root.join("tests/programs/src/bin")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            names.push(path.file_stem().unwrap().to_string_lossy().into_owned());
        }
    }
    names.sort();
    let mut src = String::new();
    for name in &names {
        let path = out_dir.join(format!("{name}.wasm"));
        assert!(path.exists(), "guest {} was not built", path.display());
        let ident = name.to_uppercase().replace('-', "_");
        writeln!(
            src,
            "/// `{name}.wasm`.\npub const {ident}: &str = {:?};",
            display(&path)
        )
        .unwrap();
    }
    writeln!(
        src,
        "/// Every guest program, by name.\npub const ALL: &[(&str, &str)] = &["
    )
    .unwrap();
    for name in &names {
        writeln!(
            src,
            "    ({name:?}, {}),",
            name.to_uppercase().replace('-', "_")
        )
        .unwrap();
    }
    src.push_str("];\n");
    fs::write(
        PathBuf::from(env::var("OUT_DIR").unwrap()).join("programs.rs"),
        src,
    )
    .unwrap();
}

fn display(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}
