//! datagram: multicast membership (join, join twice, leave, leave twice),
//! the outgoing interface option, and (IPv4) delivery of a datagram sent to
//! a joined group over loopback. IPv6 delivery is not checked: Linux's
//! loopback interface has no multicast, and the suite never sends off the
//! machine.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;
use wasock::raw::wasock::sockets::types::IpAddress;
use wasock_guests::conformance::*;

/// The loopback interface's index on Linux.
const LO: u32 = 1;

fn main() {
    let f = family();
    let (group, group_ip) = if f.v6() {
        (
            IpAddress::Ipv6((0xff12, 0, 0, 0, 0, 0, 0x7761, 0x736f)),
            IpAddr::V6(Ipv6Addr::new(0xff12, 0, 0, 0, 0, 0, 0x7761, 0x736f)),
        )
    } else {
        (
            IpAddress::Ipv4((239, 255, 77, 1)),
            IpAddr::V4(Ipv4Addr::new(239, 255, 77, 1)),
        )
    };
    let r = f.datagram();
    ok(
        "reuse-address",
        r.set_option(SocketOption::ReuseAddress(true)),
    );
    ok("bind unspecified", r.bind(wit(f.unspecified(0))));
    let port = local(&r).port();
    ok("join on loopback", r.join_multicast_group(group, LO));
    expect_err(
        "join twice",
        r.join_multicast_group(group, LO),
        ErrorCode::AddressInUse,
    );

    let s = f.datagram();
    check_eq(
        "default multicast-interface",
        ok("get", s.get_option(OptionName::MulticastInterface)),
        SocketOption::MulticastInterface(0),
    );
    ok(
        "send by loopback",
        s.set_option(SocketOption::MulticastInterface(LO)),
    );
    check_eq(
        "multicast-interface read back",
        ok("get", s.get_option(OptionName::MulticastInterface)),
        SocketOption::MulticastInterface(LO),
    );
    if !f.v6() {
        ok("bind sender", s.bind(wit(f.loopback(0))));
        ok(
            "multicast loop",
            s.set_option(SocketOption::MulticastLoop(true)),
        );
        ok(
            "send to the group",
            s.send_to(
                b"to the group",
                wit(SocketAddr::new(group_ip, port)),
                SendFlags::empty(),
            ),
        );
        let got = poll_one(&r, Readiness::READABLE, Some(Duration::from_secs(5)));
        check(
            "the group's datagram arrives",
            got.contains(Readiness::READABLE),
        );
        check_eq(
            "payload",
            ok("recv-from", r.recv_from(64, RecvFlags::empty())).data,
            b"to the group".to_vec(),
        );
    }
    ok("leave", r.leave_multicast_group(group, LO));
    expect_err(
        "leave twice",
        r.leave_multicast_group(group, LO),
        ErrorCode::AddressNotAvailable,
    );
    done();
}
