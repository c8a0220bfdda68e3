//! The shim under real containerd (Debian's `containerd`, started by each
//! test with its own root, state and socket in a temporary folder): images
//! written by [`ImageBuilder`], imported with `ctr image import`, run with
//! `ctr run --runtime io.containerd.wasock.v1`, and talked to with `nc`
//! and `curl` over loopback. Needs root, `containerd`, `ctr`, `nc` and
//! `curl` (`.ci/run` installs them); without them these tests fail.

use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use containerd_shim_wasock::harness::{self, Containerd, mounts_under};
use wasock_test_programs::{HTTP_HELLO, LIMIT_MEMORY, P3_ECHO, PROVIDER_TAP, TCP_ECHO, TOKIO_ECHO};

const SHIM: &str = env!("CARGO_BIN_EXE_containerd-shim-wasock-v1");

fn containerd() -> Containerd {
    Containerd::start(Path::new(SHIM).parent().unwrap())
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
/// must be that of a process ended by SIGTERM. `extra`: more `ctr run`
/// flags.
fn echo_once(ctd: &Containerd, id: &str, image: &str, extra: &[&str]) -> String {
    let mut flags = vec!["--annotation", ECHO_GRANTS];
    flags.extend_from_slice(extra);
    let mut echo = ctd.run(id, image, &flags, &[]);
    let addr = echo.listening();
    let line = format!("hello {id} from nc\n");
    assert_eq!(nc(&addr, &line), line);
    ctd.kill(id, "SIGTERM");
    let (status, err) = echo.finish();
    assert_eq!(status, 128 + 15, "{id}: {err}");
    err
}

/// Start an echo `image` twice as containers `ID1` and `ID2` with
/// [`echo_once`] (and `extra` flags), the cache logged; between them the
/// background compiles of the first end and leave no staged file, and the
/// second takes its component from the cache. Both starts' stderr.
fn started_twice(ctd: &Containerd, id: &str, image: &str, extra: &[&str]) -> (String, String) {
    let mut flags = vec!["--annotation", "wasock.dev/log=wasock::cache=info"];
    flags.extend_from_slice(extra);
    let first = echo_once(ctd, &format!("{id}1"), image, &flags);
    ctd.wait_for_background_compiles();
    assert_eq!(ctd.staged_files(), Vec::<String>::new());
    let second = echo_once(ctd, &format!("{id}2"), image, &flags);
    assert!(
        second.contains(": taken from the compilation cache"),
        "{second}"
    );
    (first, second)
}

#[test]
fn tcp_echo_serves_nc_and_stops_on_sigterm_with_its_status() {
    let ctd = containerd();
    let image = ctd.import("tcp-echo", TCP_ECHO, |b| b.arg("127.0.0.1:0"));
    let err = echo_once(&ctd, "echo1", &image, &[]);
    assert!(err.contains("wasock: policy"), "{err}");
    assert!(
        err.contains("allow tcp-bind=127.0.0.1:* (annotation)"),
        "{err}"
    );
    assert!(err.contains("stopping the guest on signal 15"), "{err}");
    // The guest's policy counters, logged as it is stopped.
    assert!(err.contains("counters: allowed: tcp-bind "), "{err}");
    assert!(err.contains("tcp-accept 1; denied: none"), "{err}");
}

#[test]
fn a_second_start_takes_the_component_from_the_cache() {
    let ctd = containerd();
    let image = ctd.import("cached-echo", TCP_ECHO, |b| b.arg("127.0.0.1:0"));
    let (first, second) = started_twice(&ctd, "cached", &image, &[]);
    // Compiled, unless the background compile of this very start was
    // quicker than the container.
    assert!(first.contains("/app.wasm: "), "{first}");
    assert!(
        second.contains("/app.wasm: taken from the compilation cache"),
        "{second}"
    );
}

#[test]
fn a_provider_named_by_annotation_runs_under_the_app_and_is_cached_too() {
    let ctd = containerd();
    let tap = std::fs::read(PROVIDER_TAP).unwrap();
    let image = ctd.import("tapped-echo", TCP_ECHO, |b| {
        b.arg("127.0.0.1:0").file("/providers/tap.wasm", tap, 0o644)
    });
    let tap = ["--annotation", "wasock.dev/provider=/providers/tap.wasm"];
    // The background compile composes the same files and fills the cache.
    let (first, second) = started_twice(&ctd, "tapped", &image, &tap);
    // The tap logs each accept and each closed connection's counts.
    assert!(first.contains("tap: accept 127.0.0.1:"), "{first}");
    assert!(first.contains("sent=22 received=22"), "{first}");
    assert!(
        second.contains("/app.wasm: taken from the compilation cache"),
        "{second}"
    );
    assert!(second.contains("tap: accept 127.0.0.1:"), "{second}");
    // A provider path the image lacks fails the container, naming it.
    let missing = ctd.run(
        "untapped",
        &image,
        &[
            "--annotation",
            ECHO_GRANTS,
            "--annotation",
            "wasock.dev/provider=/providers/none.wasm",
        ],
        &[],
    );
    let (status, err) = missing.finish();
    assert_ne!(status, 0, "{err}");
    assert!(err.contains("/providers/none.wasm"), "{err}");
}

#[test]
fn a_wasm_layer_image_runs_on_containerd_1_7_and_is_cached_too() {
    // runwasi's other kind of image: the component is the image's one
    // layer (platform wasip1/wasm), which containerd 1.7 passes to the shim.
    let ctd = Containerd::start_1_7(Path::new(SHIM).parent().unwrap());
    let image = ctd.import("layered-echo", TCP_ECHO, |b| {
        b.arg("127.0.0.1:0").as_wasm_layer()
    });
    // runwasi's precompile hook starts the background compile of the
    // layer; once it ends, the next start finds the component compiled.
    let (first, _) = started_twice(&ctd, "layered", &image, &[]);
    assert!(
        first.contains("allow tcp-bind=127.0.0.1:* (annotation)"),
        "{first}"
    );
    // The policy holds as for a plain image: without a grant to listen,
    // the guest is refused and says so.
    let (status, err) = ctd.run("layered3", &image, &[], &[]).finish();
    assert_ne!(status, 0, "{err}");
    assert!(err.contains("denied tcp-bind 127.0.0.1:0"), "{err}");
    // The advice is the annotation the container's user sets, not a flag.
    assert!(
        err.contains("add tcp-bind=127.0.0.1:0 to the wasock.dev/allow annotation"),
        "{err}"
    );
    assert!(err.contains("(access-denied)"), "{err}");
}

#[test]
fn a_native_program_is_never_run_natively_under_the_wasock_runtime() {
    let ctd = containerd();
    // runwasi would run an ELF entrypoint as an ordinary Linux container,
    // without wasock; the shim's start step makes it a wasm entrypoint,
    // which the sandbox refuses.
    let image = ctd.import_image(
        &harness::native_image("docker.io/wasock/native:test", Path::new("/bin/echo")).image,
    );
    let (status, err) = ctd
        .run("native", &image, &[], &["/program", "ran natively"])
        .finish();
    assert_ne!(status, 0, "{err}");
    assert!(!err.contains("ran natively"), "{err}");
    assert!(err.contains("can't handle"), "{err}");
}

#[test]
fn kubernetes_pod_sandbox_still_runs_natively() {
    // The CRI runs each pod's pause container under the pod's runtime; it
    // is the one native program the shim lets runwasi run.
    let ctd = containerd();
    let image = ctd.import_image(
        &harness::native_image("docker.io/wasock/pause:test", Path::new("/bin/echo")).image,
    );
    let mut pause = ctd.run(
        "pause",
        &image,
        &["--annotation", "io.kubernetes.cri.container-type=sandbox"],
        &["/program", "sandbox ran"],
    );
    assert_eq!(pause.line_starting("sandbox"), "sandbox ran");
    let (status, err) = pause.finish();
    assert_eq!(status, 0, "{err}");
}

#[test]
fn guest_arguments_that_look_like_flags_grant_nothing() {
    let ctd = containerd();
    let image = ctd.import("flag-echo", TCP_ECHO, |b| b);
    let (status, err) = ctd
        .run(
            "flags",
            &image,
            &[],
            &["/app.wasm", "--allow", "tcp-bind=*"],
        )
        .finish();
    assert_eq!(status, 1, "{err}");
    assert!(
        err.contains("no rules: every network operation is refused"),
        "{err}"
    );
    assert!(err.contains("tcp-echo: cannot listen on --allow"), "{err}");
}

#[test]
fn wasi_0_2_and_0_3_guests_run_as_containers_too() {
    let ctd = containerd();
    // tokio over wasi:sockets@0.2, and a WASI 0.3 guest on its own engine.
    for (name, program) in [("tokio-echo", TOKIO_ECHO), ("p3-echo", P3_ECHO)] {
        let image = ctd.import(name, program, |b| b.arg("127.0.0.1:0"));
        echo_once(&ctd, name, &image, &[]);
    }
}

#[test]
fn a_refusal_in_the_annotations_wins_over_the_image_policy() {
    let ctd = containerd();
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
    assert!(err.contains("(access-denied)"), "{err}");
}

#[test]
fn a_policy_that_does_not_parse_fails_the_container_at_start() {
    let ctd = containerd();
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
    let ctd = containerd();
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
    assert!(err.contains("served 1 connection ("), "{err}");
    assert!(err.contains("drained cleanly"), "{err}");
}

#[test]
fn the_container_memory_limit_is_the_instance_memory_limit() {
    let ctd = containerd();
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
    let ctd = containerd();
    let image = ctd.import("churn", TCP_ECHO, |b| b.arg("127.0.0.1:0"));
    let fds = || {
        std::fs::read_dir(format!("/proc/{}/fd", ctd.pid()))
            .unwrap()
            .count()
    };
    let mut fds_after_first = 0;
    for i in 0..20 {
        echo_once(&ctd, &format!("churn{i}"), &image, &[]);
        if i == 0 {
            fds_after_first = fds();
        }
    }
    // `ctr run --rm` has removed each container when it returned.
    let left = String::from_utf8_lossy(&ctd.ctr(&["containers", "list", "-q"]).stdout).into_owned();
    assert_eq!(left.trim(), "", "containers left");
    // Processes of this containerd's containers: shims (named with its
    // socket) and background compiles (named with a bundle in its folder).
    // The trailing `/`: not the folders of other tests' containerds.
    ctd.wait_until_no_process(&format!("{}/", ctd.dir().display()), "shims and compiles");
    let rootfs_mounts: Vec<String> = mounts_under(ctd.dir())
        .into_iter()
        .filter(|m| m.contains("rootfs"))
        .collect();
    assert!(rootfs_mounts.is_empty(), "{rootfs_mounts:#?}");
    // Connections from the last `ctr` may take a moment to close.
    let began = Instant::now();
    while fds() > fds_after_first && began.elapsed() < Duration::from_secs(10) {
        thread::sleep(Duration::from_millis(50));
    }
    let fds_now = fds();
    assert!(
        fds_now <= fds_after_first,
        "containerd's descriptors went from {fds_after_first} to {fds_now}"
    );
}
