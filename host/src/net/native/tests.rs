//! The native provider's waits, against real sockets; and what the
//! provider's other tests share.

use std::net::UdpSocket;
use std::sync::Arc;
use std::task::{Context, Waker};
use std::time::Duration;

use super::NativeSocket;
use crate::net::wakers::tests::Count;
use crate::net::{
    Calls, ConnectState, ErrorCode, Family, NetSocket, Readiness, RecvBuf, RecvFlags, SendFlags,
    SocketType,
};

/// A receive waiting on a connected datagram socket when the report that
/// the peer's port is closed arrives (ICMP port unreachable) is woken, and
/// the receive then fails with the refusal, as a blocking `recv` would.
#[tokio::test]
async fn an_error_report_wakes_a_waiting_receive() {
    for (family, any) in [(Family::Ipv4, "127.0.0.1:0"), (Family::Ipv6, "[::1]:0")] {
        // A port that was open a moment ago.
        let gone = UdpSocket::bind(any).unwrap().local_addr().unwrap();
        let mut s = NativeSocket::open(family, SocketType::Datagram).unwrap();
        s.set_calls(Calls::Waiting);
        assert_eq!(s.start_connect(gone), Ok(ConnectState::Connected));

        s.prepare_wait(Readiness::READABLE).unwrap();
        let (woken, waker) = flag();
        let mut cx = Context::from_waker(&waker);
        assert!(s.poll_wait(&mut cx, Readiness::READABLE).is_pending());

        // The send draws the report while the wait is registered.
        s.try_send(b"anyone?", SendFlags::default()).unwrap();
        assert!(
            until_woken(&woken).await,
            "{family:?}: the error report woke no one"
        );
        let mut got = Vec::new();
        assert_eq!(
            s.try_recv(&mut RecvBuf::new(&mut got, 64), RecvFlags::default()),
            Err(ErrorCode::ConnectionRefused)
        );
    }
}

/// A connected stream socket in the given mode, and its peer.
pub(super) async fn connected(blocking: bool) -> (NativeSocket, std::net::TcpStream) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut s = NativeSocket::open(Family::Ipv4, SocketType::Stream).unwrap();
    s.set_calls(if blocking {
        Calls::Waiting
    } else {
        Calls::Real
    });
    while s.start_connect(l.local_addr().unwrap()) == Ok(ConnectState::InProgress)
        && s.connect_state() == Ok(ConnectState::InProgress)
    {
        wait(&mut s, Readiness::WRITABLE).await;
    }
    (s, l.accept().unwrap().0)
}

/// Prepare a wait for `interest` on `s`, and wait.
pub(super) async fn wait(s: &mut NativeSocket, interest: Readiness) {
    s.prepare_wait(interest).unwrap();
    std::future::poll_fn(|cx| s.poll_wait(cx, interest)).await;
}

