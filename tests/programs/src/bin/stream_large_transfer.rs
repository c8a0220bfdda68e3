//! stream: 8 MiB each way at once, through non-blocking sockets and poll,
//! arrives exactly: sequenced, unduplicated, nothing lost.

use wasock_guests::conformance::*;
use wasock_guests::pattern;

const SIZE: usize = 8 << 20;

struct End<'a> {
    sock: &'a Socket,
    out: Vec<u8>,
    sent: usize,
    got: Vec<u8>,
}

fn main() {
    let f = family();
    let (_l, c, s) = f.connected();
    let a = pattern(SIZE);
    let b: Vec<u8> = a.iter().rev().copied().collect();
    let mut ends = [
        End {
            sock: &c,
            out: a.clone(),
            sent: 0,
            got: Vec::new(),
        },
        End {
            sock: &s,
            out: b.clone(),
            sent: 0,
            got: Vec::new(),
        },
    ];
    for e in &ends {
        ok("non-blocking", e.sock.set_nonblocking(true));
    }
    let mut rounds = 0u64;
    while ends.iter().any(|e| e.got.len() < SIZE) {
        rounds += 1;
        if rounds > 10_000_000 {
            fail("transfer", "no progress".into());
        }
        let entries: Vec<PollEntry<'_>> = ends
            .iter()
            .map(|e| {
                let mut i = Readiness::READABLE;
                if e.sent < SIZE {
                    i |= Readiness::WRITABLE;
                }
                PollEntry {
                    socket: e.sock,
                    interest: i,
                }
            })
            .collect();
        let ready = ok("poll", poll(&entries, Some(10_000_000_000)));
        for (e, r) in ends.iter_mut().zip(ready) {
            if r.contains(Readiness::WRITABLE) && e.sent < SIZE {
                let end = (e.sent + 200_000).min(SIZE);
                match e.sock.send(&e.out[e.sent..end], SendFlags::empty()) {
                    Ok(n) => e.sent += n as usize,
                    Err(ErrorCode::WouldBlock) => {}
                    Err(x) => fail("send", x.name().into()),
                }
            }
            if r.contains(Readiness::READABLE) {
                match e.sock.recv(1 << 20, RecvFlags::empty()) {
                    Ok(d) if d.is_empty() => fail("recv", "early end of stream".into()),
                    Ok(d) => e.got.extend_from_slice(&d),
                    Err(ErrorCode::WouldBlock) => {}
                    Err(x) => fail("recv", x.name().into()),
                }
            }
        }
    }
    check(
        "client received the server's bytes exactly",
        ends[0].got == b,
    );
    check(
        "server received the client's bytes exactly",
        ends[1].got == a,
    );
    done();
}
