//! The SDK's async runtime (`wasock::rt`): a task waiting on a socket never
//! stops another that is ready; timers fire in order; `timeout` cancels
//! cleanly; a dropped future leaves no registration behind; spawned tasks'
//! results; intervals and their missed-tick behaviours; join sets; bounded
//! channels; `try_read`/`try_write`; a listener made from a raw socket;
//! name lookup while other tasks run; UDP. Prints `ok WHAT` per check and
//! `ok done`.
//!
//! `async_rt poll-limit N`, on a host that allows N sockets in a poll
//! set: N + 2 tasks wait at once; the two the host cannot take fail with
//! an error saying so, and the others are still served.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;
use std::time::{Duration, Instant};

use wasock::rt::net::{TcpListener, TcpStream, UdpSocket, lookup_host};
use wasock::rt::{
    self, JoinSet, MissedTickBehavior, TrySendError, block_on, interval, sleep, spawn, timeout,
};
use wasock_guests::conformance::{check, check_eq, done, fail, must};

fn main() {
    if std::env::args().nth(1).as_deref() == Some("poll-limit") {
        let limit = std::env::args()
            .nth(2)
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| fail("arguments", "poll-limit N".into()));
        block_on(more_waits_than_the_host_allows(limit));
        check_eq("no task left after block_on", rt::tasks(), 0);
        done();
        return;
    }
    block_on(async {
        blocked_task_does_not_stop_a_ready_one().await;
        timers_fire_in_order().await;
        timeout_cancels_cleanly().await;
        join_handles_and_intervals().await;
        late_ticks_burst_delay_or_skip().await;
        join_sets_give_results_as_tasks_finish().await;
        a_bounded_channel_holds_back_a_fast_sender().await;
        try_read_and_try_write_never_wait().await;
        a_listener_from_a_raw_socket().await;
        lookup_lets_others_run().await;
        accept_forms().await;
        udp_round_trip().await;
        a_refusal_ends_a_waiting_recv().await;
        a_read_after_a_short_one_finds_what_came_meanwhile().await;
        timer_edges().await;
        a_leaked_wait_is_forgotten_with_its_socket().await;
        check_eq("no registration left", rt::waiting(), 0);
    });
    check_eq("no task left after block_on", rt::tasks(), 0);
    done();
}

async fn blocked_task_does_not_stop_a_ready_one() {
    // A task parked on a socket nothing will ever arrive on...
    let idle = must("bind idle", UdpSocket::bind("127.0.0.1:0").await);
    let parked = spawn(async move {
        let mut buf = [0u8; 8];
        let _ = idle.recv_from(&mut buf).await;
        fail("idle socket", "a datagram came from nowhere".into());
    });
    // ...while another does 200 TCP round trips with a third.
    let listener = must("listen", TcpListener::bind("127.0.0.1:0").await);
    let addr = must("local addr", listener.local_addr());
    let server = spawn(async move {
        let (s, _) = must("accept", listener.accept().await);
        let mut buf = [0u8; 64];
        loop {
            let n = must("server read", s.read(&mut buf).await);
            if n == 0 {
                break;
            }
            must("server write", s.write_all(&buf[..n]).await);
        }
    });
    let client = must("connect", TcpStream::connect(addr).await);
    let mut buf = [0u8; 5];
    for _ in 0..200 {
        must("client write", client.write_all(b"hello").await);
        must("client read", client.read_exact(&mut buf).await);
    }
    check_eq("echoed", &buf, b"hello");
    drop(client);
    server.await;
    check(
        "a parked task does not stop a ready one",
        !parked.is_finished(),
    );
    check_eq("the parked task waits on one socket", rt::waiting(), 1);
    parked.abort();
    check_eq("an aborted task leaves no registration", rt::waiting(), 0);
}

async fn timers_fire_in_order() {
    let order = Rc::new(RefCell::new(Vec::new()));
    let mut tasks = Vec::new();
    for ms in [30u64, 10, 20, 10] {
        let order = order.clone();
        tasks.push(spawn(async move {
            sleep(Duration::from_millis(ms)).await;
            order.borrow_mut().push(ms);
        }));
    }
    for t in tasks {
        t.await;
    }
    check_eq(
        "timers fire in deadline order",
        order.borrow().clone(),
        vec![10, 10, 20, 30],
    );
}