/// Until `woken` was woken `times` times in all, for up to 2 s, letting
/// the reactor run.
async fn until_woken_times(woken: &Count, times: usize) -> bool {
    for _ in 0..400 {
        if woken.get() >= times {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    false
}

/// A wait in one direction leaves a wait in the other alone: a task
/// waiting to read is still woken by data after another task prepared a
/// wait for room (as a WASI stream's sender and reader do at once).
#[tokio::test]
async fn preparing_a_wait_for_room_leaves_a_waiting_reader_alone() {
    use std::io::Write;
    let (mut s, mut peer) = connected(false).await;

    s.prepare_wait(Readiness::READABLE).unwrap();
    let (woken, waker) = flag();
    let mut cx = Context::from_waker(&waker);
    assert!(s.poll_ready(&mut cx, Readiness::READABLE).is_pending());

    s.prepare_wait(Readiness::WRITABLE).unwrap();
    peer.write_all(b"x").unwrap();
    assert!(until_woken(&woken).await, "the reader was not woken");
}

/// Until `woken` was woken, for up to 2 s, letting the reactor run.
async fn until_woken(woken: &Count) -> bool {
    until_woken_times(woken, 1).await
}

/// A new wake-up count and its waker.
fn flag() -> (Arc<Count>, Waker) {
    let woken = Arc::new(Count::default());
    let waker = Waker::from(woken.clone());
    (woken, waker)
}

/// Any number of tasks may wait to read at once, through either wait:
/// data wakes them all (tokio alone keeps one waker per direction, and the
/// last task to wait would take the others' wake-up).
#[tokio::test]
async fn every_task_waiting_to_read_is_woken() {
    use std::io::Write;
    let (mut s, mut peer) = connected(false).await;
    s.prepare_wait(Readiness::READABLE).unwrap();
    let tasks = [flag(), flag(), flag()];
    for (i, (_, waker)) in tasks.iter().enumerate() {
        let mut cx = Context::from_waker(waker);
        let pending = if i % 2 == 0 {
            s.poll_ready(&mut cx, Readiness::READABLE).is_pending()
        } else {
            s.poll_wait(&mut cx, Readiness::READABLE).is_pending()
        };
        assert!(pending, "task {i} found data before any was sent");
    }
    peer.write_all(b"x").unwrap();
    for (i, (woken, _)) in tasks.iter().enumerate() {
        assert!(until_woken(woken).await, "task {i} was not woken");
    }
}

/// A datagram socket starts watching for room only when a wait for room
/// is prepared, which registers it with the reactor anew: a task already
/// waiting to receive is woken to wait on the new registration, and a
/// datagram that comes after wakes it again.
#[tokio::test]
async fn a_new_registration_hands_waiting_tasks_over() {
    let mut s = NativeSocket::open(Family::Ipv4, SocketType::Datagram).unwrap();
    s.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let to = s.local_addr().unwrap();
    s.prepare_wait(Readiness::READABLE).unwrap();
    let (woken, waker) = flag();
    let mut cx = Context::from_waker(&waker);
    assert!(s.poll_wait(&mut cx, Readiness::READABLE).is_pending());

    s.prepare_wait(Readiness::WRITABLE).unwrap();
    assert_eq!(woken.get(), 1, "the waiting receive was not handed over");
    assert!(s.poll_wait(&mut cx, Readiness::READABLE).is_pending());

    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .send_to(b"x", to)
        .unwrap();
    assert!(
        until_woken_times(&woken, 2).await,
        "the datagram woke no one"
    );
}

/// A receive into memory that is already initialised (a guest's buffer)
/// writes what arrived at its start and leaves the rest as it was, through
/// every path a stream receive takes: a blocking socket's receive that
/// learns it emptied the queue (`TCP_INQ`), the `would-block` from the
/// reactor's cache after it, a non-blocking socket's plain receive, and
/// the end of the stream.
#[tokio::test]
async fn a_receive_into_initialised_memory_writes_only_what_arrived() {
    use std::io::Write;
    for blocking in [true, false] {
        let (mut s, mut peer) = connected(blocking).await;
        // Registered and waited on once, so that a blocking socket's
        // receives learn what they leave.
        peer.write_all(b"hello").unwrap();
        wait(&mut s, Readiness::READABLE).await;
        let mut mem = [0xAA_u8; 8];
        assert_eq!(s.try_recv_into(&mut mem, RecvFlags::default()), Ok(5));
        assert_eq!(&mem, b"hello\xAA\xAA\xAA", "blocking: {blocking}");

        assert_eq!(
            s.try_recv_into(&mut mem, RecvFlags::default()),
            Err(ErrorCode::WouldBlock)
        );
        assert_eq!(&mem, b"hello\xAA\xAA\xAA", "blocking: {blocking}");

        // More than the room: the rest waits for the next receive.
        peer.write_all(b"0123456789").unwrap();
        wait(&mut s, Readiness::READABLE).await;
        let mut small = [0_u8; 4];
        assert_eq!(s.try_recv_into(&mut small, RecvFlags::default()), Ok(4));
        assert_eq!(&small, b"0123");
        let mut rest = [0_u8; 16];
        assert_eq!(s.try_recv_into(&mut rest, RecvFlags::default()), Ok(6));
        assert_eq!(&rest[..6], b"456789");

        drop(peer);
        wait(&mut s, Readiness::READABLE).await;
        assert_eq!(s.try_recv_into(&mut mem, RecvFlags::default()), Ok(0));
    }
}

/// A wait in place (`wait_in_place`) that sees data is followed by a real
/// receive (the runtime makes it with `Calls::Real`), though the reactor
/// has not seen the data and a blocking socket's receives may otherwise
/// answer from its cache. The reactor is
/// left with nothing stale: epoll looks at the socket again when it
/// reports an event, and the data is gone by then, so a wait after the
/// reactor's turn still waits (the receive's "queue emptied" holds, as
/// `NativeSocket::read_fresh` assumes).
#[tokio::test]
async fn a_receive_after_a_wait_in_place_is_real_and_leaves_no_stale_readiness() {
    use std::io::Write;

    let (mut s, mut peer) = connected(true).await;
    let mut got = Vec::new();
    // Nothing queued, and the reactor has seen nothing to read.
    assert_eq!(
        s.try_recv(&mut RecvBuf::new(&mut got, 64), RecvFlags::default()),
        Err(ErrorCode::WouldBlock)
    );
    assert!(!s.wait_in_place(Readiness::READABLE, Duration::from_millis(20)));

    peer.write_all(b"hello").unwrap();
    assert!(s.wait_in_place(Readiness::READABLE, Duration::from_secs(10)));
    // No await since: the reactor has not turned.
    real_recv(&mut s, &mut got);
    assert_eq!(got, b"hello");

    // The reactor takes in the event for "hello", which is gone.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let (_woken, waker) = flag();
    let mut cx = Context::from_waker(&waker);
    assert!(
        s.poll_ready(&mut cx, Readiness::READABLE).is_pending(),
        "a wait believed the reactor's event for data already received"
    );
    // And the next byte is seen as before.
    peer.write_all(b"!").unwrap();
    assert!(s.wait_in_place(Readiness::READABLE, Duration::from_secs(10)));
    got.clear();
    real_recv(&mut s, &mut got);
    assert_eq!(got, b"!");
}

/// One receive of up to 64 bytes into `got`, made for real as the runtime
/// makes the try after a wait in place.
fn real_recv(s: &mut NativeSocket, got: &mut Vec<u8>) {
    s.set_calls(Calls::Real);
    s.try_recv(&mut RecvBuf::new(got, 64), RecvFlags::default())
        .unwrap();
    s.set_calls(Calls::Waiting);
}

/// A wait in place for room to send returns at once on a connected socket
/// with an empty send buffer, and gives up after its timeout on one whose
/// buffer the peer never drains.
#[tokio::test]
async fn a_wait_in_place_for_room_sees_the_send_buffer() {
    let (mut s, _peer) = connected(true).await;
    assert!(s.wait_in_place(Readiness::WRITABLE, Duration::from_secs(10)));
    let chunk = vec![0u8; 64 * 1024];
    // Fill both buffers, until a send still finds no room a little after
    // the last (bounded: loopback buffers are a few MB at most).
    let mut full = false;
    for _ in 0..10_000 {
        match s.try_send(&chunk, SendFlags::default()) {
            Ok(_) => {}
            Err(ErrorCode::WouldBlock) => {
                std::thread::sleep(Duration::from_millis(5));
                if s.try_send(&chunk, SendFlags::default()) == Err(ErrorCode::WouldBlock) {
                    full = true;
                    break;
                }
            }
            Err(e) => panic!("send failed: {e:?}"),
        }
    }
    assert!(full, "the send buffer never filled");
    assert!(!s.wait_in_place(Readiness::WRITABLE, Duration::from_millis(20)));
}

/// The real try after a wait in place, made when the reactor believes the
/// socket readable by then (a connect's wait for writability, say, then
/// data and a reactor turn before the receive), clears the belief along
/// with the data, so a wait afterwards does not report a socket with
/// nothing queued.
#[tokio::test]
async fn a_call_after_a_wait_in_place_clears_what_the_reactor_believed() {
    use std::io::Write;

    let (mut s, mut peer) = connected(true).await;
    assert!(s.wait_in_place(Readiness::WRITABLE, Duration::from_secs(10)));
    peer.write_all(b"hi").unwrap();
    // The reactor takes in the data's event: it believes "readable".
    tokio::time::sleep(Duration::from_millis(20)).await;
    let mut got = Vec::new();
    real_recv(&mut s, &mut got);
    assert_eq!(got, b"hi");
    let (_woken, waker) = flag();
    let mut cx = Context::from_waker(&waker);
    assert!(
        s.poll_ready(&mut cx, Readiness::READABLE).is_pending(),
        "a wait reported a socket readable with nothing queued"
    );
}

/// A peer that closed its end answers a write with a reset; the error
/// pending after it (Linux's `EPIPE`, this side never having shut its
/// sending down) is the reset, as the write after it says, not a
/// `shut-down` this program never asked for.
#[tokio::test]
async fn an_error_pending_after_the_peers_reset_is_a_reset() {
    let (mut s, peer) = connected(true).await;
    drop(peer);
    wait(&mut s, Readiness::READABLE).await;
    // The first write is taken; the peer answers it with a reset.
    assert_eq!(s.try_send(b"x", SendFlags::default()), Ok(1));
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let pending = loop {
        match s.take_error() {
            Ok(Some(e)) => break e,
            _ if std::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            other => panic!("no error pending: {other:?}"),
        }
    };
    assert_eq!(pending, ErrorCode::ConnectionReset);
}
