//! The shim under real containerd (Debian's `containerd`, started by each
//! test with its own root, state and socket in a temporary folder): images
//! written by [`ImageBuilder`], imported with `ctr image import`, run with
//! `ctr run --runtime io.containerd.wasock.v1`, and talked to with `nc`
//! and `curl` over loopback. Needs root, `containerd`, `ctr`, `nc` and
//! `curl` (`.ci/run` installs them); without them these tests fail.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use containerd_shim_wasock::image::ImageBuilder;
use wasock_test_programs::{HTTP_HELLO, LIMIT_MEMORY, P3_ECHO, TCP_ECHO, TOKIO_ECHO};

const SHIM: &str = env!("CARGO_BIN_EXE_containerd-shim-wasock-v1");
const RUNTIME: &str = "io.containerd.wasock.v1";
const NAMESPACE: &str = "wasock-test";
/// Longest wait for anything a container does (starting, printing,
/// stopping); every wait is bounded by it.
const PATIENCE: Duration = Duration::from_secs(60);

/// A containerd of the test's own, stopped (and its folder removed) on drop.
struct Containerd {
    dir: PathBuf,
    daemon: Child,
}

impl Containerd {
    fn start() -> Containerd {
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
        let shim_dir = Path::new(SHIM).parent().unwrap();
        let path = format!(
            "{}:{}",
            shim_dir.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let log = std::fs::File::create(dir.join("containerd.log")).unwrap();
        let daemon = Command::new("containerd")
            .arg("--config")
            .arg(dir.join("config.toml"))
            .env("PATH", path)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect(
                "cannot start containerd: install Debian's containerd package (and run as root)",
            );
        let ctd = Containerd { dir, daemon };
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

    fn socket(&self) -> PathBuf {
        self.dir.join("c.sock")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("ctr");
        cmd.arg("--address")
            .arg(self.socket())
            .args(["--namespace", NAMESPACE])
            .args(args);
        cmd
    }

    fn ctr(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("cannot run ctr")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("containerd.log")).unwrap_or_default()
    }

    /// An image `docker.io/wasock/NAME:test` of the guest at `program`,
    /// as `dress` finishes it, written as an archive and imported; its name.
    fn import(
        &self,
        name: &str,
        program: &str,
        dress: impl FnOnce(ImageBuilder) -> ImageBuilder,
    ) -> String {
        let reference = format!("docker.io/wasock/{name}:test");
        let component =
            std::fs::read(program).unwrap_or_else(|e| panic!("cannot read {program}: {e}"));
        let archive = self.dir.join(format!("{name}.tar"));
        dress(ImageBuilder::new(&reference, component))
            .write(std::fs::File::create(&archive).unwrap())
            .unwrap();
        let out = self.ctr(&["image", "import", archive.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "import failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        reference
    }

    /// `ctr run` of `image` as container `id` on the host's network, with
    /// `extra` flags before the image; the run is attached, so its stdout
    /// and stderr are the container's.
    fn run(&self, id: &str, image: &str, extra: &[&str], args: &[&str]) -> Running {
        let mut cmd = self.command(&["run", "--rm", "--net-host", "--runtime", RUNTIME]);
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
        }
    }

    /// `ctr task kill` (SIGTERM unless `signal` says otherwise).
    fn kill(&self, id: &str, signal: &str) {
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

/// Mount points under `dir`.
fn mounts_under(dir: &Path) -> Vec<String> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|m| m.starts_with(dir.to_str().unwrap()))
        .map(str::to_string)
        .collect()
}

/// A container being run by an attached `ctr run`.
struct Running {
    id: String,
    child: Child,
    lines: mpsc::Receiver<String>,
    err: Option<thread::JoinHandle<String>>,
}

impl Running {
    /// The next line of the container's stdout that starts with `prefix`.
    fn line_starting(&mut self, prefix: &str) -> String {
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
    fn listening(&mut self) -> String {
        let line = self.line_starting("listening on ");
        line["listening on ".len()..].trim().to_string()
    }

    /// Wait for `ctr run` to end: its exit status (the task's) and the
    /// container's stderr.
    fn finish(mut self) -> (i32, String) {
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
        (status.code().unwrap_or(-1), err)
    }
}

/// `nc` sends `text` to `addr`, closes its sending side, and returns what
/// came back.
fn nc(addr: &str, text: &str) -> String {
    let (host, port) = addr.rsplit_once(':').unwrap();
    let mut child = Command::new("nc")
        .args(["-N", "-w", "10", host, port])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("cannot run nc (netcat-openbsd)");
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const ECHO_GRANTS: &str = "wasock.dev/allow=tcp-bind=127.0.0.1:* tcp-accept=127.0.0.0/8:*";

/// Run an echo `image` as container `id` with [`ECHO_GRANTS`], echo a line
/// through it with `nc`, stop it with SIGTERM; its stderr. Its exit status
/// must be that of a process ended by SIGTERM.
fn echo_once(ctd: &Containerd, id: &str, image: &str) -> String {
    let mut echo = ctd.run(id, image, &["--annotation", ECHO_GRANTS], &[]);
    let addr = echo.listening();
    let line = format!("hello {id} from nc\n");
    assert_eq!(nc(&addr, &line), line);
    ctd.kill(id, "SIGTERM");
    let (status, err) = echo.finish();
    assert_eq!(status, 128 + 15, "{id}: {err}");
    err
}

#[test]
fn tcp_echo_serves_nc_and_stops_on_sigterm_with_its_status() {
    let ctd = Containerd::start();
    let image = ctd.import("tcp-echo", TCP_ECHO, |b| b.arg("127.0.0.1:0"));
    let err = echo_once(&ctd, "echo1", &image);
    assert!(err.contains("wasock: policy"), "{err}");
    assert!(
        err.contains("allow tcp-bind=127.0.0.1:* (annotation)"),
        "{err}"
    );
    assert!(err.contains("stopping the guest on SIGTERM"), "{err}");
}

#[test]
fn wasi_0_2_and_0_3_guests_run_as_containers_too() {
    let ctd = Containerd::start();
    // tokio over wasi:sockets@0.2, and a WASI 0.3 guest on its own engine.
    for (name, program) in [("tokio-echo", TOKIO_ECHO), ("p3-echo", P3_ECHO)] {
        let image = ctd.import(name, program, |b| b.arg("127.0.0.1:0"));
        echo_once(&ctd, name, &image);
    }
}

#[test]
fn a_refusal_in_the_annotations_wins_over_the_image_policy() {
    let ctd = Containerd::start();
    let policy = "allow = [\"tcp-bind=127.0.0.1:*\", \"tcp-accept=127.0.0.0/8:*\"]\n";
    let image = ctd.import("echo-with-policy", TCP_ECHO, |b| {
        b.policy(policy.as_bytes().to_vec()).arg("127.0.0.1:0")
    });
    // The image's own grants let it listen.
    let mut granted = ctd.run("granted", &image, &[], &[]);
    let addr = granted.listening();
    assert_eq!(nc(&addr, "x\n"), "x\n");
    ctd.kill("granted", "SIGKILL");
    let (status, err) = granted.finish();
    assert_eq!(status, 128 + 9, "{err}");
    assert!(
        err.contains("allow tcp-bind=127.0.0.1:* (/etc/wasock/policy.toml:1)"),
        "{err}"
    );
    // A refusal in the annotations wins: the guest is told access-denied,
    // the denial is in the container's log, and its exit status is the task's.
    let denied = ctd.run(
        "denied",
        &image,
        &["--annotation", "wasock.dev/deny=tcp-bind=127.0.0.1:*"],
        &[],
    );
    let (status, err) = denied.finish();
    assert_eq!(status, 1, "{err}");
    assert!(
        err.contains("denied tcp-bind 127.0.0.1:0 by --deny tcp-bind=127.0.0.1:*"),
        "{err}"
    );
    assert!(err.contains("[access-denied]"), "{err}");
}

#[test]
fn a_policy_that_does_not_parse_fails_the_container_at_start() {
    let ctd = Containerd::start();
    let image = ctd.import("bad-policy", TCP_ECHO, |b| {
        b.policy(b"allow = [\"tcp-bind=nowhere:xyz\"]\n".to_vec())
    });
    let (status, err) = ctd.run("bad", &image, &[], &[]).finish();
    assert_eq!(status, 2, "{err}");
    assert!(err.contains("/etc/wasock/policy.toml"), "{err}");
    let (status, err) = ctd
        .run(
            "unknown",
            &image,
            &["--annotation", "wasock.dev/alow=tcp-bind=*"],
            &[],
        )
        .finish();
    assert_eq!(status, 2, "{err}");
    assert!(err.contains("unknown annotation wasock.dev/alow"), "{err}");
}

#[test]
fn serve_mode_answers_curl_and_drains_on_sigterm() {
    let ctd = Containerd::start();
    let image = ctd.import("http-hello", HTTP_HELLO, |b| b);
    let mut server = ctd.run(
        "hello",
        &image,
        &[
            "--annotation",
            "wasock.dev/mode=serve",
            "--annotation",
            "wasock.dev/listen=127.0.0.1:0",
            "--annotation",
            "wasock.dev/allow=tcp-accept=127.0.0.0/8:*",
            "--annotation",
            "wasock.dev/workers=1",
        ],
        &[],
    );
    let addr = server.listening();
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10", &format!("http://{addr}/")])
        .output()
        .expect("cannot run curl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.stdout.is_empty());
    ctd.kill("hello", "SIGTERM");
    let (status, err) = server.finish();
    assert_eq!(status, 0, "{err}");
    assert!(err.contains("served 1 connections"), "{err}");
    assert!(err.contains("drained cleanly"), "{err}");
}

#[test]
fn the_container_memory_limit_is_the_instance_memory_limit() {
    let ctd = Containerd::start();
    let image = ctd.import("memory", LIMIT_MEMORY, |b| b);
    let limit = (256u64 << 20).to_string();
    // Arguments after the container's id are its whole command line.
    let mut small = ctd.run(
        "small",
        &image,
        &["--memory-limit", &limit],
        &["/app.wasm", "16"],
    );
    assert_eq!(small.line_starting("ok"), "ok allocated 16");
    let (status, err) = small.finish();
    assert_eq!(status, 0, "{err}");
    let (status, err) = ctd
        .run(
            "large",
            &image,
            &["--memory-limit", &limit],
            &["/app.wasm", "512"],
        )
        .finish();
    assert_ne!(status, 0, "{err}");
    // Stopped by its instance limit, with a message, before the kernel's
    // limit for the container would kill it without one.
    assert!(err.contains("exceeded its memory limit"), "{err}");
    assert!(err.contains("over its limit of 201326592"), "{err}");
}

#[test]
fn twenty_containers_in_turn_leave_no_shim_mount_or_descriptor_behind() {
    let ctd = Containerd::start();
    let image = ctd.import("churn", TCP_ECHO, |b| b.arg("127.0.0.1:0"));
    let fds = || {
        std::fs::read_dir(format!("/proc/{}/fd", ctd.daemon.id()))
            .unwrap()
            .count()
    };
    let shims = || {
        let out = Command::new("pgrep")
            .args(["-f", ctd.socket().to_str().unwrap()])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).lines().count()
    };
    let mut fds_after_first = 0;
    for i in 0..20 {
        echo_once(&ctd, &format!("churn{i}"), &image);
        if i == 0 {
            fds_after_first = fds();
        }
    }
    // `ctr run --rm` has removed each container when it returned.
    let left = String::from_utf8_lossy(&ctd.ctr(&["containers", "list", "-q"]).stdout).into_owned();
    assert_eq!(left.trim(), "", "containers left");
    let began = Instant::now();
    while shims() > 0 {
        assert!(
            began.elapsed() < PATIENCE,
            "shim processes left: {}",
            shims()
        );
        thread::sleep(Duration::from_millis(50));
    }
    let rootfs_mounts: Vec<String> = mounts_under(&ctd.dir)
        .into_iter()
        .filter(|m| m.contains("rootfs"))
        .collect();
    assert!(rootfs_mounts.is_empty(), "{rootfs_mounts:#?}");
    let fds_now = fds();
    assert!(
        fds_now <= fds_after_first + 2,
        "containerd's descriptors went from {fds_after_first} to {fds_now}"
    );
}