async fn timeout_cancels_cleanly() {
    let s = must("bind", UdpSocket::bind("127.0.0.1:0").await);
    let before = rt::waiting();
    let start = Instant::now();
    let mut buf = [0u8; 8];
    let r = timeout(Duration::from_millis(20), s.recv_from(&mut buf)).await;
    check("timeout elapses", r.is_err());
    check(
        "after about its duration",
        start.elapsed() >= Duration::from_millis(20),
    );
    check_eq(
        "the timed-out receive left no registration",
        rt::waiting(),
        before,
    );
    // A future polled once and dropped leaves nothing either.
    {
        let recv = s.recv_from(&mut buf);
        let polled = timeout(Duration::ZERO, recv).await;
        check("a zero timeout elapses", polled.is_err());
    }
    check_eq(
        "the dropped receive left no registration",
        rt::waiting(),
        before,
    );
    // And a completed timeout leaves no timer to wake anyone.
    let r = timeout(Duration::from_secs(60), async { 5 }).await;
    check_eq("timeout passes the value", r, Ok(5));
}

async fn join_handles_and_intervals() {
    let h = spawn(async { 6 * 7 });
    check_eq("join handle", h.await, 42);
    // The period is long enough that a loaded machine (the whole suite
    // running at once) does not make the guest a whole period late.
    let mut every = interval(Duration::from_millis(100));
    let start = Instant::now();
    let first = every.tick().await;
    every.tick().await;
    let third = every.tick().await;
    check_eq(
        "ticks 100 ms apart",
        third.duration_since(first),
        Duration::from_millis(200),
    );
    check(
        "the third tick waits for its time",
        start.elapsed() >= Duration::from_millis(200),
    );
}

/// A tick taken 70 ms late on a 20 ms interval: what comes next.
async fn late_ticks_burst_delay_or_skip() {
    let period = Duration::from_millis(20);
    let late = |behavior| async move {
        let mut every = interval(period);
        every.set_missed_tick_behavior(behavior);
        let first = every.tick().await;
        sleep(Duration::from_millis(70)).await;
        let woke = Instant::now();
        let late = every.tick().await;
        check_eq("the late tick is the one scheduled", late, first + period);
        (every, first, woke)
    };
    // Burst (tokio's default): the missed ticks come at once, each at its
    // scheduled instant.
    let (mut every, first, _) = late(MissedTickBehavior::default()).await;
    let burst = [every.tick().await, every.tick().await];
    check_eq(
        "burst: the missed ticks",
        burst,
        [first + period * 2, first + period * 3],
    );
    // Delay: the next tick comes a period after the late one was taken,
    // also when it was late by less than a period (tokio's 5 ms grace).
    let (mut every, _, woke) = late(MissedTickBehavior::Delay).await;
    let next = every.tick().await;
    check("delay: a period after the late tick", next >= woke + period);
    let mut every = interval(Duration::from_millis(100));
    every.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let first = every.tick().await;
    sleep(Duration::from_millis(130)).await;
    let woke = Instant::now();
    every.tick().await;
    let next = every.tick().await;
    check(
        "delay: late by less than a period",
        next >= woke + Duration::from_millis(100) && next > first + Duration::from_millis(200),
    );
    // Skip: the schedule is kept, the missed ticks left out.
    let (mut every, first, woke) = late(MissedTickBehavior::Skip).await;
    let next = every.tick().await;
    let since = next.duration_since(first);
    check(
        "skip: on the schedule, after the late tick",
        next > woke && since.as_nanos() % period.as_nanos() == 0,
    );
}

