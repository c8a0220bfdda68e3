//! Compiled components kept between containers.
//!
//! A container compiles its component when it starts, which is most of the
//! time it takes to start (BENCHMARKS.md, "Containers"). runwasi's own cache
//! keeps compiled layers in containerd's content store, but only for images
//! whose component is a wasm layer, which containerd before 1.6.25 and 1.7.7
//! cannot run (Debian 12 has 1.6.20). So the shim keeps wasmtime's
//! compilation cache in a folder of the host ([`host_cache_dir`]) instead:
//!
//! - written only outside containers: the shim's `start` action (run by
//!   containerd in the container's bundle, on the host) starts
//!   `containerd-shim-wasock-v1 --precompile BUNDLE` in the background, which
//!   waits for containerd to mount the container's root file system,
//!   compiles its component on the engine the container's command will
//!   make, and exits;
//! - read by containers: the folder is bind-mounted read-only into each one
//!   ([`crate::bundle::CACHE_IN_CONTAINER`]), so a guest that escaped its
//!   sandbox still could not put code there for another container to run.
//!
//! The first container of a component compiles it itself (while the
//! background compile runs beside it); the next ones find it compiled.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Parser as _;
use serde_json::Value;

use crate::settings::ContainerSettings;

/// The command-line flag of the background compile.
pub const FLAG: &str = "--precompile";

/// The host folder of the cache: `WASOCK_SHIM_CACHE_DIR` in containerd's
/// environment, else `/var/lib/wasock/cache`.
pub fn host_cache_dir() -> PathBuf {
    std::env::var_os("WASOCK_SHIM_CACHE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/lib/wasock/cache"))
}

/// How long the background compile waits for the root file system.
const MOUNT_WAIT: Duration = Duration::from_secs(60);

/// Largest component compiled in the background (a bigger one is still
/// compiled by its container).
const MAX_COMPONENT: u64 = 256 << 20;

/// Start the background compile for the container in `bundle`, detached
/// from the `start` action (its own process group; no standard streams,
/// so containerd does not wait for it).
pub fn spawn(bundle: &Path) -> std::io::Result<()> {
    use std::os::unix::process::CommandExt as _;
    std::process::Command::new(std::env::current_exe()?)
        .arg(FLAG)
        .arg(bundle)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .process_group(0)
        .spawn()
        .map(drop)
}

/// The background compile: the container's command, as the sandbox will
/// make it, with the component read from the mounted root file system.
pub fn run(bundle: &Path, cache: &Path) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(bundle.join("config.json"))?;
    let spec: Value = serde_json::from_str(&text)?;
    let strings = |pointer: &str| -> Vec<String> {
        spec.pointer(pointer)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let args = strings("/process/args");
    let env = strings("/process/env");
    let arg0 = args.first().context("the container has no command")?;
    let inside = arg0.split_once('#').map_or(arg0.as_str(), |(path, _)| path);
    let rootfs = bundle.join("rootfs");
    let component = wait_for_component(&rootfs, inside)?;
    let (settings, guest_env) = ContainerSettings::from_env(&env)?;
    let argv = settings.command_line(&component, &args[1..], &guest_env, |_| false)?;
    let cli = wasock_host::cli::Cli::try_parse_from(&argv)?;
    wasock_host::cli::use_compile_cache(cache.to_path_buf());
    wasock_host::cli::precompile(&cli.command)
}

/// The component at `inside` (a path in the container) once containerd has
/// mounted `rootfs`: a regular file within it of a sane size. Symbolic
/// links that lead out of the root file system (they are resolved on the
/// host) are refused.
fn wait_for_component(rootfs: &Path, inside: &str) -> anyhow::Result<PathBuf> {
    let path = rootfs.join(inside.trim_start_matches('/'));
    let began = Instant::now();
    loop {
        if let (Ok(root), Ok(real)) = (rootfs.canonicalize(), path.canonicalize()) {
            anyhow::ensure!(
                real.starts_with(&root) && real != root,
                "{inside} leads out of the container's root file system"
            );
            let meta = std::fs::metadata(&real)?;
            anyhow::ensure!(meta.is_file(), "{inside} is not a file");
            anyhow::ensure!(
                meta.len() <= MAX_COMPONENT,
                "{inside} is too large to compile here"
            );
            return Ok(real);
        }
        anyhow::ensure!(
            began.elapsed() < MOUNT_WAIT,
            "the root file system was not mounted"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_inside_the_root_file_system_are_compiled() {
        let dir = std::env::temp_dir().join(format!("wasock-precompile-{}", std::process::id()));
        let rootfs = dir.join("rootfs");
        std::fs::create_dir_all(rootfs.join("sub")).unwrap();
        std::fs::write(rootfs.join("app.wasm"), b"\0asm").unwrap();
        std::fs::write(dir.join("outside.wasm"), b"\0asm").unwrap();
        std::os::unix::fs::symlink("../outside.wasm", rootfs.join("escape.wasm")).unwrap();
        std::os::unix::fs::symlink("/etc/hostname", rootfs.join("absolute.wasm")).unwrap();
        assert_eq!(
            wait_for_component(&rootfs, "/app.wasm").unwrap(),
            rootfs.canonicalize().unwrap().join("app.wasm")
        );
        for bad in ["/escape.wasm", "/absolute.wasm", "/sub", "/"] {
            assert!(wait_for_component(&rootfs, bad).is_err(), "{bad}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
