//! `wasock policy explain`, `wasock policy check` and `--policy FILE`.

use std::path::PathBuf;

use wasock_test_programs::PROBE;

use crate::common::run;

fn temp_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wasock-policy-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// Where the answer depends on what a guest resolves, explain says so:
/// an IP literal resolves without a grant; a name not pinned is decided by
/// the name alone (and explain says how to see its addresses' answer); an
/// address a pinned name stands for is allowed by that name's grant once
/// the guest has resolved it.
#[test]
fn explain_says_what_the_answer_depends_on_when_names_are_involved() {
    let (code, out, _) = run(&["policy", "explain", "resolve", "127.0.0.1"]);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        vec!["allowed resolve 127.0.0.1: an IP address is its own answer; no grant is needed"]
    );

    let by_address = [
        "--allow",
        "resolve=localhost",
        "--allow",
        "tcp-connect=127.0.0.1:8080",
    ];
    let (code, out, _) = run(&[
        &["policy", "explain"][..],
        &by_address,
        &["tcp-connect", "localhost:8080"],
    ]
    .concat());
    // Without a pin, decided for the addresses the name has here now
    // (localhost: 127.0.0.1, and ::1 where the system says so).
    assert!(
        out.iter()
            .any(|l| l == "allowed tcp-connect 127.0.0.1:8080 (localhost) by --allow tcp-connect=127.0.0.1:8080"),
        "{out:?}"
    );
    assert_eq!(
        code,
        if out.iter().any(|l| l.starts_with("denied")) {
            1
        } else {
            0
        }
    );
    assert!(
        out.last()
            .unwrap()
            .contains("resolves to on this machine now")
            && out.last().unwrap().contains("give --resolve localhost=IP"),
        "{out:?}"
    );
    let pinned = ["--resolve", "localhost=127.0.0.1"];
    let (code, out, _) = run(&[
        &["policy", "explain"][..],
        &pinned,
        &by_address,
        &["tcp-connect", "localhost:8080"],
    ]
    .concat());
    assert_eq!(code, 0, "{out:?}");
    assert_eq!(out.len(), 1, "{out:?}");
    // Connecting by name needs the name resolved first: without that
    // grant, the answer is no, whatever the address's grant says.
    let (code, out, _) = run(&[
        &["policy", "explain"][..],
        &pinned,
        &by_address[2..],
        &["tcp-connect", "localhost:8080"],
    ]
    .concat());
    assert_eq!(code, 1, "{out:?}");
    assert!(out[0].starts_with("denied resolve localhost"), "{out:?}");
    // A name pinned to an address that is no destination: denied whatever
    // grants the name, as the runtime refuses it before the policy.
    let (code, out, _) = run(&[
        "policy",
        "explain",
        "--allow",
        "tcp-connect=app.test:443",
        "--resolve",
        "app.test=::ffff:0.0.0.0",
        "tcp-connect",
        "app.test:443",
    ]);
    assert_eq!(code, 1, "{out:?}");
    assert!(
        out[0].starts_with(
            "denied tcp-connect [::ffff:0.0.0.0]:443: the unspecified address is no destination"
        ),
        "{out:?}"
    );
    // A refusal is not a want of a grant: no note about addresses.
    let (code, out, err) = run(&[
        "policy",
        "explain",
        "--allow",
        "resolve=localhost",
        "--deny",
        "tcp-connect=localhost:*",
        "tcp-connect",
        "localhost:8080",
    ]);
    assert_eq!(code, 1);
    assert_eq!(out.len(), 1, "{out:?}");
    // And it does not refuse an address used without the name: said.
    assert!(
        err.contains(
            "warning: --deny tcp-connect=localhost:* refuses tcp-connect by that name and to the \
             addresses the guest resolved from it, not to an address the guest uses without \
             resolving it; to refuse the addresses too, add --deny tcp-connect=ADDRESS:*"
        ),
        "{err}"
    );

    let (code, out, _) = run(&[
        "policy",
        "explain",
        "--allow",
        "tcp-connect=api.test:443",
        "--resolve",
        "api.test=127.0.0.1",
        "tcp-connect",
        "127.0.0.1:443",
    ]);
    assert_eq!(code, 1);
    assert!(
        out[0].starts_with("denied tcp-connect 127.0.0.1:443"),
        "{out:?}"
    );
    assert_eq!(
        out[1],
        "if the guest resolved api.test first (pinned to it by --resolve): allowed \
         tcp-connect 127.0.0.1:443 (api.test) by --allow tcp-connect=api.test:443"
    );
}