async fn join_sets_give_results_as_tasks_finish() {
    let before = rt::tasks();
    let mut set = JoinSet::new();
    for ms in [30, 10, 20] {
        set.spawn(async move {
            sleep(Duration::from_millis(ms)).await;
            ms
        });
    }
    check_eq("a set counts its tasks", set.len(), 3);
    let mut order = Vec::new();
    while let Some(ms) = set.join_next().await {
        order.push(ms);
    }
    check_eq("results in the order tasks finish", order, vec![10, 20, 30]);
    check_eq("a joined set is empty", set.len(), 0);
    // abort_all and drop stop what still runs.
    for _ in 0..3 {
        set.spawn(async {
            sleep(Duration::from_secs(3600)).await;
            0
        });
    }
    set.spawn(async { 1 });
    rt::yield_now().await;
    check_eq(
        "a finished task's result waits",
        set.try_join_next(),
        Some(1),
    );
    set.abort_all();
    check_eq("abort_all stops the rest", set.join_next().await, None);
    check_eq("no task left by abort_all", rt::tasks(), before);
    let mut dropped = JoinSet::new();
    dropped.spawn(sleep(Duration::from_secs(3600)));
    drop(dropped);
    check_eq("dropping a set stops its tasks", rt::tasks(), before);
    let mut all = JoinSet::new();
    all.spawn(async { 'a' });
    all.spawn(async { 'b' });
    check_eq("join_all", all.join_all().await.len(), 2);
    // One task stopped through its handle leaves the set at once, even
    // before it first ran.
    let mut set = JoinSet::new();
    set.spawn(async { 1 });
    let slow = set.spawn(async {
        sleep(Duration::from_secs(3600)).await;
        2
    });
    slow.abort();
    check("a stopped task is finished", slow.is_finished());
    check_eq("it leaves the set at once", set.len(), 1);
    check_eq("the other's result comes", set.join_next().await, Some(1));
    check_eq("and then no more", set.join_next().await, None);
    let lone = spawn(sleep(Duration::from_secs(3600)));
    let stop = lone.abort_handle();
    check("a waiting task is not finished", !stop.is_finished());
    stop.abort();
    check(
        "stopped through an abort handle",
        stop.is_finished() && lone.is_finished(),
    );
    check_eq("no task left by abort handles", rt::tasks(), before);
}

async fn a_bounded_channel_holds_back_a_fast_sender() {
    let (tx, mut rx) = rt::bounded_channel(2);
    let sent = Rc::new(Cell::new(0));
    let producer = {
        let sent = sent.clone();
        spawn(async move {
            for i in 0..5 {
                check("a send to a live receiver", tx.send(i).await.is_ok());
                sent.set(i + 1);
            }
        })
    };
    sleep(Duration::from_millis(10)).await;
    check_eq("a full channel holds its sender back", sent.get(), 2);
    for want in 0..5 {
        check_eq("values in order", rx.recv().await, Some(want));
    }
    producer.await;
    check_eq("no sender left: the end", rx.recv().await, None);
    check_eq(
        "try_recv with no sender left",
        rx.try_recv(),
        Err(rt::TryRecvError::Disconnected),
    );
    let (tx, mut rx) = rt::channel();
    check_eq(
        "try_recv on an empty channel",
        rx.try_recv(),
        Err(rt::TryRecvError::Empty),
    );
    check("a send", tx.send(5).is_ok());
    check_eq("try_recv takes it", rx.try_recv(), Ok(5));
    drop(rx);
    check("is_closed once the receiver is gone", tx.is_closed());
    let (tx, rx) = rt::bounded_channel(1);
    check("try_send with room", tx.try_send(1).is_ok());
    check_eq(
        "try_send when full",
        tx.try_send(2),
        Err(TrySendError::Full(2)),
    );
    let waiting = spawn(async move { tx.send(3).await });
    rt::yield_now().await;
    check(
        "a send waits while the channel is full",
        !waiting.is_finished(),
    );
    drop(rx);
    let back = within("the waiting send", async { Ok(waiting.await) }).await;
    check_eq("the receiver's going gives the value back", back, Err(3));
    senders_wait_their_turn().await;
    a_closed_channel_drains_and_tells_its_senders().await;
}

