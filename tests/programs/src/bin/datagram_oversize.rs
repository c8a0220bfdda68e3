//! datagram: the largest datagram of the family goes through; one byte more
//! is message-size, through send-to and through a connected send.

use wasock_guests::conformance::*;

fn main() {
    let f = family();
    let (a, _) = f.bound_datagram();
    let (b, b_addr) = f.bound_datagram();
    let max = if f.v6() { 65527 } else { 65507 };
    ok(
        "large buffers",
        b.set_option(SocketOption::ReceiveBufferSize(1 << 20)),
    );
    ok(
        "large send buffer",
        a.set_option(SocketOption::SendBufferSize(1 << 20)),
    );
    check_eq(
        "largest datagram sent",
        ok(
            "send-to",
            a.send_to(&vec![5u8; max], wit(b_addr), SendFlags::empty()),
        ),
        max as u64,
    );
    let d = ok(
        "largest datagram received",
        b.recv_from(1 << 20, RecvFlags::empty()),
    );
    check_eq("whole", d.data.len(), max);
    expect_err(
        "one byte more",
        a.send_to(&vec![5u8; max + 1], wit(b_addr), SendFlags::empty()),
        ErrorCode::MessageSize,
    );
    ok("connect", a.connect(wit(b_addr)));
    expect_err(
        "one byte more, connected",
        a.send(&vec![5u8; max + 1], SendFlags::empty()),
        ErrorCode::MessageSize,
    );
    done();
}
