//! `wasock serve` under socket activation: without `--listen` it serves
//! the listening socket a service manager passes as descriptor 3 (with
//! `LISTEN_PID` and `LISTEN_FDS`), as systemd's socket units do, and says
//! what to give when nothing usable was passed.

use std::net::{TcpListener, TcpStream, UdpSocket};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::Command;

use wasock_test_programs::HTTP_HELLO;

use crate::common::{Guest, run};
use crate::serve::{drained_cleanly, get, terminate};

/// What descriptor 3 is in the server's process.
#[derive(Clone, Copy)]
enum Three {
    /// A copy of this descriptor of the test's.
    Is(RawFd),
    /// Nothing: closed.
    Closed,
}

/// `wasock serve ARGS...` as a service manager starts it: descriptor 3
/// as `three` says, `LISTEN_FDS` as given, and `LISTEN_PID` the process's
/// own (or `pid`, when given).
fn passing(three: Three, fds: &str, pid: Option<&str>, args: &[&str]) -> Command {
    let mut cmd = Command::new("sh");
    // The shell's pid is the server's after exec.
    cmd.args([
        "-c",
        "[ -n \"$LISTEN_PID\" ] || LISTEN_PID=$$; export LISTEN_PID; exec \"$0\" \"$@\"",
        env!("CARGO_BIN_EXE_wasock"),
        "serve",
    ])
    .args(args)
    .env_remove("RUST_LOG")
    .env_remove("LISTEN_PID")
    .env("LISTEN_FDS", fds);
    if let Some(pid) = pid {
        cmd.env("LISTEN_PID", pid);
    }
    // SAFETY: dup2, fcntl and close are async-signal-safe, and the closure
    // touches nothing else between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let done = match three {
                // dup2 onto itself keeps close-on-exec: clear it instead.
                Three::Is(3) => libc::fcntl(3, libc::F_SETFD, 0),
                Three::Is(fd) => libc::dup2(fd, 3),
                Three::Closed => {
                    libc::close(3);
                    0
                }
            };
            if done < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd
}

#[test]
fn serve_takes_the_listening_socket_a_service_manager_passes() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let g = Guest::spawn_command(passing(
        Three::Is(listener.as_raw_fd()),
        "1",
        None,
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
        let answer = get(addr, "/");
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

/// `serve` run as [`passing`] says: it must exit 2; its stderr.
fn refused(three: Three, fds: &str, pid: Option<&str>) -> String {
    let out = passing(
        three,
        fds,
        pid,
        &["--allow", "tcp-accept=127.0.0.0/8:*", HTTP_HELLO],
    )
    .output()
    .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{err}");
    err
}

#[test]
fn a_passed_socket_that_cannot_serve_is_refused_with_the_reason() {
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let err = refused(Three::Is(udp.as_raw_fd()), "1", None);
    assert!(
        err.contains("descriptor 3") && err.contains("it is not a stream socket"),
        "{err}"
    );
    let unlistening =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    let err = refused(Three::Is(unlistening.as_raw_fd()), "1", None);
    assert!(err.contains("it is not listening"), "{err}");
    let (reader, _writer) = std::io::pipe().unwrap();
    let err = refused(Three::Is(reader.as_raw_fd()), "1", None);
    assert!(err.contains("it is not a socket"), "{err}");
    let err = refused(Three::Closed, "1", None);
    assert!(err.contains("it is not open"), "{err}");
    // Accept=yes passes a connection, not the listener.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let connection = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let err = refused(Three::Is(connection.as_raw_fd()), "1", None);
    assert!(err.contains("Accept=yes"), "{err}");
}

#[test]
fn what_the_environment_says_is_checked_before_descriptor_3() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let three = Three::Is(listener.as_raw_fd());
    let err = refused(three, "2", None);
    assert!(
        err.contains("passed 2 sockets") && err.contains("ListenStream="),
        "{err}"
    );
    let err = refused(three, "0", None);
    assert!(err.contains("LISTEN_FDS=0"), "{err}");
    let err = refused(three, "one", None);
    assert!(err.contains("LISTEN_FDS=one is not a number"), "{err}");
    // Passed to another process (a script that did not exec the server).
    let err = refused(three, "1", Some("1"));
    assert!(
        err.contains("LISTEN_PID=1 is not this process") && err.contains("exec wasock serve"),
        "{err}"
    );
}