/// `Receiver::close` ends sending but keeps what is queued; senders'
/// `closed()` waits end with it, and a dropped one leaves nothing behind.
async fn a_closed_channel_drains_and_tells_its_senders() {
    let (tx, mut rx) = rt::bounded_channel(1);
    let tx = Rc::new(tx);
    check("a send with room", tx.try_send(1).is_ok());
    let blocked = {
        let tx = tx.clone();
        spawn(async move { tx.send(2).await })
    };
    let watcher = {
        let tx = tx.clone();
        spawn(async move { tx.closed().await })
    };
    // A closed() wait given up before the end.
    check(
        "a closed() wait times out while the receiver lives",
        timeout(Duration::from_millis(1), tx.closed())
            .await
            .is_err(),
    );
    rt::yield_now().await;
    check(
        "closed() waits while the receiver lives",
        !watcher.is_finished(),
    );
    rx.close();
    check("is_closed after close", tx.is_closed());
    within("closed() after close", async {
        watcher.await;
        Ok(())
    })
    .await;
    let back = within("the blocked send after close", async { Ok(blocked.await) }).await;
    check_eq("a send blocked at close gets its value back", back, Err(2));
    check_eq(
        "try_send after close",
        tx.try_send(3),
        Err(TrySendError::Closed(3)),
    );
    check_eq("recv drains what was queued", rx.recv().await, Some(1));
    check_eq("then ends, senders alive", rx.recv().await, None);
    check_eq(
        "try_recv after the drain",
        rx.try_recv(),
        Err(rt::TryRecvError::Disconnected),
    );
    let (tx, rx) = rt::channel::<u8>();
    let watcher = spawn(async move { tx.closed().await });
    rt::yield_now().await;
    drop(rx);
    within("closed() when the receiver drops", async {
        watcher.await;
        Ok(())
    })
    .await;
}

/// Several senders blocked on a full channel get in in the order they
/// came, and one that gives up (its send dropped) holds no one back.
async fn senders_wait_their_turn() {
    let (tx, mut rx) = rt::bounded_channel(1);
    let tx = Rc::new(tx);
    check("fill the channel", tx.try_send(0).is_ok());
    let mut senders = Vec::new();
    for i in 1..=3 {
        let tx = tx.clone();
        senders.push(spawn(async move { tx.send(i).await.is_ok() }));
        rt::yield_now().await;
    }
    // A fourth that gives up while it waits.
    let quitter = {
        let tx = tx.clone();
        spawn(async move {
            timeout(Duration::from_millis(1), tx.send(99))
                .await
                .is_err()
        })
    };
    rt::yield_now().await;
    check(
        "try_send does not jump the line",
        matches!(tx.try_send(98), Err(TrySendError::Full(98))),
    );
    sleep(Duration::from_millis(5)).await;
    check("the quitter gave up", quitter.await);
    let mut got = Vec::new();
    for _ in 0..4 {
        got.push(within("recv", async { Ok(rx.recv().await) }).await);
    }
    check_eq(
        "in the order they came",
        got,
        vec![Some(0), Some(1), Some(2), Some(3)],
    );
    for s in senders {
        check("each blocked send got in", s.await);
    }
    // The quitter's place does not block the next send.
    let sent = within("a send after one gave up", async { Ok(tx.send(4).await) }).await;
    check("a send after one gave up", sent.is_ok());
    check_eq("and it arrives", rx.recv().await, Some(4));
}

async fn try_read_and_try_write_never_wait() {
    let listener = must("listen", TcpListener::bind("127.0.0.1:0").await);
    let addr = must("local addr", listener.local_addr());
    let client = must("connect", TcpStream::connect(addr).await);
    let (server, _) = must("accept", listener.accept().await);
    let mut buf = [0u8; 64];
    let nothing = server.try_read(&mut buf).map_err(|e| e.kind());
    check_eq(
        "try_read with nothing there",
        nothing,
        Err(std::io::ErrorKind::WouldBlock),
    );
    check_eq("try_write", must("try_write", client.try_write(b"hey")), 3);
    within("readable", server.readable()).await;
    let n = must("try_read", server.try_read(&mut buf));
    check_eq("try_read takes what came", &buf[..n], b"hey");
    // A read after try_read's short one still waits for what comes next.
    must("write more", client.write_all(b"more").await);
    let n = within("read after try_read", server.read(&mut buf)).await;
    check_eq("a read after try_read", &buf[..n], b"more");
    // tokio's shapes: read_exact gives the length, shutdown ends writing.
    must("write four", client.write_all(b"four").await);
    let mut four = [0u8; 4];
    let n = within("read_exact", server.read_exact(&mut four)).await;
    check_eq("read_exact gives the length", n, 4);
    let (mut rd, mut wr) = server.into_split();
    let nothing = rd.try_read(&mut buf).map_err(|e| e.kind());
    check_eq(
        "a read half's try_read",
        nothing,
        Err(std::io::ErrorKind::WouldBlock),
    );
    check_eq(
        "a write half's try_write",
        must("try_write", wr.try_write(b"!")),
        1,
    );
    let n = within("read the half's write", client.read(&mut buf)).await;
    check_eq("what the write half sent", &buf[..n], b"!");
    within("shutdown of a write half", wr.shutdown()).await;
    let n = within("read the end", client.read(&mut buf)).await;
    check_eq("the peer reads the end", n, 0);
    within("shutdown of a stream", client.shutdown()).await;
    let n = within("the read half reads the end", rd.read(&mut buf)).await;
    check_eq("after the peer's shutdown", n, 0);
}

