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
const MOUNT_WAIT: Duration = Duration::from_secs(10);

/// CPU seconds the background compile may use before the kernel ends it.
const CPU_SECONDS: libc::rlim_t = 60;

/// Largest component compiled in the background (a bigger one is still
/// compiled by its container).
const MAX_COMPONENT: u64 = 64 << 20;

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

/// The background compile: the container's component, read from its
/// mounted root file system into a private copy, compiled on the engine
/// the container's command will make (its settings, without the guest's
/// arguments or environment, which do not change the engine). One at a
/// time on the host, at the lowest priority.
pub fn run(bundle: &Path, cache: &Path) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(bundle.join("config.json"))?;
    let spec: Value = serde_json::from_str(&text)?;
    let arg0 = spec
        .pointer("/process/args/0")
        .and_then(Value::as_str)
        .context("the container has no command")?;
    let inside = arg0.split_once('#').map_or(arg0, |(path, _)| path);
    let settings = crate::bundle::settings_in_bundle(bundle)?;
    // One at a time: a compile already running means this one is skipped
    // (that container compiles for itself), so a burst of starts never
    // queues work or memory on the host.
    let lock = std::fs::File::create(cache.join(".compiling"))?;
    lock.try_lock()?;
    // SAFETY: nice and setrlimit have no preconditions; a failure leaves
    // the priority or the limit as it was.
    unsafe {
        libc::nice(19);
        let cpu = libc::rlimit {
            rlim_cur: CPU_SECONDS,
            rlim_max: CPU_SECONDS,
        };
        libc::setrlimit(libc::RLIMIT_CPU, &cpu);
    }
    let bytes = read_component(&bundle.join("rootfs"), inside)?;
    // Beside the cache, not in it: containers see the cache.
    let incoming = cache.with_file_name(format!(".wasock-incoming-{}.wasm", std::process::id()));
    let compiled = std::fs::write(&incoming, &bytes).map_err(anyhow::Error::from);
    let compiled = compiled.and_then(|()| {
        let argv = settings.command_line(&incoming, &[], &[], |_| false)?;
        let cli = wasock_host::cli::Cli::try_parse_from(&argv)?;
        wasock_host::cli::use_compile_cache(cache.to_path_buf());
        wasock_host::cli::precompile(&cli.command)
    });
    let _ = std::fs::remove_file(&incoming);
    compiled
}

/// The component at `inside` (a path in the container) once containerd
/// has mounted `rootfs`: a regular file within it, opened without following
/// a final symbolic link and read through that descriptor, of at most
/// [`MAX_COMPONENT`] bytes, that starts like WebAssembly. Paths that lead
/// out of the root file system (symbolic links are resolved on the host)
/// are refused.
fn read_component(rootfs: &Path, inside: &str) -> anyhow::Result<Vec<u8>> {
    use std::io::Read as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let path = rootfs.join(inside.trim_start_matches('/'));
    let began = Instant::now();
    let real = loop {
        if let (Ok(root), Ok(real)) = (rootfs.canonicalize(), path.canonicalize()) {
            anyhow::ensure!(
                real.starts_with(&root) && real != root,
                "{inside} leads out of the container's root file system"
            );
            break real;
        }
        anyhow::ensure!(
            began.elapsed() < MOUNT_WAIT,
            "the root file system was not mounted"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    // Only a regular file is opened at all: opening a device node an image
    // carried could have effects on the host.
    anyhow::ensure!(
        std::fs::symlink_metadata(&real)?.is_file(),
        "{inside} is not a file"
    );
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(&real)?;
    anyhow::ensure!(file.metadata()?.is_file(), "{inside} is not a file");
    let mut bytes = Vec::new();
    file.take(MAX_COMPONENT + 1).read_to_end(&mut bytes)?;
    anyhow::ensure!(
        bytes.len() as u64 <= MAX_COMPONENT,
        "{inside} is too large to compile here"
    );
    anyhow::ensure!(bytes.starts_with(b"\0asm"), "{inside} is not WebAssembly");
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_webassembly_files_inside_the_root_file_system_are_read() {
        let dir = std::env::temp_dir().join(format!("wasock-precompile-{}", std::process::id()));
        let rootfs = dir.join("rootfs");
        std::fs::create_dir_all(rootfs.join("sub")).unwrap();
        std::fs::write(rootfs.join("app.wasm"), b"\0asm component").unwrap();
        std::fs::write(rootfs.join("text.wasm"), b"not wasm").unwrap();
        std::fs::write(dir.join("outside.wasm"), b"\0asm").unwrap();
        std::os::unix::fs::symlink("../outside.wasm", rootfs.join("escape.wasm")).unwrap();
        std::os::unix::fs::symlink(dir.join("outside.wasm"), rootfs.join("absolute.wasm")).unwrap();
        std::os::unix::fs::symlink("/dev/zero", rootfs.join("zero.wasm")).unwrap();
        assert_eq!(
            read_component(&rootfs, "/app.wasm").unwrap(),
            b"\0asm component"
        );
        for bad in [
            "/escape.wasm",
            "/absolute.wasm",
            "/zero.wasm",
            "/text.wasm",
            "/sub",
            "/",
        ] {
            assert!(read_component(&rootfs, bad).is_err(), "{bad}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
