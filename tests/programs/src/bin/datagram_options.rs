//! datagram: option defaults, read-back, ranges, stream-only options,
//! and multicast membership checks.

use wasock_guests::conformance::*;

fn main() {
    let f = family();
    let s = f.datagram();
    check_eq(
        "default broadcast",
        ok("get", s.get_option(OptionName::Broadcast)),
        SocketOption::Broadcast(false),
    );
    check_eq(
        "default multicast-loop",
        ok("get", s.get_option(OptionName::MulticastLoop)),
        SocketOption::MulticastLoop(true),
    );
    check_eq(
        "default multicast-hop-limit",
        ok("get", s.get_option(OptionName::MulticastHopLimit)),
        SocketOption::MulticastHopLimit(1),
    );
    for (o, n) in [
        (SocketOption::Broadcast(true), OptionName::Broadcast),
        (
            SocketOption::MulticastLoop(false),
            OptionName::MulticastLoop,
        ),
        (
            SocketOption::MulticastHopLimit(9),
            OptionName::MulticastHopLimit,
        ),
        (
            SocketOption::UnicastHopLimit(33),
            OptionName::UnicastHopLimit,
        ),
        (SocketOption::ReuseAddress(true), OptionName::ReuseAddress),
        (
            SocketOption::ReceiveTimeout(Some(5_000_000)),
            OptionName::ReceiveTimeout,
        ),
    ] {
        ok(&format!("set {o:?}"), s.set_option(o));
        check_eq(&format!("read back {o:?}"), ok("get", s.get_option(n)), o);
    }
    expect_err(
        "multicast hop limit 0",
        s.set_option(SocketOption::MulticastHopLimit(0)),
        ErrorCode::InvalidArgument,
    );
    for o in [
        SocketOption::NoDelay(true),
        SocketOption::KeepAlive(true),
        SocketOption::KeepAliveCount(3),
        SocketOption::Linger(None),
    ] {
        expect_err(
            &format!("{o:?} on a datagram socket"),
            s.set_option(o),
            ErrorCode::ProtocolOptionNotSupported,
        );
    }
    expect_err(
        "get no-delay",
        s.get_option(OptionName::NoDelay),
        ErrorCode::ProtocolOptionNotSupported,
    );

    // Multicast: not a group, wrong family.
    let (group, not_group, other) = if f.v6() {
        (
            wasock::raw::wasock::sockets::types::IpAddress::Ipv6((
                0xff02, 0, 0, 0, 0, 0, 0, 0x1234,
            )),
            wasock::raw::wasock::sockets::types::IpAddress::Ipv6((0, 0, 0, 0, 0, 0, 0, 1)),
            wasock::raw::wasock::sockets::types::IpAddress::Ipv4((224, 0, 0, 99)),
        )
    } else {
        (
            wasock::raw::wasock::sockets::types::IpAddress::Ipv4((224, 0, 0, 99)),
            wasock::raw::wasock::sockets::types::IpAddress::Ipv4((127, 0, 0, 1)),
            wasock::raw::wasock::sockets::types::IpAddress::Ipv6((
                0xff02, 0, 0, 0, 0, 0, 0, 0x1234,
            )),
        )
    };
    let _ = group;
    expect_err(
        "join a non-group",
        s.join_multicast_group(not_group, 0),
        ErrorCode::InvalidArgument,
    );
    expect_err(
        "join the other family",
        s.join_multicast_group(other, 0),
        ErrorCode::AddressFamilyNotSupported,
    );
    expect_err(
        "join on a stream socket",
        f.stream().join_multicast_group(group, 0),
        ErrorCode::ProtocolOptionNotSupported,
    );
    done();
}