async fn a_listener_from_a_raw_socket() {
    use wasock::raw::wasock::sockets::types::{AddressFamily, SocketType};
    use wasock::{Socket, SocketOption};
    let raw = || -> std::io::Result<Socket> {
        let sock = Socket::open(AddressFamily::Ipv4, SocketType::Stream)?;
        sock.set_option(SocketOption::ReuseAddress(true))?;
        sock.bind(wasock::addr::from_std("127.0.0.1:0".parse().unwrap()))?;
        sock.listen(4)?;
        Ok(sock)
    };
    let sock = must("a raw listener", raw());
    let blocking = wasock::net::TcpListener::from_socket(sock);
    let listener = must("from_std", TcpListener::from_std(blocking));
    let addr = must("local addr", listener.local_addr());
    // Non-blocking: with no one connecting, an accept lets the timer win
    // (a blocking one would stop the whole guest here).
    let idle = timeout(Duration::from_millis(10), listener.accept()).await;
    check("from_std makes the listener non-blocking", idle.is_err());
    let accepted = spawn(async move { listener.accept().await.map(|(_, peer)| peer) });
    let client = must("connect", TcpStream::connect(addr).await);
    let peer = within("accept on a listener from a raw socket", accepted).await;
    check_eq(
        "the peer accepted",
        peer,
        must("client addr", client.local_addr()),
    );
}

async fn lookup_lets_others_run() {
    let counter = Rc::new(RefCell::new(0u32));
    let ticker = spawn(async move {
        loop {
            *counter.borrow_mut() += 1;
            rt::yield_now().await;
        }
    });
    let addrs = must("lookup localhost", lookup_host("localhost:80").await);
    check(
        "localhost has an address",
        addrs.iter().any(|a| a.ip().is_loopback() && a.port() == 80),
    );
    let literal = must("lookup a literal", lookup_host("[::1]:7").await);
    check_eq(
        "a literal is itself",
        literal,
        vec!["[::1]:7".parse().unwrap()],
    );
    check_eq(
        "an (Ipv4Addr, port) is itself",
        must(
            "lookup a pair",
            lookup_host((std::net::Ipv4Addr::LOCALHOST, 7)).await,
        ),
        vec!["127.0.0.1:7".parse().unwrap()],
    );
    // More lookups at once than the host lets run (16): the others wait
    // their turn; none fails.
    let many: Vec<_> = (0..40)
        .map(|_| spawn(lookup_host(("localhost", 80))))
        .collect();
    for lookup in many {
        let addrs = must("one of 40 lookups at once", lookup.await);
        check("it has an address", !addrs.is_empty());
    }
    // (Whether the ticker ran meanwhile depends on how fast the host's
    // resolver answers: not a promise to check.)
    ticker.abort();
}

