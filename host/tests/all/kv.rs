//! `examples/kv`: a Redis-protocol key-value server guest under `wasock run`
//! with the minimal policy (bind and accept on 127.0.0.1), driven by the
//! real `redis-cli` and `redis-benchmark` (redis-tools; these tests fail,
//! not skip, without them), `nc`, and raw sockets: every command, errors in
//! Redis's words, inline commands, pipelining, a benchmark with zero
//! errors, and bad input that must cost the sender its connection and
//! nobody else anything.

use std::io::{BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use wasock_test_programs::KV;

use crate::common::{Guest, PATIENCE, run_server};

mod client;

use client::{
    Reply, bulk, cli, connect, rates, read_reply, resp, said_before_closing, still_serving, tool,
};

/// `wasock run` of the guest with `host` flags for wasock; and the
/// address it listens on.
fn start(host: &[&str]) -> (Guest, SocketAddr) {
    run_server(KV, host, &[])
}

#[test]
fn every_command_through_redis_cli() {
    let (g, addr) = start(&[]);
    let cases: &[(&[&str], &str)] = &[
        (&["PING"], "PONG"),
        (&["ping", "hello"], "\"hello\""),
        (&["ECHO", "hi there"], "\"hi there\""),
        (&["SET", "k", "v"], "OK"),
        (&["GET", "k"], "\"v\""),
        (&["get", "missing"], "(nil)"),
        (&["SET", "n", "41"], "OK"),
        (&["INCR", "n"], "(integer) 42"),
        (&["INCR", "fresh"], "(integer) 1"),
        (
            &["INCR", "k"],
            "(error) ERR value is not an integer or out of range",
        ),
        (&["SET", "big", "9223372036854775807"], "OK"),
        (
            &["INCR", "big"],
            "(error) ERR increment or decrement would overflow",
        ),
        (&["MSET", "a", "1", "b", "2"], "OK"),
        (
            &["MGET", "a", "b", "missing"],
            "1) \"1\"\n2) \"2\"\n3) (nil)",
        ),
        (&["EXISTS", "a", "b", "missing", "a"], "(integer) 3"),
        (&["DEL", "a", "missing"], "(integer) 1"),
        (&["EXISTS", "a"], "(integer) 0"),
        (&["SET", "k", "v2", "NX"], "(nil)"),
        (&["SET", "k", "v3", "XX"], "OK"),
        (&["SET", "nokey", "v", "XX"], "(nil)"),
        (&["SET", "k2", "v", "NX", "PX", "60000"], "OK"),
        (&["GET", "k"], "\"v3\""),
        (&["TTL", "k"], "(integer) -1"),
        (&["TTL", "missing"], "(integer) -2"),
        (&["EXPIRE", "missing", "5"], "(integer) 0"),
        (&["EXPIRE", "k", "50"], "(integer) 1"),
        (
            &["SET", "x", "y", "EX", "0"],
            "(error) ERR invalid expire time in 'set' command",
        ),
        (
            &["SET", "x", "y", "EX", "soon"],
            "(error) ERR value is not an integer or out of range",
        ),
        (&["SET", "x", "y", "BOGUS"], "(error) ERR syntax error"),
        (
            &["EXPIRE", "k", "soon"],
            "(error) ERR value is not an integer or out of range",
        ),
        (
            &["FOO", "bar", "baz"],
            "(error) ERR unknown command 'FOO', with args beginning with: 'bar' 'baz'",
        ),
        (
            &["GET"],
            "(error) ERR wrong number of arguments for 'get' command",
        ),
        (
            &["GET", "a", "b"],
            "(error) ERR wrong number of arguments for 'get' command",
        ),
        (
            &["MSET", "a"],
            "(error) ERR wrong number of arguments for 'mset' command",
        ),
        (
            &["MSET", "a", "1", "b"],
            "(error) ERR wrong number of arguments for 'mset' command",
        ),
        (
            &["TTL"],
            "(error) ERR wrong number of arguments for 'ttl' command",
        ),
        (&["CONFIG", "GET", "save"], "1) \"save\"\n2) \"\""),
        (
            &["CONFIG", "GET", "appendonly"],
            "1) \"appendonly\"\n2) \"no\"",
        ),
        (&["CONFIG", "GET", "nosuchthing"], "(empty array)"),
        (&["SELECT", "0"], "OK"),
        (&["SELECT", "1"], "(error) ERR DB index is out of range"),
        (&["QUIT"], "OK"),
    ];
    for (args, want) in cases {
        let got = cli(addr, args);
        // redis-cli keeps the blank Redis puts after each quoted argument.
        assert_eq!(got.trim_end(), *want, "redis-cli {args:?}");
    }
    // Expiry: seconds rounded as Redis does, and keys really go.
    let ttl = cli(addr, &["TTL", "k"]);
    let secs: i64 = ttl.strip_prefix("(integer) ").unwrap().parse().unwrap();
    assert!((40..=50).contains(&secs), "TTL k: {ttl}");
    let pttl = cli(addr, &["PTTL", "k2"]);
    let ms: i64 = pttl.strip_prefix("(integer) ").unwrap().parse().unwrap();
    assert!((40_000..=60_000).contains(&ms), "{pttl}");
    let mut s = connect(addr);
    let mut r = BufReader::new(s.try_clone().unwrap());
    s.write_all(b"SET brief v PX 300\r\nGET brief\r\n").unwrap();
    assert_eq!(read_reply(&mut r), Reply::Simple("OK".into()));
    assert_eq!(read_reply(&mut r), bulk("v"));
    let deadline = Instant::now() + PATIENCE;
    loop {
        std::thread::sleep(Duration::from_millis(100));
        s.write_all(b"GET brief\r\n").unwrap();
        if read_reply(&mut r) == Reply::Bulk(None) {
            break;
        }
        assert!(Instant::now() < deadline, "brief never expired");
    }
    assert_eq!(cli(addr, &["EXPIRE", "k", "-1"]), "(integer) 1");
    assert_eq!(cli(addr, &["EXISTS", "k"]), "(integer) 0");
    // Admin commands clients use.
    let count = cli(addr, &["COMMAND", "COUNT"]);
    assert!(count.starts_with("(integer) "), "{count}");
    let info = cli(addr, &["INFO"]);
    for field in [
        "redis_version:",
        "connected_clients:",
        "used_memory:",
        "db0:keys=",
    ] {
        assert!(info.contains(field), "no {field} in INFO:\n{info}");
    }
    // One connection, several commands: the client's name stays with it.
    let port = addr.port().to_string();
    let out = tool(
        "redis-cli",
        &["--no-raw", "-p", &port],
        b"CLIENT SETNAME tester\nCLIENT GETNAME\nCLIENT ID\n",
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("OK\n\"tester\"\n(integer) "), "{text}");
    assert_eq!(cli(addr, &["FLUSHALL"]), "OK");
    assert_eq!(cli(addr, &["DBSIZE"]), "(integer) 0");
    still_serving(&g, addr);
}

#[test]
fn inline_commands_from_nc_and_a_raw_socket() {
    let (g, addr) = start(&[]);
    let port = addr.port().to_string();
    let out = tool(
        "nc",
        &["-N", "-w", "30", "127.0.0.1", &port],
        b"PING\r\nSET greeting \"hello world\\n\"\r\nGET greeting\r\nECHO 'a b'\r\n\r\nNOPE x\r\nQUIT\r\n",
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "+PONG\r\n+OK\r\n$12\r\nhello world\n\r\n$3\r\na b\r\n-ERR unknown command 'NOPE', with args beginning with: 'x' \r\n+OK\r\n"
    );
    // An inline command split across writes, then one with a bad quote,
    // which closes the connection.
    let mut s = connect(addr);
    s.write_all(b"EC").unwrap();
    std::thread::sleep(Duration::from_millis(50));
    s.write_all(b"HO split\n").unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    assert_eq!(read_reply(&mut r), bulk("split"));
    s.write_all(b"GET \"unterminated\r\n").unwrap();
    assert_eq!(
        read_reply(&mut r),
        Reply::Error("ERR Protocol error: unbalanced quotes in request".into())
    );
    let mut rest = Vec::new();
    r.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty(), "{rest:?}");
    still_serving(&g, addr);
}

