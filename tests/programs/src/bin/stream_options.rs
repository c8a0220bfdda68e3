//! stream: option defaults, ranges, read-back, and options of the other
//! socket type.

use wasock_guests::conformance::*;

fn main() {
    let f = family();
    let s = f.stream();
    // Defaults.
    check_eq(
        "default reuse-address",
        ok("get", s.get_option(OptionName::ReuseAddress)),
        SocketOption::ReuseAddress(false),
    );
    check_eq(
        "default keep-alive",
        ok("get", s.get_option(OptionName::KeepAlive)),
        SocketOption::KeepAlive(false),
    );
    check_eq(
        "default no-delay",
        ok("get", s.get_option(OptionName::NoDelay)),
        SocketOption::NoDelay(false),
    );
    check_eq(
        "default linger",
        ok("get", s.get_option(OptionName::Linger)),
        SocketOption::Linger(None),
    );
    check_eq(
        "default receive-timeout",
        ok("get", s.get_option(OptionName::ReceiveTimeout)),
        SocketOption::ReceiveTimeout(None),
    );
    check_eq(
        "default send-timeout",
        ok("get", s.get_option(OptionName::SendTimeout)),
        SocketOption::SendTimeout(None),
    );
    if f.v6() {
        check_eq(
            "default ipv6-only",
            ok("get", s.get_option(OptionName::Ipv6Only)),
            SocketOption::Ipv6Only(false),
        );
    }
    let hop = option_value(ok("get", s.get_option(OptionName::UnicastHopLimit))).unwrap();
    check("default hop limit in range", (1..=255).contains(&hop));

    // Read-back of what was set.
    let cases = [
        SocketOption::ReuseAddress(true),
        SocketOption::KeepAlive(true),
        SocketOption::KeepAliveIdle(30 * SEC),
        SocketOption::KeepAliveInterval(7 * SEC),
        SocketOption::KeepAliveCount(5),
        SocketOption::NoDelay(true),
        SocketOption::Linger(Some(3 * SEC)),
        SocketOption::Linger(None),
        SocketOption::ReceiveTimeout(Some(1_500_000)),
        SocketOption::SendTimeout(Some(2 * SEC)),
        SocketOption::UnicastHopLimit(17),
    ];
    for o in cases {
        ok(&format!("set {o:?}"), s.set_option(o));
        let name = name_of(&o);
        check_eq(
            &format!("read back {o:?}"),
            ok("get", s.get_option(name)),
            o,
        );
    }
    // Rounded up to whole seconds where the kernel keeps seconds.
    ok(
        "set keep-alive-idle 1.5 s",
        s.set_option(SocketOption::KeepAliveIdle(SEC + SEC / 2)),
    );
    check_eq(
        "rounded up",
        ok("get", s.get_option(OptionName::KeepAliveIdle)),
        SocketOption::KeepAliveIdle(2 * SEC),
    );
    // Buffer sizes: the system grants at least what was asked.
    ok(
        "set receive-buffer-size",
        s.set_option(SocketOption::ReceiveBufferSize(65536)),
    );
    let rcv = option_value(ok("get", s.get_option(OptionName::ReceiveBufferSize))).unwrap();
    check("receive buffer granted", rcv >= 65536);
    ok(
        "set send-buffer-size",
        s.set_option(SocketOption::SendBufferSize(65536)),
    );
    let snd = option_value(ok("get", s.get_option(OptionName::SendBufferSize))).unwrap();
    check("send buffer granted", snd >= 65536);

    // Out of range.
    for o in [
        SocketOption::KeepAliveIdle(0),
        SocketOption::KeepAliveIdle(40000 * SEC),
        SocketOption::KeepAliveInterval(0),
        SocketOption::KeepAliveCount(0),
        SocketOption::KeepAliveCount(128),
        SocketOption::Linger(Some(70000 * SEC)),
        SocketOption::ReceiveBufferSize(0),
        SocketOption::SendBufferSize(1 << 40),
        SocketOption::ReceiveTimeout(Some(0)),
        SocketOption::SendTimeout(Some(0)),
        SocketOption::UnicastHopLimit(0),
    ] {
        expect_err(
            &format!("out of range {o:?}"),
            s.set_option(o),
            ErrorCode::InvalidArgument,
        );
    }
    // Datagram-only options.
    for o in [
        SocketOption::Broadcast(true),
        SocketOption::MulticastHopLimit(2),
        SocketOption::MulticastLoop(false),
    ] {
        expect_err(
            &format!("{o:?} on a stream socket"),
            s.set_option(o),
            ErrorCode::ProtocolOptionNotSupported,
        );
        expect_err(
            "get it",
            s.get_option(name_of(&o)),
            ErrorCode::ProtocolOptionNotSupported,
        );
    }
    // ipv6-only: IPv6 before bind only.
    if f.v6() {
        let t = f.stream();
        ok("set ipv6-only", t.set_option(SocketOption::Ipv6Only(true)));
        check_eq(
            "read back ipv6-only",
            ok("get", t.get_option(OptionName::Ipv6Only)),
            SocketOption::Ipv6Only(true),
        );
        ok("bind", t.bind(wit(f.loopback(0))));
        expect_err(
            "ipv6-only after bind",
            t.set_option(SocketOption::Ipv6Only(false)),
            ErrorCode::InvalidArgument,
        );
    } else {
        expect_err(
            "ipv6-only on IPv4",
            s.set_option(SocketOption::Ipv6Only(true)),
            ErrorCode::AddressFamilyNotSupported,
        );
        expect_err(
            "ipv6-only read on IPv4",
            s.get_option(OptionName::Ipv6Only),
            ErrorCode::AddressFamilyNotSupported,
        );
    }
    done();
}

fn name_of(o: &SocketOption) -> OptionName {
    use SocketOption as O;
    match o {
        O::ReuseAddress(_) => OptionName::ReuseAddress,
        O::KeepAlive(_) => OptionName::KeepAlive,
        O::KeepAliveIdle(_) => OptionName::KeepAliveIdle,
        O::KeepAliveInterval(_) => OptionName::KeepAliveInterval,
        O::KeepAliveCount(_) => OptionName::KeepAliveCount,
        O::NoDelay(_) => OptionName::NoDelay,
        O::Linger(_) => OptionName::Linger,
        O::ReceiveBufferSize(_) => OptionName::ReceiveBufferSize,
        O::SendBufferSize(_) => OptionName::SendBufferSize,
        O::ReceiveTimeout(_) => OptionName::ReceiveTimeout,
        O::SendTimeout(_) => OptionName::SendTimeout,
        O::UnicastHopLimit(_) => OptionName::UnicastHopLimit,
        O::Ipv6Only(_) => OptionName::Ipv6Only,
        O::Broadcast(_) => OptionName::Broadcast,
        O::MulticastHopLimit(_) => OptionName::MulticastHopLimit,
        O::MulticastLoop(_) => OptionName::MulticastLoop,
        O::MulticastInterface(_) => OptionName::MulticastInterface,
    }
}
