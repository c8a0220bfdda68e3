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
//!   make, and exits; for a wasm-layer image, runwasi's precompile hook
//!   ([`LayerCompiler`], in the shim's daemon) hands the layer to such a
//!   compile instead;
//! - read by containers: the folder is bind-mounted read-only into each one
//!   ([`crate::bundle::CACHE_IN_CONTAINER`]), so a guest that escaped its
//!   sandbox still could not put code there for another container to run.
//!
//! The first container of a component compiles it itself (while the
//! background compile runs beside it); the next ones find it compiled.
//! Files staged for a compile lie beside the cache, owner-only, created
//! new (never through a link); what a killed compile left is swept by the
//! next, and [`crate::trim`] keeps the cache within a size.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Parser as _;

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
    spawn_compile(bundle, None)
}

/// The flag, after [`FLAG`] and the bundle, that names a staged copy of the
/// container's wasm layer to compile instead of a file of its image.
pub const LAYER_FLAG: &str = "--layer";

/// Start the background compile of a wasm layer for the container in
/// `bundle`: `layer`'s bytes are staged beside the `cache` folder (the
/// compile removes them), then compiled as [`spawn`] would.
pub fn spawn_for_layer(bundle: &Path, cache: &Path, layer: &[u8]) -> std::io::Result<()> {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    if layer.len() as u64 > MAX_COMPONENT || !layer.starts_with(b"\0asm") {
        return Err(std::io::ErrorKind::InvalidData.into());
    }
    let staged = cache.with_file_name(format!("{LAYER_PREFIX}{}-{n}.wasm", std::process::id()));
    write_private(&staged, layer)
        .and_then(|()| spawn_compile(bundle, Some(&staged)))
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&staged);
        })
}

/// Staged layers beside the cache: `.wasock-layer-PID-N.wasm`.
pub const LAYER_PREFIX: &str = ".wasock-layer-";
/// Staged copies of a compile in progress: `.wasock-incoming-PID-N.wasm`.
pub const INCOMING_PREFIX: &str = ".wasock-incoming-";
/// How old a staged layer must be to be taken for one a killed compile
/// left behind.
const STALE_LAYER: Duration = Duration::from_secs(600);

/// Write `bytes` to a new file at `path`, readable by its owner only; an
/// existing file or symbolic link there is an error, never followed.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?
        .write_all(bytes)
}