#[test]
fn pipelined_commands_are_answered_in_order() {
    let (g, addr) = start(&[]);
    // 10,000 commands in one write, mixed kinds; a reader on another
    // thread so that neither side waits on the other.
    const N: usize = 2500;
    let mut batch = Vec::new();
    for i in 0..N {
        let (k, v) = (format!("key:{i}"), format!("value:{i}"));
        batch.extend(resp(&[b"SET", k.as_bytes(), v.as_bytes()]));
        batch.extend(resp(&[b"INCR", b"counter"]));
        batch.extend(resp(&[b"GET", k.as_bytes()]));
        batch.extend(format!("EXISTS {k} nope\r\n").as_bytes());
    }
    let s = connect(addr);
    let reader = {
        let s = s.try_clone().unwrap();
        std::thread::spawn(move || {
            let mut r = BufReader::new(s);
            for i in 0..N {
                assert_eq!(read_reply(&mut r), Reply::Simple("OK".into()), "SET {i}");
                assert_eq!(read_reply(&mut r), Reply::Int(i as i64 + 1), "INCR {i}");
                assert_eq!(read_reply(&mut r), bulk(&format!("value:{i}")), "GET {i}");
                assert_eq!(read_reply(&mut r), Reply::Int(1), "EXISTS {i}");
            }
        })
    };
    (&s).write_all(&batch).unwrap();
    reader.join().unwrap();
    // redis-cli's own pipe mode: RESP on stdin, as fast as it can.
    let mut input = Vec::new();
    for i in 0..1000 {
        input.extend(resp(&[b"SET", format!("pipe:{i}").as_bytes(), b"x"]));
    }
    let port = addr.port().to_string();
    let out = tool("redis-cli", &["-p", &port, "--pipe"], &input);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("errors: 0, replies: 1000"), "{text}");
    assert_eq!(
        cli(addr, &["DBSIZE"]),
        format!("(integer) {}", N + 1 + 1000)
    );
    still_serving(&g, addr);
}