/// `poll_accept` (tokio's shape) and an `Incoming`'s `accept` each take
/// a connection of their own listener.
async fn accept_forms() {
    let l = must("listen", TcpListener::bind("127.0.0.1:0").await);
    let other = must("listen other", TcpListener::bind("127.0.0.1:0").await);
    let addr = must("local addr", l.local_addr());
    let first = spawn(async move { must("connect", TcpStream::connect(addr).await) });
    let (_, peer) = must(
        "poll_accept",
        std::future::poll_fn(|cx| l.poll_accept(cx)).await,
    );
    let client = first.await;
    check_eq(
        "poll_accept's peer",
        peer,
        must("client addr", client.local_addr()),
    );
    let second = spawn(async move { must("connect again", TcpStream::connect(addr).await) });
    let (_, peer) = must("incoming accept", l.incoming().accept().await);
    check_eq(
        "the incoming's peer",
        peer,
        must("client addr", second.await.local_addr()),
    );
    check(
        "the other listener took nothing",
        timeout(Duration::from_millis(50), other.accept())
            .await
            .is_err(),
    );
}

async fn udp_round_trip() {
    let a = must("bind a", UdpSocket::bind("127.0.0.1:0").await);
    let b = must("bind b", UdpSocket::bind("127.0.0.1:0").await);
    let b_addr = must("b addr", b.local_addr());
    let echo = spawn(async move {
        let mut buf = [0u8; 64];
        let (n, from) = must("b recv_from", b.recv_from(&mut buf).await);
        must("b send_to", b.send_to(&buf[..n], from).await);
    });
    must("a send_to", a.send_to(b"ping", b_addr).await);
    let mut buf = [0u8; 64];
    let (n, from) = must("a recv_from", a.recv_from(&mut buf).await);
    check_eq("udp echo", &buf[..n], b"ping");
    check_eq("from b", from, b_addr);
    echo.await;
}

async fn a_read_after_a_short_one_finds_what_came_meanwhile() {
    // A short read makes the next one wait for readiness first (instead of
    // asking the host): data that arrived in between must still be found.
    let listener = must("listen", TcpListener::bind("127.0.0.1:0").await);
    let addr = must("local addr", listener.local_addr());
    let client = must("connect", TcpStream::connect(addr).await);
    let (server, _) = must("accept", listener.accept().await);
    let mut buf = [0u8; 64];
    must("write a", client.write_all(b"a").await);
    let n = must("read a", server.read(&mut buf).await);
    check_eq("a short read", &buf[..n], b"a");
    must("write b", client.write_all(b"b").await);
    sleep(Duration::from_millis(20)).await;
    let n = within("read b", server.read(&mut buf)).await;
    check_eq("what came after a short read", &buf[..n], b"b");
    // The same through a read half.
    let (mut rd, _wr) = server.into_split();
    must("write c", client.write_all(b"c").await);
    sleep(Duration::from_millis(20)).await;
    let n = within("read c", rd.read(&mut buf)).await;
    check_eq("the same through a read half", &buf[..n], b"c");
}

/// `op`'s result within five seconds, or the program fails naming `what`.
async fn within<T>(what: &str, op: impl Future<Output = std::io::Result<T>>) -> T {
    match timeout(Duration::from_secs(5), op).await {
        Ok(r) => must(what, r),
        Err(_) => fail(what, "timed out".into()),
    }
}

