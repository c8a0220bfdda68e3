//! C programs on wasock: sources compiled with `guest-sdk-c/wasock-cc`
//! (clang-19 and wasi-libc from Debian), run by the real `wasock` binary
//! against real peers: a differential test against the same source built
//! for Linux, the error table against the WIT's documentation, and the
//! examples driven by `nc` and an HTTP server. The C toolchain is
//! required: without it these tests fail and say what to install.

use std::collections::HashMap;
use std::fs;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};

use wasmtime_wasi::{FsPerms, WasiCtxBuilder};
use wasock_host::runtime::{GuestExit, WasockCtx};

use crate::common::{
    Guest, PATIENCE, allow, pattern, prepared, run, run_server, runner, spawn_with_wasi, tokio_rt,
};

/// The repository's root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Where the compiled C programs go.
fn out_dir() -> PathBuf {
    let dir = root().join("target").join("c-programs");
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// Run a build step; panic with its output (and what to install) if it fails.
fn build(what: &str, cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: could not start {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}{}\n(the C tests need: apt-get install clang-19 lld-19 wasi-libc \
         libclang-rt-19-dev-wasm32 gcc-mingw-w64-x86-64)",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
}

/// `sources` (relative to the root) compiled with wasock-cc into
/// `NAME.wasm`, once per test process.
fn component(name: &str, sources: &[&str]) -> String {
    component_with(name, &[], sources)
}

/// [`component`] with wasock-cc's own `flags` (`--handler`). Builds are
/// serialised: wasock-cc rebuilds its library in place when the
/// library's sources change.
pub(crate) fn component_with(name: &str, flags: &[&str], sources: &[&str]) -> String {
    static BUILT: OnceLock<Mutex<HashMap<String, String>>> = OnceLock::new();
    let mut built = BUILT.get_or_init(Default::default).lock().unwrap();
    if let Some(path) = built.get(name) {
        return path.clone();
    }
    let out = out_dir().join(format!("{name}.wasm"));
    let mut cmd = Command::new(root().join("guest-sdk-c").join("wasock-cc"));
    cmd.current_dir(root())
        .args(flags)
        .args(["-O2", "-Wall", "-Wextra", "-Werror", "-o"])
        .arg(&out)
        .args(sources);
    build(&format!("wasock-cc {name}"), &mut cmd);
    let path = out.to_str().unwrap().to_string();
    built.insert(name.to_string(), path.clone());
    path
}

/// `sources` (relative to the root) compiled for Linux with the system's `cc`.
fn native(name: &str, sources: &[&str]) -> PathBuf {
    let out = out_dir().join(format!("{name}-native"));
    let mut cmd = Command::new("cc");
    cmd.current_dir(root())
        .args(["-O2", "-Wall", "-Wextra", "-Werror", "-o"])
        .arg(&out)
        .args(sources);
    build(&format!("cc {name}"), &mut cmd);
    out
}

/// `CASE: RESULT` lines as a map, checking the final `cases: N` count.
fn cases(lines: &[String], side: &str) -> Vec<(String, String)> {
    let (last, body) = lines
        .split_last()
        .unwrap_or_else(|| panic!("{side}: no output"));
    let count: usize = last
        .strip_prefix("cases: ")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{side}: last line {last:?} is not `cases: N`"));
    let parsed: Vec<(String, String)> = body
        .iter()
        .map(|l| {
            let (k, v) = l
                .split_once(": ")
                .unwrap_or_else(|| panic!("{side}: line {l:?} is not `CASE: RESULT`"));
            (k.to_string(), v.to_string())
        })
        .collect();
    assert_eq!(parsed.len(), count, "{side}: case count");
    parsed
}

/// One C program (every `.c` file in `tests/c/differential`), built for
/// Linux and for wasock, run both ways: every case's result must match,
/// except the differences listed (with the WIT's reason) in
/// `tests/c/differential.expected`.
#[test]
fn the_same_c_source_behaves_as_on_linux_case_by_case() {
    let mut sources: Vec<String> = fs::read_dir(root().join("tests/c/differential"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|f| f.ends_with(".c"))
        .map(|f| format!("tests/c/differential/{f}"))
        .collect();
    sources.sort();
    let sources: Vec<&str> = sources.iter().map(String::as_str).collect();
    let wasm = component("differential", &sources);
    let native = native("differential", &sources);

    let out = Command::new(&native)
        .stdin(Stdio::null())
        .output()
        .expect("run the native build");
    let native_lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    assert!(
        out.status.success(),
        "native run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut args = vec!["run"];
    args.extend_from_slice(crate::common::LOOPBACK_GRANTS);
    args.push(&wasm);
    let (code, wasm_lines, stderr) = run(&args);
    assert_eq!(code, 0, "wasock run failed:\n{stderr}");

    let expected: HashMap<String, String> =
        fs::read_to_string(root().join("tests/c/differential.expected"))
            .unwrap()
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .map(|l| {
                let (case, rest) = l.split_once(": ").expect("CASE: RESULT | reason");
                let (result, reason) = rest.split_once(" | ").expect("a reason after ` | `");
                assert!(!reason.trim().is_empty(), "{case}: empty reason");
                (case.to_string(), result.to_string())
            })
            .collect();

    let native_cases = cases(&native_lines, "native");
    let wasm_cases = cases(&wasm_lines, "wasock");
    assert!(
        native_cases.len() >= 20,
        "only {} cases",
        native_cases.len()
    );
    let names = |c: &[(String, String)]| c.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
    assert_eq!(
        names(&native_cases),
        names(&wasm_cases),
        "case lists differ"
    );

    let mut failures = Vec::new();
    let mut documented = 0;
    for ((case, linux), (_, wasock)) in native_cases.iter().zip(&wasm_cases) {
        match expected.get(case) {
            Some(want) if want == wasock && linux != wasock => documented += 1,
            Some(want) => failures.push(format!(
                "{case}: listed as differing (wasock {want:?}) but Linux {linux:?}, wasock {wasock:?}"
            )),
            None if linux != wasock => {
                failures.push(format!("{case}: Linux {linux:?}, wasock {wasock:?}"))
            }
            None => {}
        }
    }
    for case in expected.keys() {
        assert!(
            native_cases.iter().any(|(k, _)| k == case),
            "differential.expected names unknown case {case}"
        );
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from Linux:\n{}",
        failures.len(),
        native_cases.len(),
        failures.join("\n")
    );
    assert!(documented <= expected.len());
}

/// For each `error-code` case, the WIT names its Winsock code first and
/// its POSIX one after ` / `: the C library's table says the same.
#[test]
fn every_error_code_maps_to_the_errno_and_wsa_code_the_wit_documents() {
    let wasm = component("errors", &["tests/c/errors.c"]);
    let (code, lines, stderr) = run(&["run", &wasm]);
    assert_eq!(code, 0, "{stderr}");
    let table: HashMap<&str, HashMap<&str, &str>> = lines
        .iter()
        .filter(|l| !l.starts_with("out-of-range"))
        .map(|l| {
            let mut words = l.split(' ');
            let name = words.next().unwrap();
            let fields = words.filter_map(|w| w.split_once('=')).collect();
            (name, fields)
        })
        .collect();
    assert!(
        lines.iter().any(|l| l == "out-of-range name=null"),
        "{lines:?}"
    );

    let wit = fs::read_to_string(root().join("wit/types.wit")).unwrap();
    let documented = error_code_docs(&wit);
    assert_eq!(documented.len(), 28, "error-code cases in types.wit");
    assert_eq!(table.len(), documented.len(), "C table rows: {lines:?}");
    for (case, doc) in &documented {
        let row = table
            .get(case.as_str())
            .unwrap_or_else(|| panic!("{case} missing from the C table"));
        if case == "unknown" {
            assert_eq!(row["wsa"], "10107", "unknown is WSASYSCALLFAILURE");
            continue;
        }
        let ticks: Vec<&str> = doc.split('`').skip(1).step_by(2).collect();
        let wsa = ticks[0];
        let posix = doc
            .split_once(" / `")
            .and_then(|(_, r)| r.split('`').next())
            .unwrap_or_else(|| panic!("{case}: no POSIX name in {doc:?}"));
        assert_eq!(
            row["wsa"],
            wsa_value(wsa).to_string(),
            "{case}: WIT says {wsa}"
        );
        if posix.starts_with("EAI_") {
            assert_eq!(row["eai"], posix, "{case}");
        } else {
            assert_eq!(same_errno(row["errno"]), same_errno(posix), "{case}");
        }
        // The WIT's note on timeouts: EAGAIN from a send or receive.
        let transfer = if doc.contains("`EAGAIN` from a receive or send timeout") {
            "EAGAIN"
        } else {
            row["errno"]
        };
        assert_eq!(row["transfer"], transfer, "{case}");
    }
}

/// errno names that are one value in wasi-libc.
fn same_errno(name: &str) -> &str {
    match name {
        "EWOULDBLOCK" => "EAGAIN",
        "ENOTSUP" => "EOPNOTSUPP",
        other => other,
    }
}

/// Windows' values for the Winsock codes the WIT names.
fn wsa_value(name: &str) -> u32 {
    match name {
        "WSAEACCES" => 10013,
        "WSAEINVAL" => 10022,
        "WSAEMFILE" => 10024,
        "WSAEWOULDBLOCK" => 10035,
        "WSAEINPROGRESS" => 10036,
        "WSAEALREADY" => 10037,
        "WSAEDESTADDRREQ" => 10039,
        "WSAEMSGSIZE" => 10040,
        "WSAENOPROTOOPT" => 10042,
        "WSAEOPNOTSUPP" => 10045,
        "WSAEAFNOSUPPORT" => 10047,
        "WSAEADDRINUSE" => 10048,
        "WSAEADDRNOTAVAIL" => 10049,
        "WSAENETDOWN" => 10050,
        "WSAENETUNREACH" => 10051,
        "WSAECONNABORTED" => 10053,
        "WSAECONNRESET" => 10054,
        "WSAENOBUFS" => 10055,
        "WSAEISCONN" => 10056,
        "WSAENOTCONN" => 10057,
        "WSAESHUTDOWN" => 10058,
        "WSAETIMEDOUT" => 10060,
        "WSAECONNREFUSED" => 10061,
        "WSAEHOSTUNREACH" => 10065,
        "WSAHOST_NOT_FOUND" => 11001,
        "WSATRY_AGAIN" => 11002,
        "WSANO_RECOVERY" => 11003,
        other => panic!("the WIT names {other}, which this test does not know"),
    }
}

/// Each case of `enum error-code` with its doc comment, in order.
fn error_code_docs(wit: &str) -> Vec<(String, String)> {
    let body = wit
        .split_once("enum error-code {")
        .expect("enum error-code")
        .1
        .split_once('}')
        .unwrap()
        .0;
    let mut out = Vec::new();
    let mut doc = String::new();
    for line in body.lines().map(str::trim) {
        if let Some(d) = line.strip_prefix("///") {
            doc.push_str(d.trim());
            doc.push(' ');
        } else if let Some(case) = line.strip_suffix(',') {
            out.push((case.to_string(), std::mem::take(&mut doc)));
        }
    }
    out
}

/// The bindings in `guest-sdk-c/gen` (programs) and `gen/handler`
/// (connection handlers) were generated from today's WIT.
#[test]
fn the_c_bindings_were_generated_from_the_current_wit() {
    let mut files: Vec<String> = fs::read_dir(root().join("wit"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".wit"))
        .collect();
    files.sort();
    let out = Command::new("sha256sum")
        .current_dir(root().join("wit"))
        .args(&files)
        .output()
        .expect("sha256sum");
    let now = String::from_utf8(out.stdout).unwrap();
    for (dir, world) in [("gen", "imports"), ("gen/handler", "connection-handler")] {
        let then =
            fs::read_to_string(root().join("guest-sdk-c").join(dir).join("wit.sha256")).unwrap();
        assert_eq!(
            now, then,
            "wit/ changed since guest-sdk-c/{dir} was generated; regenerate with\n  \
             wit-bindgen c wit --world {world} --rename-world wasock_sockets \
             --out-dir guest-sdk-c/{dir}\n\
             (wit-bindgen-cli 0.63) and then: (cd wit && sha256sum *.wit) > guest-sdk-c/{dir}/wit.sha256"
        );
    }
}

/// Echo `payload` through `addr` with a plain client: write it all, shut
/// down the sending side, read to the end.
fn echo_through(addr: SocketAddr, payload: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    s.set_write_timeout(Some(PATIENCE)).unwrap();
    let mut reader = s.try_clone().unwrap();
    let got = std::thread::spawn(move || {
        let mut got = Vec::new();
        reader.read_to_end(&mut got).unwrap();
        got
    });
    s.write_all(payload).unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    got.join().unwrap()
}

/// `nc` sends `input` to `addr` and returns what came back.
fn nc(addr: SocketAddr, input: &[u8]) -> Vec<u8> {
    let mut child = Command::new("nc")
        .args([
            "-N",
            "-w",
            "30",
            &addr.ip().to_string(),
            &addr.port().to_string(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("`nc` (netcat-openbsd) is required by this test");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let feeder = std::thread::spawn(move || stdin.write_all(&input));
    let out: Output = child.wait_with_output().unwrap();
    feeder.join().unwrap().unwrap();
    assert!(
        out.status.success(),
        "nc: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Drive an echo server: nc, several clients at once, 1 MiB through one.
fn serves_echo_clients(g: &Guest, addr: SocketAddr) {
    assert_eq!(
        g.line(),
        format!("connect with: nc {} {}", addr.ip(), addr.port())
    );
    assert_eq!(nc(addr, b"hello from nc\n"), b"hello from nc\n");
    let clients: Vec<_> = (0..8)
        .map(|i| {
            std::thread::spawn(move || {
                let p = pattern(10_000 + i * 1000, i as u64);
                assert_eq!(echo_through(addr, &p), p, "client {i}");
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    let big = pattern(1 << 20, 99);
    assert!(echo_through(addr, &big) == big, "1 MiB echoed back intact");
    assert!(g.stderr().is_empty(), "stderr: {}", g.stderr());
}

/// `examples/c-echo`: a poll() server in C, served to nc and to many
/// clients at once.
#[test]
fn c_echo_serves_nc_and_many_clients() {
    let wasm = component("c-echo", &["examples/c-echo/echo.c"]);
    let (g, addr) = run_server(&wasm, &[], &[]);
    serves_echo_clients(&g, addr);
}

/// `examples/winsock-echo`: a Winsock source (WSAStartup, ioctlsocket,
/// select, closesocket) built unchanged for wasock serves nc.
#[test]
fn winsock_echo_serves_nc_and_many_clients() {
    let wasm = component("winsock-echo", &["examples/winsock-echo/echo.c"]);
    let mut args = vec![
        "run",
        "--allow",
        "tcp-bind=127.0.0.1:*",
        "--allow",
        "tcp-accept=127.0.0.1:*",
    ];
    args.extend_from_slice(&[&wasm, "127.0.0.1", "0"]);
    let g = Guest::spawn(&args);
    let addr = g.listening_addr();
    serves_echo_clients(&g, addr);
}

/// `src` (relative to the root) is a Windows program: no wasock `#ifdef`
/// in it, and MinGW-w64 compiles and links it against Windows' Ws2_32
/// into `NAME.exe`.
fn builds_for_windows(name: &str, src: &str) {
    let text = fs::read_to_string(root().join(src)).unwrap();
    for marker in ["wasock", "__wasi", "__wasm"] {
        assert!(!text.contains(marker), "{src} mentions {marker}");
    }
    let exe = out_dir().join(format!("{name}.exe"));
    let mut cmd = Command::new("x86_64-w64-mingw32-gcc");
    cmd.current_dir(root())
        .args(["-O2", "-Wall", "-Wextra", "-Werror", "-o"])
        .arg(&exe)
        .args([src, "-lws2_32"]);
    build(
        &format!("x86_64-w64-mingw32-gcc {src} (Windows build)"),
        &mut cmd,
    );
    let bytes = fs::read(&exe).unwrap();
    assert_eq!(&bytes[..2], b"MZ", "{src}: a Windows executable");
}

/// The Winsock example is a Windows program: MinGW-w64 compiles and links
/// the same file against Windows' Ws2_32, with no wasock `#ifdef` in it.
#[test]
fn winsock_echo_source_also_builds_for_windows() {
    builds_for_windows("winsock-echo", "examples/winsock-echo/echo.c");
}

/// `tests/c/winsock.c`, a Windows source, checks Winsock's own behaviour
/// case by case against Windows' documentation (WSAStartup's versions,
/// WSAEWOULDBLOCK, select's sets, WSAPoll's flag values, `SO_RCVTIMEO` as
/// a `DWORD` of milliseconds, `SD_*`, the `WSAE*` codes): every case says
/// `ok`.
#[test]
fn winsock_calls_behave_as_windows_documents_case_by_case() {
    let wasm = component("winsock", &["tests/c/winsock.c"]);
    let (code, lines, stderr) = run(&[
        "run",
        "--allow",
        "tcp-bind=127.0.0.1:*",
        "--allow",
        "tcp-connect=127.0.0.1:*",
        "--allow",
        "tcp-accept=127.0.0.1:*",
        &wasm,
    ]);
    let wrong: Vec<&str> = lines
        .iter()
        .filter(|l| l.contains("WRONG"))
        .map(String::as_str)
        .collect();
    assert!(
        wrong.is_empty(),
        "{} cases differ from Windows:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert_eq!(code, 0, "{}\n{stderr}", lines.join("\n"));
    let results = cases(&lines, "winsock");
    assert!(results.len() >= 15, "only {} cases", results.len());
    for (case, result) in &results {
        assert_eq!(result, "ok", "{case}");
    }
}

/// The Winsock test is a Windows program too: it builds with MinGW-w64.
#[test]
fn winsock_test_source_also_builds_for_windows() {
    builds_for_windows("winsock-test", "tests/c/winsock.c");
}

/// A one-request HTTP server on 127.0.0.1: answers `body` to the first
/// GET and returns the request it saw.
fn http_once(body: &'static str) -> (SocketAddr, std::thread::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(PATIENCE)).unwrap();
        let mut req = Vec::new();
        let mut buf = [0u8; 1024];
        while !req.ends_with(b"\r\n\r\n") {
            let n = s.read(&mut buf).unwrap();
            assert!(n > 0, "request ended early: {req:?}");
            req.extend_from_slice(&buf[..n]);
        }
        write!(
            s,
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        String::from_utf8(req).unwrap()
    });
    (addr, server)
}

/// `examples/c-fetch`: getaddrinfo of a name the policy grants, then a
/// GET to the address the host resolved for it.
#[test]
fn c_fetch_gets_a_page_by_name_under_a_name_grant() {
    let wasm = component("c-fetch", &["examples/c-fetch/fetch.c"]);
    let (addr, server) = http_once("fetched by C\n");
    let port = addr.port();
    let url = format!("http://fetch.test:{port}/page");
    let connect = format!("tcp-connect=fetch.test:{port}");
    let (code, lines, stderr) = run(&[
        "run",
        "--resolve",
        "fetch.test=127.0.0.1",
        "--allow",
        "resolve=fetch.test",
        "--allow",
        &connect,
        &wasm,
        &url,
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(lines, ["fetched by C"]);
    assert!(stderr.contains("200"), "status line on stderr: {stderr}");
    let req = server.join().unwrap();
    assert!(req.starts_with("GET /page HTTP/1.1\r\n"), "{req}");
    assert!(
        req.to_ascii_lowercase()
            .contains(&format!("host: fetch.test:{port}")),
        "{req}"
    );
}

/// Without the grants, c-fetch fails and its message says what to grant;
/// the host logs the denial.
#[test]
fn c_fetch_without_grants_says_what_to_allow() {
    let wasm = component("c-fetch", &["examples/c-fetch/fetch.c"]);
    let (code, lines, stderr) = run(&[
        "run",
        "--resolve",
        "fetch.test=127.0.0.1",
        &wasm,
        "http://fetch.test:9/",
    ]);
    assert_eq!(code, 1, "stdout {lines:?}, stderr {stderr}");
    assert!(stderr.contains("fetch.test"), "{stderr}");
    assert!(stderr.contains("--allow resolve=fetch.test"), "{stderr}");
}

/// Files and sockets in one program: with a directory preopened (as an
/// embedder may give one), a file opened while a socket is open never
/// gets the socket's number, and each descriptor reaches its own object.
/// `wasock run --dir` gives a C program a directory it reads and writes;
/// `--read-dir` one it reads only; a missing directory is refused before
/// the guest starts, naming it.
#[test]
fn run_gives_the_guest_the_directories_named_on_its_command_line() {
    let wasm = component("files", &["tests/c/files.c"]);
    let dir = out_dir().join(format!("files-run-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let grants = [
        "--allow",
        "udp-bind=127.0.0.1:*",
        "--allow",
        "udp-send=127.0.0.1:*",
        "--allow",
        "udp-recv=127.0.0.1:*",
    ];
    let mapping = format!("{}::/data", dir.display());
    let mut args = vec!["run", "--dir", &mapping];
    args.extend_from_slice(&grants);
    args.push(&wasm);
    let (code, out, err) = run(&args);
    assert_eq!(code, 0, "{}\n{err}", out.join("\n"));
    assert_eq!(out.len(), 12, "{}", out.join("\n"));
    assert_eq!(
        fs::read_to_string(dir.join("note.txt")).unwrap(),
        "file data"
    );
    fs::remove_file(dir.join("note.txt")).unwrap();
    // Read only: the file cannot be created.
    let mut args = vec!["run", "--read-dir", &mapping];
    args.extend_from_slice(&grants);
    args.push(&wasm);
    let (code, out, _) = run(&args);
    assert_ne!(code, 0);
    assert_eq!(
        out.first().map(String::as_str),
        Some("socket and file opened: NO")
    );
    assert!(!dir.join("note.txt").exists());
    let missing = format!("{}/none::/data", dir.display());
    let (code, _, err) = run(&["run", "--dir", &missing, &wasm]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("cannot give the guest the directory") && err.contains("none (--dir)"),
        "{err}"
    );
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn files_opened_beside_sockets_keep_their_own_descriptors() {
    let wasm = component("files", &["tests/c/files.c"]);
    let dir = out_dir().join(format!("files-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let mut wasi = WasiCtxBuilder::new();
    wasi.arg(&wasm)
        .preopened_dir(&dir, "/data", FsPerms::ReadWrite)
        .unwrap();
    let ctx = WasockCtx::builder()
        .policy(allow(&[
            "udp-bind=127.0.0.1:*",
            "udp-send=127.0.0.1:*",
            "udp-recv=127.0.0.1:*",
        ]))
        .build();
    let rt = tokio_rt();
    let done = rt.block_on(async {
        spawn_with_wasi(runner().clone(), prepared(&wasm), wasi, ctx)
            .finish()
            .await
    });
    assert!(
        matches!(done.exit, GuestExit::Exited(0)),
        "{:?}\n{}",
        done.exit,
        done.stdout
    );
    assert!(!done.stdout.contains("NO"), "{}", done.stdout);
    assert_eq!(done.stdout.lines().count(), 12, "{}", done.stdout);
    assert_eq!(
        fs::read_to_string(dir.join("note.txt")).unwrap(),
        "file data"
    );
    fs::remove_dir_all(&dir).unwrap();
}