#[test]
fn explain_says_allowed_or_denied_first_and_names_the_rule() {
    let (code, out, _) = run(&[
        "policy",
        "explain",
        "--allow",
        "tcp-connect=10.0.0.0/8:443",
        "tcp-connect",
        "10.1.2.3:443",
    ]);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        vec!["allowed tcp-connect 10.1.2.3:443 by --allow tcp-connect=10.0.0.0/8:443"]
    );

    let (code, out, _) = run(&[
        "policy",
        "explain",
        "--allow",
        "tcp-connect=*",
        "--deny",
        "tcp-connect=169.254.0.0/16:*",
        "tcp-connect",
        "[::ffff:169.254.169.254]:80",
    ]);
    assert_eq!(code, 1);
    assert!(
        out[0].starts_with(
            "denied tcp-connect [::ffff:169.254.169.254]:80 by --deny tcp-connect=169.254.0.0/16:*"
        ),
        "{out:?}"
    );

    let (code, out, _) = run(&["policy", "explain", "resolve", "api.example.com"]);
    assert_eq!(code, 1);
    assert!(
        out[0].starts_with("denied resolve api.example.com: no rule grants it"),
        "{out:?}"
    );
    assert!(
        out[0].contains("--allow resolve=api.example.com"),
        "{out:?}"
    );

    // A name with pinned addresses is decided on each of them.
    let (code, out, _) = run(&[
        "policy",
        "explain",
        "--allow",
        "tcp-connect=api.test:443",
        "--deny",
        "tcp-connect=10.0.0.0/8:*",
        "--resolve",
        "api.test=192.0.2.7,10.0.0.1",
        "tcp-connect",
        "api.test:443",
    ]);
    assert_eq!(code, 1, "{out:?}");
    assert!(
        out[0].starts_with("allowed tcp-connect 192.0.2.7:443 (api.test)"),
        "{out:?}"
    );
    assert!(
        out[1].starts_with("denied tcp-connect 10.0.0.1:443 (api.test)"),
        "{out:?}"
    );

    let (code, _, err) = run(&["policy", "explain", "tcp-connect", "not an address"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("not an address") || err.contains("is not"),
        "{err}"
    );
}