async fn timer_edges() {
    // A deadline too far to represent never comes, and does not panic.
    let never = timeout(Duration::from_millis(1), sleep(Duration::MAX)).await;
    check("sleep(Duration::MAX) never ends", never.is_err());
    // Moving a sleep another task waits on wakes that task at the new time.
    let shared = Rc::new(RefCell::new(sleep(Duration::from_secs(3600))));
    let waiter = {
        let shared = shared.clone();
        spawn(async move {
            std::future::poll_fn(|cx| std::pin::Pin::new(&mut *shared.borrow_mut()).poll(cx)).await;
        })
    };
    rt::yield_now().await;
    shared
        .borrow_mut()
        .reset(Instant::now() + Duration::from_millis(5));
    let woke = timeout(Duration::from_secs(5), waiter).await;
    check("a reset sleep wakes its waiter", woke.is_ok());
    // A receiver dropped with a queued sender of its own channel.
    struct Reply(#[allow(dead_code)] Option<rt::Sender<Reply>>);
    let (tx, rx) = rt::channel::<Reply>();
    tx.send(Reply(Some(tx.clone()))).ok();
    drop(rx);
    check(
        "the sender sees the receiver gone",
        tx.send(Reply(None)).is_err(),
    );
}

async fn a_refusal_ends_a_waiting_recv() {
    // A task waits to receive on a connected socket when another's send
    // draws the report that the peer's port is closed (ICMP port
    // unreachable): the waiting receive ends with the refusal.
    let gone = must("bind gone", UdpSocket::bind("127.0.0.1:0").await);
    let gone_addr = must("gone addr", gone.local_addr());
    drop(gone);
    let s = Rc::new(must("bind", UdpSocket::bind("127.0.0.1:0").await));
    must("connect", s.connect(gone_addr).await);
    let waiting = spawn({
        let s = s.clone();
        async move {
            let mut buf = [0u8; 16];
            s.recv(&mut buf).await
        }
    });
    sleep(Duration::from_millis(5)).await;
    check_eq("the receive waits", waiting.is_finished(), false);
    must("send", s.send(b"anyone?").await);
    let got = timeout(Duration::from_secs(10), waiting)
        .await
        .unwrap_or_else(|_| fail("the waiting receive", "still waiting after 10 s".into()));
    check_eq(
        "it ended refused",
        got.map_err(|e| e.kind()),
        Err(std::io::ErrorKind::ConnectionRefused),
    );
}

async fn more_waits_than_the_host_allows(limit: usize) {
    let mut addrs = Vec::new();
    let mut waits = Vec::new();
    for i in 0..limit + 2 {
        let s = must("bind", UdpSocket::bind("127.0.0.1:0").await);
        addrs.push(must("local addr", s.local_addr()));
        waits.push(spawn(async move {
            let mut buf = [0u8; 16];
            (i, s.recv_from(&mut buf).await.map(|(n, _)| n))
        }));
    }
    // One turn of the reactor (the tasks registered in order, so the host
    // takes the first `limit`).
    sleep(Duration::from_millis(50)).await;
    let refused: Vec<usize> = (0..waits.len())
        .filter(|&i| waits[i].is_finished())
        .collect();
    check_eq(
        "the host's limit refused the waits past it",
        refused,
        vec![limit, limit + 1],
    );
    for _ in 0..2 {
        let (i, got) = waits
            .pop()
            .unwrap_or_else(|| fail("tasks", "gone".into()))
            .await;
        match got {
            Err(e) if e.to_string().contains("poll set is full") => {
                println!("ok wait {i} refused: {e}")
            }
            other => fail("a refused wait", format!("{other:?}")),
        }
    }
    // The others still wait, and are served.
    let sender = must("bind sender", UdpSocket::bind("127.0.0.1:0").await);
    must("send", sender.send_to(b"hello", addrs[0]).await);
    let first = waits.remove(0);
    let (i, got) = first.await;
    check_eq(
        "a wait the host took is served",
        (i, must("recv", got)),
        (0, 5),
    );
    check_eq("the rest still wait", rt::waiting(), limit - 1);
    for w in waits {
        w.abort();
    }
    check_eq("no registration left", rt::waiting(), 0);
}

/// A waiting future that is leaked (never dropped) leaves its registration
/// behind until its socket is dropped, which forgets it: the next turn
/// does not name the closed handle to the host (which would trap).
async fn a_leaked_wait_is_forgotten_with_its_socket() {
    let u = must("bind", UdpSocket::bind("127.0.0.1:0").await);
    let mut buf = [0u8; 8];
    let mut waiting = Box::pin(u.recv_from(&mut buf));
    std::future::poll_fn(|cx| {
        let _ = waiting.as_mut().poll(cx);
        std::task::Poll::Ready(())
    })
    .await;
    check_eq("the wait is registered", rt::waiting(), 1);
    std::mem::forget(waiting);
    drop(u);
    check_eq("the socket's drop forgot it", rt::waiting(), 0);
    // A turn with a socket open again (most likely on the closed one's
    // handle) waits on that one only.
    let v = must("bind again", UdpSocket::bind("127.0.0.1:0").await);
    let mut buf = [0u8; 8];
    check(
        "a turn after the leak",
        timeout(Duration::from_millis(20), v.recv_from(&mut buf))
            .await
            .is_err(),
    );
}