#[test]
fn redis_benchmark_completes_without_errors() {
    let (g, addr) = start(&[]);
    let port = addr.port().to_string();
    let began = Instant::now();
    let out = tool(
        "redis-benchmark",
        &[
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-t",
            "ping,set,get,incr,mset",
            "-n",
            "20000",
            "-P",
            "16",
            "-c",
            "50",
            "-q",
        ],
        b"",
    );
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("redis-benchmark took {:?}:\n{text}", began.elapsed());
    assert!(out.status.success(), "{:?}: {text}", out.status);
    assert!(
        !text.contains("ERR") && !text.contains("Error") && !text.contains("WARN"),
        "{text}"
    );
    let rates = rates(&text);
    for test in [
        "PING_INLINE",
        "PING_MBULK",
        "SET",
        "GET",
        "INCR",
        "MSET (10 keys)",
    ] {
        let rate = rates
            .iter()
            .find(|(name, _)| name == test)
            .unwrap_or_else(|| panic!("no rate for {test} in:\n{text}"))
            .1;
        assert!(rate > 0.0, "{test}: {rate}");
    }
    // Every INCR counted once, from 50 clients at once; SET's 3 bytes.
    assert_eq!(cli(addr, &["GET", "counter:__rand_int__"]), "\"20000\"");
    let mut s = connect(addr);
    s.write_all(b"GET key:__rand_int__\r\n").unwrap();
    match read_reply(&mut BufReader::new(s)) {
        Reply::Bulk(Some(v)) => assert_eq!(v.len(), 3, "{v:?}"),
        other => panic!("GET key:__rand_int__: {other:?}"),
    }
    still_serving(&g, addr);
}