#[test]
fn check_accepts_a_good_file_and_lists_every_problem_of_a_bad_one() {
    let good = temp_file(
        "good.toml",
        "allow = [\"tcp-bind=127.0.0.1:8080\", \"resolve=*.test\"]\ndeny = [\"tcp-connect=169.254.0.0/16:*\"]\n[resolve]\n\"api.test\" = [\"127.0.0.1\"]\n",
    );
    let (code, out, _) = run(&["policy", "check", good.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(
        out[0].starts_with("ok:") && out[0].contains("2 grants, 1 refusals, 1 pinned names"),
        "{out:?}"
    );

    let bad = temp_file(
        "bad.toml",
        "allow = [\n  \"tcp-bind=127.0.0.1:8080\",\n  \"tcp-bnd=127.0.0.1:80\",\n  \"udp-send=::1:53\",\n]\n",
    );
    let shown = bad.to_str().unwrap();
    let (code, _, err) = run(&["policy", "check", shown]);
    assert_eq!(code, 1);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(
        lines[0].starts_with(&format!("{shown}:3:4: "))
            && lines[0].contains("unknown operation `tcp-bnd`"),
        "{err}"
    );
    assert!(
        lines[1].starts_with(&format!("{shown}:4:")) && lines[1].contains("brackets"),
        "{err}"
    );

    let syntax = temp_file("syntax.toml", "allow = [\"tcp-bind=*\"\ndeny = 3\n");
    let (code, _, err) = run(&["policy", "check", syntax.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("syntax.toml:"), "{err}");
}

#[test]
fn a_bad_policy_file_stops_run_before_anything_runs() {
    let bad = temp_file("run-bad.toml", "allow = [\"tcp-bind=127.0.0.1:99999\"]\n");
    let (code, out, err) = run(&[
        "run",
        "--policy",
        bad.to_str().unwrap(),
        PROBE,
        "udp-new",
        "v4",
    ]);
    assert_eq!(code, 2);
    assert!(out.is_empty(), "the guest ran: {out:?}");
    assert!(
        err.contains("run-bad.toml:1:") && err.contains("out of range"),
        "{err}"
    );
    let (code, _, err) = run(&["run", "--policy", "/nonexistent/policy.toml", PROBE]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot read the policy file"), "{err}");
}

#[test]
fn run_uses_the_rules_and_pinned_names_of_a_policy_file() {
    let file = temp_file(
        "run-good.toml",
        "allow = [\"resolve=*.test\", \"udp-bind=127.0.0.1:*\"]\ndeny = [\"udp-bind=127.0.0.1:1-1023\"]\n[resolve]\n\"pinned.test\" = [\"127.0.0.1\", \"::1\"]\n",
    );
    let (code, out, _) = run(&[
        "run",
        "--policy",
        file.to_str().unwrap(),
        "--resolve",
        "flag.test=10.9.8.7",
        PROBE,
        "resolve",
        "pinned.test",
        "resolve",
        "flag.test",
        "udp-bind",
        "127.0.0.1:0",
        "udp-bind",
        "127.0.0.1:53",
    ]);
    assert_eq!(code, 0);
    assert_eq!(out[0], "resolve pinned.test: ok 127.0.0.1,::1");
    assert_eq!(out[1], "resolve flag.test: ok 10.9.8.7");
    assert!(out[2].starts_with("udp-bind 127.0.0.1:0: ok"), "{out:?}");
    assert_eq!(out[3], "udp-bind 127.0.0.1:53: error access-denied");
}

/// A name looked up again and again is logged as an address is: one line
/// a second, every lookup counted.
#[test]
fn a_refused_name_asked_for_again_is_logged_once() {
    let (code, out, err) = run(&[
        "run",
        PROBE,
        "resolve",
        "blocked.test",
        "resolve",
        "blocked.test",
        "resolve",
        "blocked.test",
        "resolve",
        "2130706433",
        "resolve",
        "2130706433",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out[..3],
        vec!["resolve blocked.test: error access-denied"; 3],
        "{err}"
    );
    let lines_with = |text: &str| err.lines().filter(|l| l.contains(text)).count();
    assert_eq!(lines_with("denied resolve blocked.test"), 1, "{err}");
    // A numeric spelling refused as a name is rate-limited too.
    assert_eq!(
        out[3..],
        vec!["resolve 2130706433: error invalid-argument"; 2],
        "{err}"
    );
    assert_eq!(
        lines_with("refused to resolve a numeric IPv4 spelling"),
        1,
        "{err}"
    );
}

/// A destination is the address and its port: a denial on another port
/// (here by another rule) has a line of its own, and what the rate limit
/// left out is said when the instance ends, even within the second.
#[test]
fn denials_on_other_ports_each_get_a_line_and_the_end_tells_the_rest() {
    let mut args = vec![
        "run",
        "--allow",
        "tcp-connect=127.0.0.1:1",
        "--deny",
        "tcp-connect=127.0.0.1:22",
        PROBE,
    ];
    for port in ["127.0.0.1:2", "127.0.0.1:22", "127.0.0.1:23"] {
        args.extend(["tcp-connect-new", port]);
    }
    for _ in 0..4 {
        args.extend(["tcp-connect-new", "127.0.0.1:2"]);
    }
    let (code, out, err) = run(&args);
    assert_eq!(code, 0, "{out:?}\n{err}");
    assert_eq!(
        out.iter()
            .filter(|l| l.ends_with("error access-denied"))
            .count(),
        7,
        "{out:?}"
    );
    for line in [
        "denied tcp-connect 127.0.0.1:2: no rule grants it",
        "denied tcp-connect 127.0.0.1:22 by --deny tcp-connect=127.0.0.1:22",
        "denied tcp-connect 127.0.0.1:23: no rule grants it",
    ] {
        assert_eq!(err.matches(line).count(), 1, "{line}:\n{err}");
    }
    assert!(
        err.contains(
            "at the end, 4 more refusals like those logged had not been written: \
             tcp-connect 127.0.0.1:2 (4)"
        ),
        "{err}"
    );
}

#[test]
fn a_flood_of_refused_peers_is_logged_once_a_second_and_every_one_counted() {
    use std::net::TcpStream;
    use std::time::{Duration, Instant};

    use wasock_test_programs::TOKIO_ECHO;

    use crate::common::{Guest, PATIENCE};

    // Only peers on 127.0.0.2 may connect in; the flood comes from the
    // system's choice of source (127.0.0.1), each connection from a new
    // ephemeral port. The guest listens on an address no other test uses:
    // a test elsewhere that connects to a closed port of 127.0.0.1 could
    // otherwise find this listener there and add a denial.
    let g = Guest::spawn(&[
        "run",
        "--allow",
        "tcp-bind=127.0.0.7:*",
        "--allow",
        "tcp-accept=127.0.0.2:*",
        TOKIO_ECHO,
        "127.0.0.7:0",
    ]);
    let addr = g.listening_addr();
    const FLOOD: usize = 300;
    let started = Instant::now();
    let mut from = None;
    for _ in 0..FLOOD {
        let c = TcpStream::connect(addr).unwrap();
        from.get_or_insert(c.local_addr().unwrap().ip());
    }
    let flood_took = started.elapsed();
    let from = from.unwrap();
    // After a pause, one more: its line says how many were left out.
    std::thread::sleep(Duration::from_millis(1100));
    drop(TcpStream::connect(addr).unwrap());
    let total = FLOOD + 1;
    let denied = format!("denied tcp-accept {from}:");
    let similar = format!("similar denials of tcp-accept {from} ");

    let deadline = Instant::now() + PATIENCE;
    let (lines, left_out) = loop {
        let err = g.stderr();
        let lines = err.lines().filter(|l| l.contains(&denied)).count();
        let left_out: usize = err
            .lines()
            .filter_map(|l| {
                let rest = l.split("suppressed ").nth(1)?;
                let n = rest.split(' ').next()?.parse::<usize>().ok()?;
                rest.contains(&similar).then_some(n)
            })
            .sum();
        if lines + left_out == total {
            break (lines, left_out);
        }
        assert!(
            Instant::now() < deadline,
            "{lines} lines and {left_out} left out, not {total}:\n{err}"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    // One line a second at most: the flood's seconds, and the late one.
    let most = flood_took.as_secs() as usize + 2;
    assert!(lines <= most, "{lines} lines for {total} denials");
    assert!(left_out > 0);
    // The hint names the peer's address with any port: its port was
    // ephemeral.
    assert!(
        g.stderr()
            .contains(&format!("run with --allow tcp-accept={from}:*")),
        "{}",
        g.stderr()
    );
}
