//! stream: closing never blocks, whatever the `linger`. A socket with a
//! positive linger and data its peer has not taken is closed at once (the
//! host's close must not wait on the kernel), keeps the value it was given
//! until then, and its data is still delivered in the background, then
//! the end of the stream.

use std::time::Duration;
use wasock_guests::conformance::*;

fn main() {
    let f = family();
    // Small buffers at both ends, the receiver's set on the listener for
    // the accepted socket to inherit, so that its window closes soon.
    let l = f.stream();
    ok(
        "small receive buffer",
        l.set_option(SocketOption::ReceiveBufferSize(4096)),
    );
    ok("bind", l.bind(wit(f.loopback(0))));
    ok("listen", l.listen(1));
    let c = f.stream();
    ok(
        "small send buffer",
        c.set_option(SocketOption::SendBufferSize(4096)),
    );
    ok("connect", c.connect(wit(local(&l))));
    let (s, _) = ok("accept", l.accept());

    // Send until the peer's window is shut and the sender's queue full:
    // until a send still would block after a pause.
    ok("non-blocking", c.set_nonblocking(true));
    let chunk = vec![0x6c; 16 << 10];
    let mut sent = 0u64;
    let mut stuck = false;
    for _ in 0..200 {
        let before = sent;
        for _ in 0..1000 {
            match c.send(&chunk, SendFlags::empty()) {
                Ok(n) => sent += n,
                Err(ErrorCode::WouldBlock) => break,
                Err(e) => fail("send", format!("{e:?}")),
            }
        }
        if sent == before {
            stuck = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    check("the peer's window shut with data still queued", stuck);
    ok(
        "linger 5 s",
        c.set_option(SocketOption::Linger(Some(5 * SEC))),
    );
    check_eq(
        "linger read back",
        ok("get", c.get_option(OptionName::Linger)),
        SocketOption::Linger(Some(5 * SEC)),
    );

    let t0 = now();
    drop(c);
    check(
        "closing did not wait",
        t0.elapsed() < Duration::from_secs(2),
    );

    let mut got = 0u64;
    for _ in 0..100_000 {
        let data = ok("recv", s.recv(64 << 10, RecvFlags::empty()));
        if data.is_empty() {
            break;
        }
        got += data.len() as u64;
    }
    check_eq("every byte sent arrived after the close", got, sent);
    done();
}