/// Remove what compiles the kernel ended (the CPU limit, memory) left
/// beside `cache`: every staged copy of a compile (only the holder of the
/// lock makes them, and that is the caller), and staged layers older than
/// [`STALE_LAYER`] (a newer one may belong to a compile about to start).
fn sweep_leftovers(cache: &Path) {
    let Some(dir) = cache.parent() else { return };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let stale = name.starts_with(INCOMING_PREFIX)
            || (name.starts_with(LAYER_PREFIX)
                && entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|age| age > STALE_LAYER));
        if stale {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Start this binary as the detached background compile of `bundle`'s
/// component, or of the staged `layer`.
fn spawn_compile(bundle: &Path, layer: Option<&Path>) -> std::io::Result<()> {
    use std::os::unix::process::CommandExt as _;
    let mut command = std::process::Command::new(std::env::current_exe()?);
    command.arg(FLAG).arg(bundle);
    if let Some(layer) = layer {
        command.arg(LAYER_FLAG).arg(layer);
    }
    command
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .process_group(0)
        .spawn()
        .map(drop)
}

/// runwasi's precompile hook, which it calls (in the shim's daemon, on the
/// host) with an image's wasm layers before each container of the image
/// starts. wasock keeps compiled components in its own cache, not in
/// containerd's content store: the hook starts the background compile of
/// the layer ([`spawn_for_layer`]) and hands runwasi nothing, so the
/// container gets the layer as it is and finds it compiled in the cache
/// from its second start on, as a plain image does. As runwasi keeps
/// nothing, it calls the hook at every start: the layer is staged and the
/// background compile finds it in the cache (a look-up, at the lowest
/// priority); runwasi logs that it found no precompiled layer.
///
/// The hook is not told which container it is for: the compile takes the
/// settings of the bundle the daemon started in (containerd starts it in
/// the container's bundle). Where one daemon serves a whole pod, that is
/// the pod sandbox's, and a container whose settings make another engine
/// compiles its component itself at each start.
pub struct LayerCompiler;

impl containerd_shim_wasm::shim::Compiler for LayerCompiler {
    fn cache_key(&self) -> impl std::hash::Hash {
        env!("CARGO_PKG_VERSION")
    }

    async fn compile(
        &self,
        layers: &[containerd_shim_wasm::sandbox::context::WasmLayer],
    ) -> anyhow::Result<Vec<Option<Vec<u8>>>> {
        let cache = host_cache_dir();
        if let ([layer], Ok(bundle)) = (layers, std::env::current_dir())
            && std::fs::create_dir_all(&cache).is_ok()
        {
            // Best effort, as for a plain image.
            let _ = spawn_for_layer(&bundle, &cache, &layer.layer);
        }
        Ok(vec![None; layers.len()])
    }
}

/// The background compile: the container's component (from its mounted
/// root file system, or the staged copy of its wasm layer, `layer`),
/// copied privately and compiled on the engine the container's command
/// will make (its settings, without the guest's arguments or environment,
/// which do not change the engine). One at a time on the host, at the
/// lowest priority. An image whose entrypoint is not among its files (a
/// wasm-layer image) has nothing to compile from its root file system.
pub fn run(bundle: &Path, cache: &Path, layer: Option<&Path>) -> anyhow::Result<()> {
    // Beside the cache, not in it (containers see the cache): the
    // component, then each provider component it runs on; all removed at
    // the end.
    let staged = |n: usize| {
        cache.with_file_name(format!("{INCOMING_PREFIX}{}-{n}.wasm", std::process::id()))
    };
    let incoming = layer.map_or_else(|| staged(0), Path::to_path_buf);
    let mut copies = vec![incoming.clone()];
    let compiled = (|| {
        let settings = crate::bundle::settings_in_bundle(bundle)?;
        let rootfs = bundle.join("rootfs");
        let found = match layer {
            Some(_) => None,
            None => {
                let inside = settings
                    .component
                    .as_deref()
                    .context("the container has no command")?;
                let Some(found) = find_component(&rootfs, inside)? else {
                    return Ok(());
                };
                Some((found, inside))
            }
        };
        // One at a time: a compile already running means this one is
        // skipped (that container compiles for itself), so a burst of
        // starts never queues work or memory on the host. The lock is
        // beside the cache, which is trimmed file by file; never through a
        // symbolic link.
        let lock = {
            use std::os::unix::fs::OpenOptionsExt as _;
            std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW)
                .open(cache.with_file_name(".wasock-compiling.lock"))?
        };
        lock.try_lock()?;
        sweep_leftovers(cache);
        // SAFETY: nice and setrlimit have no preconditions; a failure
        // leaves the priority or the limit as it was.
        unsafe {
            libc::nice(19);
            let cpu = libc::rlimit {
                rlim_cur: CPU_SECONDS,
                rlim_max: CPU_SECONDS,
            };
            libc::setrlimit(libc::RLIMIT_CPU, &cpu);
        }
        if let Some((found, inside)) = found {
            write_private(&incoming, &read_component(&found, inside)?)?;
        }
        let mut argv = settings.command_line(&incoming, &[], &[], |_| false)?;
        for i in 1..argv.len() {
            if argv[i - 1] == "--provider" {
                let copy = staged(copies.len());
                copies.push(copy.clone());
                let found = find_component(&rootfs, &argv[i])?
                    .with_context(|| format!("no provider {}", argv[i]))?;
                write_private(&copy, &read_component(&found, &argv[i])?)?;
                argv[i] = copy.display().to_string();
            }
        }
        let cli = wasock_host::cli::Cli::try_parse_from(&argv)?;
        wasock_host::cli::use_compile_cache(cache.to_path_buf());
        let compiled = wasock_host::cli::precompile(&cli.command);
        // Still under the lock: one trim at a time.
        crate::trim::trim(cache, crate::trim::max_from_env());
        compiled
    })();
    for copy in copies {
        let _ = std::fs::remove_file(copy);
    }
    compiled
}

/// Where `inside` (a path in the container) is once containerd has mounted
/// `rootfs`: `None` if the mounted root file system does not have it.
/// Paths that lead out of the root file system (symbolic links are
/// resolved on the host) are refused.
fn find_component(rootfs: &Path, inside: &str) -> anyhow::Result<Option<PathBuf>> {
    let path = rootfs.join(inside.trim_start_matches('/'));
    let began = Instant::now();
    loop {
        if let (Ok(root), Ok(real)) = (rootfs.canonicalize(), path.canonicalize()) {
            anyhow::ensure!(
                real.starts_with(&root) && real != root,
                "{inside} leads out of the container's root file system"
            );
            return Ok(Some(real));
        }
        if rootfs.to_str().is_some_and(crate::bundle::is_mount_point) {
            return Ok(None);
        }
        anyhow::ensure!(
            began.elapsed() < MOUNT_WAIT,
            "the root file system was not mounted"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The component `inside` the container, found at `real` on the host
/// ([`find_component`]): a regular file, opened without following a final
/// symbolic link and read through that descriptor, of at most
/// [`MAX_COMPONENT`] bytes, that starts like WebAssembly.
fn read_component(real: &Path, inside: &str) -> anyhow::Result<Vec<u8>> {
    use std::io::Read as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    // Only a regular file is opened at all: opening a device node an image
    // carried could have effects on the host.
    anyhow::ensure!(
        std::fs::symlink_metadata(real)?.is_file(),
        "{inside} is not a file"
    );
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(real)?;
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
        let read = |inside: &str| {
            let found = find_component(&rootfs, inside)?.context("absent")?;
            read_component(&found, inside)
        };
        assert_eq!(read("/app.wasm").unwrap(), b"\0asm component");
        for bad in [
            "/escape.wasm",
            "/absolute.wasm",
            "/zero.wasm",
            "/text.wasm",
            "/sub",
            "/",
        ] {
            assert!(read(bad).is_err(), "{bad}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
