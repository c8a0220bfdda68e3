//! A guest client under the policy: granted, denied, and the spellings and
//! rule orders that must not slip through.

use std::net::TcpListener;

use wasock_test_programs::TCP_CONNECT;

use crate::common::run;

fn listener() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

#[test]
fn a_granted_address_connects() {
    let (_l, port) = listener();
    let target = format!("127.0.0.1:{port}");
    let grant = format!("tcp-connect=127.0.0.1:{port}");
    let (code, out, err) = run(&["run", "--allow", &grant, TCP_CONNECT, &target]);
    assert_eq!((code, out), (0, vec!["ok connected".to_string()]), "{err}");
}

#[test]
fn a_denied_address_gets_access_denied() {
    let (_l, port) = listener();
    let target = format!("127.0.0.1:{port}");
    let grant = format!("tcp-connect=127.0.0.1:{}", port.wrapping_add(1));
    let (code, out, err) = run(&["run", "--allow", &grant, TCP_CONNECT, &target]);
    assert_eq!((code, out), (1, vec!["error access-denied".to_string()]));
    assert!(
        err.contains(&format!("denied tcp-connect 127.0.0.1:{port}")),
        "{err}"
    );
    assert!(
        err.contains(&format!("--allow tcp-connect=127.0.0.1:{port}")),
        "{err}"
    );
}

#[test]
fn the_ipv4_mapped_spelling_of_a_denied_address_is_denied() {
    let (_l, port) = listener();
    let mapped = format!("[::ffff:127.0.0.1]:{port}");
    // Refused as IPv4: the mapped spelling is refused too.
    let (code, out, err) = run(&[
        "run",
        "--allow",
        "tcp-connect=*",
        "--deny",
        "tcp-connect=127.0.0.1:*",
        TCP_CONNECT,
        &mapped,
    ]);
    assert_eq!(
        (code, out),
        (1, vec!["error access-denied".to_string()]),
        "{err}"
    );
    assert!(err.contains("--deny tcp-connect=127.0.0.1:*"), "{err}");
    // Not granted as IPv4: the mapped spelling is not granted either.
    let grant = format!("tcp-connect=127.0.0.2:{port}");
    let (code, out, err) = run(&["run", "--allow", &grant, TCP_CONNECT, &mapped]);
    assert_eq!(
        (code, out),
        (1, vec!["error access-denied".to_string()]),
        "{err}"
    );
    // Granted as IPv4: the mapped spelling reaches it.
    let grant = format!("tcp-connect=127.0.0.1:{port}");
    let (code, out, err) = run(&["run", "--allow", &grant, TCP_CONNECT, &mapped]);
    assert_eq!((code, out), (0, vec!["ok connected".to_string()]), "{err}");
}

#[test]
fn a_deny_beats_a_matching_allow() {
    let (_l, port) = listener();
    let target = format!("127.0.0.1:{port}");
    let rule = format!("tcp-connect=127.0.0.1:{port}");
    let (code, out, err) = run(&[
        "run",
        "--allow",
        &rule,
        "--deny",
        &rule,
        TCP_CONNECT,
        &target,
    ]);
    assert_eq!((code, out), (1, vec!["error access-denied".to_string()]));
    assert!(err.contains("refusals win over grants"), "{err}");
}
