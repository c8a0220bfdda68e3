//! poll-set: one-shot entries (reported once, then out of the set until
//! changed again), level-triggered at each change, replaced by a later
//! change, removed by an empty interest or by closing the socket (even when
//! a new socket takes its place), `max-events` (the rest reported by the
//! next wait), listeners, datagrams and hang-ups, another wait on a socket
//! in the set (`poll`, another set), timeouts, and the errors.

use std::time::Duration;
use wasock_guests::conformance::*;

const MS: u64 = 1_000_000;

fn change(s: &Socket, interest: Readiness, key: u64) -> PollChange<'_> {
    PollChange {
        socket: s,
        interest,
        key,
    }
}

fn wait(
    set: &PollSet,
    changes: &[PollChange<'_>],
    timeout: Option<u64>,
    max: u32,
) -> Vec<(u64, Readiness)> {
    ok("wait", set.wait(changes, timeout, max))
        .into_iter()
        .map(|e| (e.key, e.ready))
        .collect()
}

fn keys(events: &[(u64, Readiness)]) -> Vec<u64> {
    let mut k: Vec<u64> = events.iter().map(|e| e.0).collect();
    k.sort();
    k
}

fn main() {
    let f = family();
    let set = ok("create", PollSet::create());
    check_eq("a new set is empty", set.len(), 0);
    let (_l, c, s) = f.connected();

    // Armed, nothing to report: a check returns nothing, a timeout waits.
    check_eq(
        "check: nothing",
        wait(&set, &[change(&c, Readiness::READABLE, 7)], Some(0), 16),
        vec![],
    );
    check_eq("the armed socket is in the set", set.len(), 1);
    let t0 = now();
    check_eq(
        "timeout: nothing",
        wait(&set, &[], Some(150 * MS), 16),
        vec![],
    );
    check(
        "the timeout waited",
        t0.elapsed() >= Duration::from_millis(150),
    );

    // Ready: reported once with its key, then out of the set.
    send_all(&s, b"x");
    let ev = wait(&set, &[], Some(10_000 * MS), 16);
    check_eq("readable reported with its key", keys(&ev), vec![7]);
    check("readable", ev[0].1.contains(Readiness::READABLE));
    check_eq("one-shot: out of the set", set.len(), 0);
    check_eq(
        "one-shot: not reported again",
        wait(&set, &[], Some(50 * MS), 16),
        vec![],
    );
    // Level at the change: armed again while still readable, it is
    // reported at once, with the new key.
    let ev = wait(
        &set,
        &[change(&c, Readiness::READABLE, 8)],
        Some(10_000 * MS),
        16,
    );
    check_eq("armed again while readable: reported", keys(&ev), vec![8]);
    check_eq("the byte is there", recv_exact(&c, 1), b"x".to_vec());

    // Only what is ready is reported.
    let ev = wait(
        &set,
        &[
            change(&c, Readiness::READABLE, 9),
            change(&s, Readiness::WRITABLE, 10),
        ],
        Some(10_000 * MS),
        16,
    );
    check_eq("only the writable one", keys(&ev), vec![10]);
    check("writable", ev[0].1.contains(Readiness::WRITABLE));
    check_eq("the other stays", set.len(), 1);
    wait(&set, &[change(&c, Readiness::empty(), 9)], Some(0), 16);
    check_eq("an empty interest removes", set.len(), 0);

    // A later change replaces an earlier one for the same socket.
    let ev = wait(
        &set,
        &[
            change(&c, Readiness::READABLE, 1),
            change(&c, Readiness::WRITABLE, 2),
        ],
        Some(10_000 * MS),
        16,
    );
    check_eq("replaced: the second interest and key", keys(&ev), vec![2]);
    check_eq("replaced: one entry, reported", set.len(), 0);

    // max-events: the rest stay in the set for the next wait.
    let ev = wait(
        &set,
        &[
            change(&c, Readiness::WRITABLE, 3),
            change(&s, Readiness::WRITABLE, 4),
        ],
        Some(10_000 * MS),
        1,
    );
    check_eq("max-events 1: one event", ev.len(), 1);
    check_eq("the other still in the set", set.len(), 1);
    let ev2 = wait(&set, &[], Some(10_000 * MS), 1);
    let mut both = keys(&ev);
    both.extend(keys(&ev2));
    both.sort();
    check_eq("the next wait reports the other", both, vec![3, 4]);

    // A listener is ready when a connection waits to be accepted.
    let (l, addr) = f.listener();
    let ev = wait(
        &set,
        &[change(&l, Readiness::READABLE, 20)],
        Some(50 * MS),
        16,
    );
    check_eq("listener: nothing yet", ev, vec![]);
    let client = f.stream();
    ok("connect", client.connect(wit(addr)));
    let ev = wait(&set, &[], Some(10_000 * MS), 16);
    check_eq("listener: a connection to accept", keys(&ev), vec![20]);
    let (accepted, _) = ok("accept", l.accept());

    // A hang-up is reported to a reader.
    drop(client);
    let ev = wait(
        &set,
        &[change(&accepted, Readiness::READABLE, 21)],
        Some(10_000 * MS),
        16,
    );
    check_eq("peer closed: reported", keys(&ev), vec![21]);
    check(
        "peer closed: readable (the end of the stream)",
        ev[0].1.contains(Readiness::READABLE),
    );

    // A datagram socket is ready when a datagram waits.
    let (d, daddr) = f.bound_datagram();
    let sender = f.datagram();
    let ev = wait(
        &set,
        &[change(&d, Readiness::READABLE, 30)],
        Some(50 * MS),
        16,
    );
    check_eq("datagram: nothing yet", ev, vec![]);
    ok(
        "send-to",
        sender.send_to(b"d", wit(daddr), SendFlags::empty()),
    );
    let ev = wait(&set, &[], Some(10_000 * MS), 16);
    check_eq("datagram: one waits", keys(&ev), vec![30]);

    // A closed socket leaves the set, and a socket opened after it (which
    // may take its place) is not reported in its name.
    let (_l2, c2, s2) = f.connected();
    wait(&set, &[change(&c2, Readiness::READABLE, 40)], Some(0), 16);
    check_eq("armed", set.len(), 1);
    drop(c2);
    check_eq("closed: out of the set", set.len(), 0);
    drop(s2);
    let (_l3, c3, s3) = f.connected();
    wait(&set, &[change(&c3, Readiness::READABLE, 41)], Some(0), 16);
    drop(c3);
    let (_l4, c4, s4) = f.connected();
    send_all(&s4, b"y");
    check_eq(
        "a new socket is not reported for a closed one",
        wait(&set, &[], Some(100 * MS), 16),
        vec![],
    );
    drop((c4, s3));

    // Another wait on a socket in the set (here `poll`) does not make the
    // set miss the socket's next event.
    let (_l5, c5, s5) = f.connected();
    wait(&set, &[change(&c5, Readiness::READABLE, 50)], Some(0), 16);
    check(
        "poll on a socket in the set: nothing yet",
        poll_one(&c5, Readiness::READABLE, Some(Duration::from_millis(20))).is_empty(),
    );
    send_all(&s5, b"z");
    let ev = wait(&set, &[], Some(10_000 * MS), 16);
    check_eq("the set still sees the socket's event", keys(&ev), vec![50]);

    // Two sets watching one socket both see its event.
    let (_l6, c6, s6) = f.connected();
    let other = ok("create a second set", PollSet::create());
    wait(&set, &[change(&c6, Readiness::READABLE, 60)], Some(0), 16);
    wait(&other, &[change(&c6, Readiness::READABLE, 61)], Some(0), 16);
    send_all(&s6, b"w");
    let ev = wait(&set, &[], Some(10_000 * MS), 16);
    check_eq("the first set sees it", keys(&ev), vec![60]);
    let ev = wait(&other, &[], Some(10_000 * MS), 16);
    check_eq("the second set sees it", keys(&ev), vec![61]);
    drop(other);

    // A check by `poll` that watches another direction (which may make the
    // provider register the socket anew) does not make the set miss the
    // next connection.
    let (l7, addr7) = f.listener();
    wait(&set, &[change(&l7, Readiness::READABLE, 70)], Some(0), 16);
    poll_one(
        &l7,
        Readiness::READABLE | Readiness::WRITABLE,
        Some(Duration::ZERO),
    );
    let client7 = f.stream();
    ok("connect", client7.connect(wit(addr7)));
    let ev = wait(&set, &[], Some(10_000 * MS), 16);
    check_eq("the listener's connection is seen", keys(&ev), vec![70]);

    // Errors.
    expect_err(
        "max-events 0",
        set.wait(&[], Some(0), 0),
        ErrorCode::InvalidArgument,
    );
    expect_err(
        "an empty set without a timeout",
        set.wait(&[], None, 16),
        ErrorCode::InvalidArgument,
    );
    let t0 = now();
    check_eq(
        "an empty set with a timeout sleeps",
        wait(&set, &[], Some(100 * MS), 16),
        vec![],
    );
    check("it slept", t0.elapsed() >= Duration::from_millis(100));
    done();
}
