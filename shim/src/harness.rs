//! A containerd of one's own, for tests and benchmarks: started with its
//! own root, state and socket in a temporary folder (so it never touches a
//! system containerd), driven with `ctr`, and stopped with its folder
//! removed when dropped. Needs root and Debian's `containerd` (`ctr`,
//! `containerd-shim-runc-v2` and `runc` come with it).

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::image::ImageBuilder;
use crate::precompile::{INCOMING_PREFIX, LAYER_PREFIX};

/// The runtime name containerd maps to `containerd-shim-wasock-v1`.
pub const RUNTIME: &str = "io.containerd.wasock.v1";
/// The runtime of ordinary Linux containers (runc).
pub const RUNC: &str = "io.containerd.runc.v2";
const NAMESPACE: &str = "wasock-test";
/// Longest wait for anything a container does (starting, printing,
/// stopping); every wait is bounded by it.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// Where `.ci/install-containerd-1.7` puts Debian 13's containerd 1.7
/// (`containerd` and `ctr`), unless `WASOCK_CONTAINERD_1_7` names another
/// folder.
pub const CONTAINERD_1_7: &str = "/opt/containerd-1.7/usr/bin";

/// A containerd of one's own, stopped (and its folder removed) on drop.
pub struct Containerd {
    dir: PathBuf,
    daemon: Child,
    /// The folder of its `containerd` and `ctr`, or `None` for those on
    /// `PATH`.
    bin: Option<PathBuf>,
}

impl Containerd {
    /// Start one (the `containerd` on `PATH`: Debian 12's is 1.6) whose
    /// `PATH` has `shim_dir` first (where `containerd-shim-wasock-v1` is);
    /// it answers before this returns.
    ///
    /// # Panics
    /// If containerd cannot be started or does not answer within
    /// [`PATIENCE`]: this is test and benchmark support.
    pub fn start(shim_dir: &Path) -> Containerd {
        Containerd::launch(None, shim_dir)
    }

    /// [`Containerd::start`] with containerd 1.7 from [`CONTAINERD_1_7`],
    /// which runs runwasi's wasm-layer images.
    ///
    /// # Panics
    /// As [`Containerd::start`], and if containerd 1.7 is not there.
    pub fn start_1_7(shim_dir: &Path) -> Containerd {
        let bin = std::env::var_os("WASOCK_CONTAINERD_1_7")
            .map_or_else(|| PathBuf::from(CONTAINERD_1_7), PathBuf::from);
        assert!(
            bin.join("containerd").exists(),
            "no containerd 1.7 in {}: run .ci/install-containerd-1.7 (or set WASOCK_CONTAINERD_1_7 to the folder of one)",
            bin.display()
        );
        Containerd::launch(Some(bin), shim_dir)
    }

