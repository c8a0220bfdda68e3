//! `wasock serve` under socket activation: without `--listen` it serves
//! the listening socket a service manager passes as descriptor 3 (with
//! `LISTEN_PID` and `LISTEN_FDS`), as systemd's socket units do, and says
//! what to give when nothing usable was passed.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::Command;

use wasock_test_programs::HTTP_HELLO;

use crate::common::{Guest, PATIENCE, run};
use crate::serve::{drained_cleanly, terminate};

/// `wasock serve ARGS...` with `fd` as descriptor 3 and the protocol's
/// environment (`LISTEN_FDS` as given, `LISTEN_PID` the process's own),
/// as a service manager starts it.
fn passing(fd: RawFd, fds: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new("sh");
    // The shell's pid is the server's after exec.
    cmd.args([
        "-c",
        "LISTEN_PID=$$; export LISTEN_PID; exec \"$0\" \"$@\"",
        env!("CARGO_BIN_EXE_wasock"),
        "serve",
    ])
    .args(args)
    .env("LISTEN_FDS", fds)
    .env_remove("RUST_LOG");
    // SAFETY: dup2 and fcntl are async-signal-safe, and the closure
    // touches nothing else between fork and exec; descriptor 3 is then
    // open across exec.
    unsafe {
        cmd.pre_exec(move || {
            // dup2 onto itself keeps close-on-exec: clear it instead.
            let moved = if fd == 3 {
                libc::fcntl(3, libc::F_SETFD, 0)
            } else {
                libc::dup2(fd, 3)
            };
            if moved < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd
}

fn get(addr: SocketAddr) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nhost: test\r\n\r\n")
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn serve_takes_the_listening_socket_a_service_manager_passes() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let g = Guest::spawn_command(passing(
        listener.as_raw_fd(),
        "1",
        &[
            "--workers",
            "2",
            "--allow",
            "tcp-accept=127.0.0.0/8:*",
            HTTP_HELLO,
        ],
    ));
    assert_eq!(g.listening_addr(), addr);
    // Ours is closed: only the server's copy accepts now.
    drop(listener);
    for _ in 0..4 {
        let answer = get(addr);
        assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    }
    terminate(&g);
    drained_cleanly(g, 4);
}

#[test]
fn serve_without_an_address_says_what_to_give() {
    let (code, _, err) = run(&["serve", "--allow", "tcp-accept=127.0.0.0/8:*", HTTP_HELLO]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("give --listen ADDR") && err.contains("LISTEN_PID and LISTEN_FDS are not set"),
        "{err}"
    );
}

#[test]
fn a_passed_socket_that_cannot_serve_is_refused_with_the_reason() {
    let refused = |fd: RawFd, fds: &str| {
        let out = passing(
            fd,
            fds,
            &["--allow", "tcp-accept=127.0.0.0/8:*", HTTP_HELLO],
        )
        .output()
        .unwrap();
        assert_eq!(out.status.code(), Some(2));
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let err = refused(udp.as_raw_fd(), "1");
    assert!(
        err.contains("descriptor 3") && err.contains("it is not a stream socket"),
        "{err}"
    );
    let bound_only =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    let err = refused(bound_only.as_raw_fd(), "1");
    assert!(err.contains("it is not listening"), "{err}");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let err = refused(listener.as_raw_fd(), "2");
    assert!(
        err.contains("passed 2 sockets") && err.contains("ListenStream="),
        "{err}"
    );
}