#[test]
fn protocol_errors_close_only_that_connection() {
    let (g, addr) = start(&[]);
    // A client that stays through it all, its connection untouched.
    let mut bystander = connect(addr);
    let mut by = BufReader::new(bystander.try_clone().unwrap());
    bystander.write_all(&resp(&[b"SET", b"k", b"v"])).unwrap();
    assert_eq!(read_reply(&mut by), Reply::Simple("OK".into()));

    let cases: &[(&[u8], &str)] = &[
        // A bulk claiming 4 GiB is refused at its header.
        (
            b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4294967296\r\n",
            "-ERR Protocol error: invalid bulk length\r\n",
        ),
        // One byte past the 64 MiB limit.
        (
            b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$67108865\r\n",
            "-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"*1\r\n$-5\r\n",
            "-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"*4294967296\r\n",
            "-ERR Protocol error: invalid multibulk length\r\n",
        ),
        (
            b"*two\r\n",
            "-ERR Protocol error: invalid multibulk length\r\n",
        ),
        (
            b"*1\r\nGET\r\n",
            "-ERR Protocol error: expected '$', got 'G'\r\n",
        ),
        // Replies to what came before the error are sent first.
        (
            b"PING\r\n*1\r\n$4\r\nPINGxx",
            "+PONG\r\n-ERR Protocol error: expected CRLF after bulk string\r\n",
        ),
    ];
    for (input, want) in cases {
        assert_eq!(said_before_closing(addr, input), *want, "{input:?}");
    }
    // An endless line is cut off at 64 KiB.
    let said = said_before_closing(addr, &vec![b'a'; 100 << 10]);
    assert_eq!(said, "-ERR Protocol error: too big inline request\r\n");
    // Random bytes: whatever the server makes of them, it goes on.
    let mut x = 0x2545_f491_4f6c_dd1du64;
    for round in 0..20 {
        let garbage: Vec<u8> = (0..4096)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect();
        let mut s = connect(addr);
        let _ = s.write_all(&garbage);
        if round % 2 == 0 {
            let _ = s.shutdown(Shutdown::Write);
            let mut sink = Vec::new();
            let _ = s.read_to_end(&mut sink);
        }
    }
    bystander.write_all(b"GET k\r\n").unwrap();
    assert_eq!(read_reply(&mut by), bulk("v"));
    still_serving(&g, addr);
}

#[test]
fn clients_that_vanish_midway_cost_nothing() {
    let (g, addr) = start(&[]);
    // Truncated commands, then gone: closed politely, or reset.
    for (i, cut) in [
        &b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10\r\nabc"[..],
        b"*3\r\n$3\r\nSET\r\n$1\r\nk",
        b"*3\r\n$3\r\nSE",
        b"*3\r",
        b"SET k inline-without-newline",
    ]
    .iter()
    .enumerate()
    {
        let sock =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        sock.connect_timeout(&addr.into(), PATIENCE).unwrap();
        let mut s: TcpStream = sock.into();
        s.write_all(cut).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        if i % 2 == 1 {
            // RST instead of FIN.
            socket2::SockRef::from(&s)
                .set_linger(Some(Duration::ZERO))
                .unwrap();
        }
        drop(s);
    }
    // Nothing half-sent was applied; everyone else is served.
    assert_eq!(cli(addr, &["GET", "k"]), "(nil)");
    // Connections that vanish while replies are on their way.
    for _ in 0..20 {
        let mut s = connect(addr);
        let mut batch = Vec::new();
        for _ in 0..1000 {
            batch.extend_from_slice(b"PING\r\n");
        }
        s.write_all(&batch).unwrap();
        socket2::SockRef::from(&s)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
        drop(s);
    }
    let deadline = Instant::now() + PATIENCE;
    loop {
        let info = cli(addr, &["INFO", "clients"]);
        if info.contains("connected_clients:1\r") || info.contains("connected_clients:1\n") {
            break;
        }
        assert!(Instant::now() < deadline, "clients never went:\n{info}");
        std::thread::sleep(Duration::from_millis(20));
    }
    still_serving(&g, addr);
}