    fn launch(bin: Option<PathBuf>, shim_dir: &Path) -> Containerd {
        let tool = |name: &str| bin.as_ref().map_or_else(|| name.into(), |b| b.join(name));
        static N: AtomicUsize = AtomicUsize::new(0);
        // Short: unix socket paths are limited to 108 bytes.
        let dir = PathBuf::from(format!(
            "/tmp/wctd-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let config = format!(
            "version = 2\nroot = \"{d}/root\"\nstate = \"{d}/state\"\n\
             disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n\
             [grpc]\n  address = \"{d}/c.sock\"\n[ttrpc]\n  address = \"{d}/c.sock.ttrpc\"\n",
            d = dir.display()
        );
        std::fs::write(dir.join("config.toml"), config).unwrap();
        let mut path = format!("{}:", shim_dir.display());
        if let Some(bin) = &bin {
            path.push_str(&format!("{}:", bin.display()));
        }
        path.push_str(&std::env::var("PATH").unwrap_or_default());
        let log = std::fs::File::create(dir.join("containerd.log")).unwrap();
        let daemon = Command::new(tool("containerd"))
            .arg("--config")
            .arg(dir.join("config.toml"))
            .env("PATH", path)
            // The shim's compilation cache, in this containerd's folder.
            .env("WASOCK_SHIM_CACHE_DIR", dir.join("cache"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect(
                "cannot start containerd: install Debian's containerd package (and run as root)",
            );
        let ctd = Containerd { dir, daemon, bin };
        let began = Instant::now();
        while !ctd.ctr(&["version"]).status.success() {
            assert!(
                began.elapsed() < PATIENCE,
                "containerd did not start:\n{}",
                ctd.log()
            );
            thread::sleep(Duration::from_millis(50));
        }
        ctd
    }

    /// Its folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The daemon's process id.
    pub fn pid(&self) -> u32 {
        self.daemon.id()
    }

    /// Its gRPC socket.
    pub fn socket(&self) -> PathBuf {
        self.dir.join("c.sock")
    }

    /// A `ctr` command against it (in its own namespace) with `args`.
    pub fn command(&self, args: &[&str]) -> Command {
        let ctr = self
            .bin
            .as_ref()
            .map_or_else(|| "ctr".into(), |b| b.join("ctr"));
        let mut cmd = Command::new(ctr);
        cmd.arg("--address")
            .arg(self.socket())
            .args(["--namespace", NAMESPACE])
            .args(args);
        cmd
    }

    /// Run `ctr` with `args` to its end.
    pub fn ctr(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("cannot run ctr")
    }

    /// What the daemon has logged.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("containerd.log")).unwrap_or_default()
    }

    /// An image `docker.io/wasock/NAME:test` of the guest at `program`,
    /// as `dress` finishes it, written as an archive and imported; its name.
    pub fn import(
        &self,
        name: &str,
        program: &str,
        dress: impl FnOnce(ImageBuilder) -> ImageBuilder,
    ) -> String {
        let reference = format!("docker.io/wasock/{name}:test");
        let component =
            std::fs::read(program).unwrap_or_else(|e| panic!("cannot read {program}: {e}"));
        self.import_image(&dress(ImageBuilder::new(&reference, component)))
    }

    /// Write `image` as an archive in this containerd's folder and import
    /// it; its name.
    pub fn import_image(&self, image: &ImageBuilder) -> String {
        let archive = self
            .dir
            .join(format!("{}.tar", image.name().replace(['/', ':'], "_")));
        image
            .write(std::fs::File::create(&archive).unwrap())
            .unwrap();
        // Every platform: a wasm-layer image's is wasip1/wasm.
        let out = self.ctr(&[
            "image",
            "import",
            "--all-platforms",
            archive.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "import failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        image.name().to_string()
    }

    /// `ctr run` of `image` as container `id` under the wasock shim, on
    /// the host's network, with `extra` flags before the image; the run is
    /// attached, so its stdout and stderr are the container's. `args`,
    /// when given, replace the image's whole command line.
    pub fn run(&self, id: &str, image: &str, extra: &[&str], args: &[&str]) -> Running {
        self.run_with(RUNTIME, id, image, extra, args)
    }

    /// [`Containerd::run`] under another `runtime` ([`RUNC`]).
    pub fn run_with(
        &self,
        runtime: &str,
        id: &str,
        image: &str,
        extra: &[&str],
        args: &[&str],
    ) -> Running {
        let mut cmd = self.command(&["run", "--rm", "--net-host", "--runtime", runtime]);
        cmd.args(extra).arg(image).arg(id).args(args);
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cannot run ctr");
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut stderr = child.stderr.take().unwrap();
        let err = thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr.read_to_string(&mut s);
            s
        });
        Running {
            id: id.to_string(),
            child,
            lines,
            err: Some(err),
            ctr: self.command(&[]),
        }
    }

    /// Wait (at most [`PATIENCE`]) until no background compile of a
    /// container of this containerd runs.
    pub fn wait_for_background_compiles(&self) {
        self.wait_until_no_process(
            &format!("precompile {}/", self.dir.display()),
            "background compiles",
        );
    }

    /// Files staged beside the compilation cache for a compile
    /// (`.wasock-layer-*`, `.wasock-incoming-*`): none once every compile
    /// has ended.
    pub fn staged_files(&self) -> Vec<String> {
        std::fs::read_dir(&self.dir)
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.starts_with(LAYER_PREFIX) || n.starts_with(INCOMING_PREFIX))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Wait (at most [`PATIENCE`], then panic naming `what`) until no
    /// process but this containerd has `pattern` in its command line.
    pub fn wait_until_no_process(&self, pattern: &str, what: &str) {
        let daemon = self.pid().to_string();
        let began = Instant::now();
        loop {
            let out = Command::new("pgrep")
                .args(["-f", pattern])
                .output()
                .expect("cannot run pgrep");
            // pgrep: 0 found, 1 none; anything else is its own error.
            assert!(matches!(out.status.code(), Some(0 | 1)), "{out:?}");
            let stdout = String::from_utf8_lossy(&out.stdout);
            let left: Vec<&str> = stdout.lines().filter(|pid| *pid != daemon).collect();
            if left.is_empty() {
                return;
            }
            assert!(
                began.elapsed() < PATIENCE,
                "{what} left: processes {left:?}"
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// `ctr task kill --signal SIGNAL ID` (e.g. `SIGTERM`).
    pub fn kill(&self, id: &str, signal: &str) {
        let out = self.ctr(&["task", "kill", "--signal", signal, id]);
        assert!(
            out.status.success(),
            "kill failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
        // Snapshots a failed test left mounted would keep the folder busy.
        for mount in mounts_under(&self.dir) {
            let _ = Command::new("umount").arg("-l").arg(mount).status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// An image `name` of the native `program` (at `/program`, its
/// entrypoint), with the shared libraries and loader it needs if it is
/// linked dynamically (as `ldd` lists them); for runc, or to show that
/// wasock's runtime refuses it.
pub fn native_image(name: &str, program: &Path) -> NativeImage {
    let read =
        |p: &Path| std::fs::read(p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()));
    let libraries = shared_libraries(program);
    let mut image =
        ImageBuilder::with_entrypoint(name, "/program").file("/program", read(program), 0o755);
    for lib in &libraries {
        image = image.file(lib, read(Path::new(lib)), 0o755);
    }
    NativeImage { image, libraries }
}

/// An image of a native program ([`native_image`]).
pub struct NativeImage {
    /// The image.
    pub image: ImageBuilder,
    /// The shared libraries (and loader) it carries beside the program, as
    /// `ldd` lists them; none for a static program.
    pub libraries: Vec<String>,
}

/// The shared libraries (and loader) a dynamically linked `program` needs,
/// as `ldd` lists them; none for a static one.
fn shared_libraries(program: &Path) -> Vec<String> {
    let out = Command::new("ldd")
        .arg(program)
        .output()
        .expect("cannot run ldd");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let path = l.split("=>").last()?.split_whitespace().next()?;
            path.starts_with('/').then(|| path.to_string())
        })
        .collect()
}

/// Mount points under `dir`.
pub fn mounts_under(dir: &Path) -> Vec<String> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|m| m.starts_with(dir.to_str().unwrap()))
        .map(str::to_string)
        .collect()
}

/// A container being run by an attached `ctr run`.
pub struct Running {
    id: String,
    child: Child,
    lines: mpsc::Receiver<String>,
    err: Option<thread::JoinHandle<String>>,
    /// `ctr` with its address and namespace, for cleaning up after it.
    ctr: Command,
}

impl Running {
    /// The next line of the container's stdout that starts with `prefix`.
    pub fn line_starting(&mut self, prefix: &str) -> String {
        let began = Instant::now();
        loop {
            let left = PATIENCE.saturating_sub(began.elapsed());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.starts_with(prefix) => return line,
                Ok(_) => {}
                Err(e) => {
                    let _ = self.child.kill();
                    let err = self.err.take().unwrap().join().unwrap();
                    panic!("{}: no line `{prefix}...` ({e}); stderr:\n{err}", self.id);
                }
            }
        }
    }

    /// The address in the container's `listening on ADDR` line.
    pub fn listening(&mut self) -> String {
        let line = self.line_starting("listening on ");
        line["listening on ".len()..].trim().to_string()
    }

    /// Wait for `ctr run` to end: its exit status (the task's) and the
    /// container's stderr.
    pub fn finish(mut self) -> (i32, String) {
        let began = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if began.elapsed() > PATIENCE {
                let _ = self.child.kill();
                panic!("{} did not end", self.id);
            }
            thread::sleep(Duration::from_millis(20));
        };
        let err = self.err.take().unwrap().join().unwrap();
        let mut code = status.code().unwrap_or(-1);
        if code == 1 && err.contains("task must be stopped before deletion") {
            code = self.delete_late();
            // The shim's delete reads the exit status the same racy way
            // (see `delete_late`) and may report 0: a container stopped by
            // a signal said which one as it ended, with status 128 + it.
            if let Some(signal) = stopped_by_signal(&err) {
                code = 128 + signal;
            }
        }
        (code, err)
    }

    /// `ctr run` deleted the task as soon as the shim reported its exit,
    /// and containerd found it not yet marked stopped: runwasi's shim
    /// (containerd-shimkit 0.1) answers `State` and `Delete` with
    /// `now_or_never` on an exit future that also takes the task's state
    /// lock, so while another waiter holds that lock it says "running"
    /// (seen in CI a few times in a hundred runs). Delete it again until
    /// containerd agrees, which gives the task's exit status, then the
    /// container that `--rm` could not remove.
    fn delete_late(&self) -> i32 {
        let ctr = |args: &[&str]| {
            let mut cmd = Command::new(self.ctr.get_program());
            cmd.args(self.ctr.get_args()).args(args);
            cmd.output().expect("cannot run ctr")
        };
        let began = Instant::now();
        let code = loop {
            let out = ctr(&["task", "delete", &self.id]);
            let still = String::from_utf8_lossy(&out.stderr).contains("must be stopped");
            if !still {
                break out.status.code().unwrap_or(-1);
            }
            assert!(
                began.elapsed() < PATIENCE,
                "{}: containerd never saw the task stop",
                self.id
            );
            thread::sleep(Duration::from_millis(50));
        };
        let _ = ctr(&["container", "delete", &self.id]);
        code
    }
}

/// The signal a container was stopped by, from the shim's last word
/// ([`crate::sandbox::STOPPING_ON_SIGNAL`]).
fn stopped_by_signal(stderr: &str) -> Option<i32> {
    let (_, rest) = stderr.rsplit_once(crate::sandbox::STOPPING_ON_SIGNAL)?;
    rest.lines().next()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::stopped_by_signal;

    #[test]
    fn the_stopping_signal_is_read_from_the_shims_last_word() {
        let err = "wasock: policy ...\nwasock: stopping the guest on signal 15\nctr: task must be stopped before deletion: running: failed precondition\n";
        assert_eq!(stopped_by_signal(err), Some(15));
        assert_eq!(stopped_by_signal("ctr: task must be stopped"), None);
    }
}