#[test]
fn claimed_sizes_are_never_allocated_and_big_values_work() {
    // A guest of at most 48 MiB: eight claims of 60 MiB (480 MiB) would
    // end it at once if the server reserved what clients claim.
    let (g, addr) = start(&["--max-memory", "48MiB"]);
    let claims: Vec<TcpStream> = (0..8)
        .map(|_| {
            let mut s = connect(addr);
            s.write_all(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$62914560\r\n")
                .unwrap();
            s.write_all(&[b'z'; 1024]).unwrap();
            s
        })
        .collect();
    still_serving(&g, addr);
    // A real 4 MiB value, stored, read back twice in one reply, and
    // deleted, while the claims are still open.
    let value: Vec<u8> = (0..4 << 20).map(|i: u32| (i % 251) as u8).collect();
    let mut s = connect(addr);
    let mut r = BufReader::new(s.try_clone().unwrap());
    s.write_all(&resp(&[b"SET", b"big", &value])).unwrap();
    assert_eq!(read_reply(&mut r), Reply::Simple("OK".into()));
    s.write_all(&resp(&[b"MGET", b"big", b"nope", b"big"]))
        .unwrap();
    let want = Reply::Array(Some(vec![
        Reply::Bulk(Some(value.clone())),
        Reply::Bulk(None),
        Reply::Bulk(Some(value.clone())),
    ]));
    assert!(read_reply(&mut r) == want, "MGET big nope big differs");
    // A client that asks for 10 x 4 MiB and reads nothing for a while
    // holds back only itself (the server does not buffer 40 MiB for it).
    let mut greedy = connect(addr);
    for _ in 0..10 {
        greedy.write_all(b"GET big\r\n").unwrap();
    }
    std::thread::sleep(Duration::from_millis(300));
    still_serving(&g, addr);
    let mut gr = BufReader::new(greedy.try_clone().unwrap());
    for i in 0..10 {
        assert!(
            read_reply(&mut gr) == Reply::Bulk(Some(value.clone())),
            "GET {i} differs"
        );
    }
    s.write_all(b"DEL big\r\n").unwrap();
    assert_eq!(read_reply(&mut r), Reply::Int(1));
    drop(claims);
    still_serving(&g, addr);
}

#[test]
fn expired_keys_are_removed_without_being_touched() {
    let (g, addr) = start(&[]);
    let mut s = connect(addr);
    let mut r = BufReader::new(s.try_clone().unwrap());
    let mut batch = Vec::new();
    for i in 0..500 {
        batch.extend(format!("SET temp:{i} v PX 100\r\n").as_bytes());
    }
    batch.extend_from_slice(b"SET keep v\r\nDBSIZE\r\n");
    s.write_all(&batch).unwrap();
    for _ in 0..501 {
        assert_eq!(read_reply(&mut r), Reply::Simple("OK".into()));
    }
    assert_eq!(read_reply(&mut r), Reply::Int(501));
    let deadline = Instant::now() + PATIENCE;
    loop {
        std::thread::sleep(Duration::from_millis(100));
        s.write_all(b"DBSIZE\r\n").unwrap();
        if read_reply(&mut r) == Reply::Int(1) {
            break;
        }
        assert!(Instant::now() < deadline, "expired keys stayed");
    }
    still_serving(&g, addr);
}

#[test]
fn connections_share_a_bounded_budget_for_big_requests() {
    let (g, addr) = start(&[]);
    // One client sends most of a 60 MiB value: the server holds it.
    const BIG: usize = 60 << 20;
    let mut first = connect(addr);
    first
        .write_all(format!("*3\r\n$3\r\nSET\r\n$1\r\na\r\n${BIG}\r\n").as_bytes())
        .unwrap();
    let chunk = vec![b'a'; 1 << 20];
    for _ in 0..50 {
        first.write_all(&chunk).unwrap();
    }
    // A second one sending 30 MiB more meanwhile is refused (and closed)
    // once the connections together would hold more than 80 MiB.
    let mut second = connect(addr);
    let mut reply = BufReader::new(second.try_clone().unwrap());
    let sender = std::thread::spawn(move || {
        let _ = second.write_all(format!("*3\r\n$3\r\nSET\r\n$1\r\nb\r\n${BIG}\r\n").as_bytes());
        let chunk = vec![b'b'; 1 << 20];
        for _ in 0..30 {
            if second.write_all(&chunk).is_err() {
                break;
            }
        }
    });
    assert_eq!(
        read_reply(&mut reply),
        Reply::Error("ERR too many large requests in progress; try again later".into())
    );
    sender.join().unwrap();
    still_serving(&g, addr);
    // The first completes its command.
    for _ in 0..10 {
        first.write_all(&chunk).unwrap();
    }
    first.write_all(b"\r\nEXISTS a\r\nDEL a\r\n").unwrap();
    let mut r = BufReader::new(first);
    assert_eq!(read_reply(&mut r), Reply::Simple("OK".into()));
    assert_eq!(read_reply(&mut r), Reply::Int(1));
    assert_eq!(read_reply(&mut r), Reply::Int(1));
    still_serving(&g, addr);
}
