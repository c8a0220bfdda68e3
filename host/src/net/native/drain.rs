//! Knowing when a receive emptied the receive queue, so that the next one
//! waits for the reactor instead of asking the kernel only to hear
//! `EAGAIN`.

use std::io;

use socket2::Socket;
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

use super::{NativeSocket, sys};
use crate::net::{ErrorCode, RecvBuf};

/// Whether a stream socket's receives learn how much is left queued
/// (`TCP_INQ`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Inq {
    Off,
    On,
    /// The kernel refused the option.
    Unavailable,
}

impl Inq {
    /// Whether receives on `fd` learn what is left, asking the kernel to
    /// tell from now on if nobody has yet: one option, once per connection.
    pub(super) fn enable(&mut self, fd: &AsyncFd<Socket>) -> bool {
        if *self == Inq::Off {
            let on = sys::set_int(fd.get_ref(), libc::SOL_TCP, libc::TCP_INQ, 1);
            *self = if on.is_ok() {
                Inq::On
            } else {
                Inq::Unavailable
            };
        }
        *self == Inq::On
    }
}

/// What a receive through [`drained_recv`] learned.
pub(super) struct Received {
    /// Bytes received.
    pub(super) n: usize,
    /// The receive left nothing queued, and the reactor's cache holds no
    /// read readiness from before it.
    pub(super) emptied: bool,
}

/// A stream receive made as [`NativeSocket::op`] makes it (through
/// tokio's cached readiness where the socket's calls allow), and one step
/// further: a receive that emptied the receive queue clears the cached
/// readiness. A blocking guest's next receive then waits for the reactor
/// at once instead of making a system call that would only say `EAGAIN`,
/// and the next wait may believe the next event without asking the kernel
/// (see `NativeSocket::poll_ready`). The kernel says what is left
/// (`TCP_INQ`); a short read is no proof, since a read stops short at
/// urgent data with more queued behind it.
///
/// `try_io` clears the cache when its closure reports `WouldBlock`, and
/// only if no event arrived since it read it, so data arriving meanwhile is
/// never missed: the emptying read is reported that way and its count kept
/// aside. (A call `op` makes outside `try_io`, because the cache held no
/// readiness, has nothing to clear.) End of stream, errors and hang-ups are
/// "closed" states, which tokio never clears (and after a FIN the kernel
/// counts one byte left).
pub(super) fn drained_recv(
    sock: &NativeSocket,
    buf: &mut RecvBuf<'_>,
    flags: i32,
) -> Result<Received, ErrorCode> {
    let mut drained = None;
    let got = sock.op(Interest::READABLE, |s| {
        let (n, left) = sys::recv_inq(s, buf.unfilled(), flags)?;
        if n > 0 && left == Some(0) {
            drained = Some(n);
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(n)
    });
    match drained {
        Some(n) => Ok(Received { n, emptied: true }),
        None => got.map(|n| Received { n, emptied: false }),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::task::{Context, Poll, Waker};
    use std::time::Duration;

    use super::super::NativeSocket;
    use super::super::tests::{connected, wait};
    use crate::net::{Calls, ErrorCode, NetSocket, Readiness, RecvBuf, RecvFlags};

    /// One receive of up to 64 bytes.
    fn recv(s: &mut NativeSocket) -> Result<Vec<u8>, ErrorCode> {
        let mut got = Vec::new();
        s.try_recv(&mut RecvBuf::new(&mut got, 64), RecvFlags::default())?;
        Ok(got)
    }

    /// Until `n` bytes are queued for `s` (a system call of its own, which
    /// leaves the reactor's cache as it was).
    fn queued(s: &NativeSocket, n: usize) {
        for _ in 0..1000 {
            if s.bytes_available() == Ok(n) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        panic!("{n} bytes never arrived");
    }

    /// What a wait for reading reports now, without waiting.
    fn ready_now(s: &NativeSocket) -> Option<Readiness> {
        let mut cx = Context::from_waker(Waker::noop());
        match s.poll_ready(&mut cx, Readiness::READABLE) {
            Poll::Ready(r) => Some(r),
            Poll::Pending => None,
        }
    }

    /// Whether a wait for reading would end now, reporting data.
    fn readable(s: &NativeSocket) -> bool {
        ready_now(s).is_some_and(|r| r.contains(Readiness::READABLE))
    }

    /// Lets the reactor take in the events that are due.
    async fn reactor_turn() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    #[tokio::test]
    async fn a_receive_that_empties_the_queue_makes_the_next_one_wait() {
        let (mut s, mut peer) = connected(true).await;

        peer.write_all(&[1; 64]).unwrap();
        wait(&mut s, Readiness::READABLE).await;
        assert_eq!(recv(&mut s).unwrap(), [1; 64]);

        // Data arrives after the emptying receive, and the reactor has not
        // looked since: the receive says `would-block` without asking the
        // kernel (and so without taking room from the allocator); the wait
        // then returns at once, and the data is there.
        peer.write_all(&[2; 64]).unwrap();
        queued(&s, 64);
        let mut nothing = Vec::new();
        let r = s.try_recv(&mut RecvBuf::new(&mut nothing, 4096), RecvFlags::default());
        assert_eq!(r, Err(ErrorCode::WouldBlock));
        assert_eq!(nothing.capacity(), 0, "a cached would-block allocated");
        wait(&mut s, Readiness::READABLE).await;
        assert_eq!(recv(&mut s).unwrap(), [2; 64]);

        // A receive that leaves data queued does not clear: the next one
        // gets the rest without a wait.
        peer.write_all(&[3; 128]).unwrap();
        queued(&s, 128);
        wait(&mut s, Readiness::READABLE).await;
        assert_eq!(recv(&mut s).unwrap(), [3; 64]);
        assert_eq!(recv(&mut s).unwrap(), [3; 64]);

        // The end of the stream after an emptying receive is seen.
        peer.write_all(&[4; 64]).unwrap();
        queued(&s, 64);
        wait(&mut s, Readiness::READABLE).await;
        assert_eq!(recv(&mut s).unwrap(), [4; 64]);
        drop(peer);
        wait(&mut s, Readiness::READABLE).await;
        assert!(recv(&mut s).unwrap().is_empty());
    }

    /// A look between a non-blocking guest's calls (a WASI pollable's) may
    /// answer from the cache but learns nothing for the next call: after
    /// it emptied the queue, the next look asks the kernel as the guest's
    /// own receive would, and finds what arrived since.
    #[tokio::test]
    async fn a_look_prepares_nothing_for_the_next_call() {
        let (mut s, mut peer) = connected(false).await;
        s.set_calls(Calls::Look);

        peer.write_all(&[1; 64]).unwrap();
        wait(&mut s, Readiness::READABLE).await;
        assert_eq!(recv(&mut s).unwrap(), [1; 64]);

        peer.write_all(&[2; 64]).unwrap();
        queued(&s, 64);
        assert_eq!(recv(&mut s).unwrap(), [2; 64]);

        // Once the guest waits as a blocking socket, its receives learn.
        s.set_calls(Calls::Waiting);
        peer.write_all(&[3; 64]).unwrap();
        wait(&mut s, Readiness::READABLE).await;
        assert_eq!(recv(&mut s).unwrap(), [3; 64]);
        peer.write_all(&[4; 64]).unwrap();
        queued(&s, 64);
        assert_eq!(recv(&mut s), Err(ErrorCode::WouldBlock));
    }

    /// `poll(2)` calls this thread made so far.
    fn polls() -> usize {
        super::super::sys::POLLS.with(|n| n.get())
    }

    /// `recv_inq` calls this thread made so far.
    fn inq_receives() -> usize {
        super::super::sys::INQ_RECEIVES.with(|n| n.get())
    }

    /// A non-blocking socket's receives learn what they leave only once a
    /// wait on it has had to ask the kernel: a socket whose waits never
    /// look (a WASI pollable's) does not pay for the control message.
    #[tokio::test]
    async fn non_blocking_receives_learn_once_a_wait_looks() {
        let (mut s, mut peer) = connected(false).await;
        let before = inq_receives();
        peer.write_all(&[1; 64]).unwrap();
        queued(&s, 64);
        assert_eq!(recv(&mut s).unwrap(), [1; 64]);
        assert_eq!(inq_receives(), before, "a receive learned before any look");

        peer.write_all(&[2; 64]).unwrap();
        queued(&s, 64);
        reactor_turn().await;
        assert!(readable(&s));
        assert_eq!(recv(&mut s).unwrap(), [2; 64]);
        assert_eq!(
            inq_receives(),
            before + 1,
            "a receive after a look did not learn"
        );
    }

    /// On a multi-threaded runtime an event read before a receive could
    /// reach the reactor's cache after it: the cache is never believed
    /// there, and receives do not pay for learning what they leave.
    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn a_multi_threaded_reactor_is_not_believed() {
        let (mut s, mut peer) = connected(false).await;
        for n in 1..=3 {
            peer.write_all(&[n; 64]).unwrap();
            queued(&s, 64);
            let mut looked = None;
            for _ in 0..400 {
                let p = polls();
                if readable(&s) {
                    looked = Some(polls() - p);
                    break;
                }
                reactor_turn().await;
            }
            assert_eq!(looked, Some(1), "the wait did not ask the kernel");
            let q = inq_receives();
            assert_eq!(recv(&mut s).unwrap(), [n; 64]);
            assert_eq!(inq_receives(), q, "a receive learned what it left");
        }
    }

    /// A non-blocking guest's waits tell the truth whatever the reactor's
    /// cache holds: ready only with data queued, and not ready after a
    /// receive took it all, however the receive and the reactor's events
    /// interleave. After a receive that emptied the queue, the reactor's
    /// next event is the truth, and the wait believes it without a
    /// `poll(2)` of its own; after one that left data behind, the
    /// reactor's "readable" may be stale, and the wait looks.
    #[tokio::test]
    async fn a_non_blocking_wait_tells_the_truth() {
        let (mut s, mut peer) = connected(false).await;

        peer.write_all(&[1; 64]).unwrap();
        queued(&s, 64);
        reactor_turn().await;
        assert!(readable(&s));
        assert_eq!(recv(&mut s).unwrap(), [1; 64]);

        // Emptied: not ready, and no stale readiness left behind.
        assert_eq!(ready_now(&s), None);

        // Data after the emptying receive: believed.
        peer.write_all(&[5; 64]).unwrap();
        queued(&s, 64);
        reactor_turn().await;
        let before = polls();
        assert!(readable(&s));
        assert_eq!(polls(), before, "the wait asked the kernel again");
        assert_eq!(recv(&mut s).unwrap(), [5; 64]);

        // Data left queued: still ready, truthfully, until the last of it.
        peer.write_all(&[2; 128]).unwrap();
        queued(&s, 128);
        reactor_turn().await;
        assert!(readable(&s));
        assert_eq!(recv(&mut s).unwrap(), [2; 64]);
        let before = polls();
        assert!(readable(&s));
        assert_eq!(
            polls(),
            before + 1,
            "a wait after a partial receive must look"
        );
        assert_eq!(recv(&mut s).unwrap(), [2; 64]);
        assert_eq!(ready_now(&s), None);

        // The receive takes data before the reactor has seen its event:
        // the event, taken in afterwards, must not make the socket look
        // ready (epoll looks again when the reactor takes it in).
        peer.write_all(&[3; 64]).unwrap();
        queued(&s, 64);
        assert_eq!(recv(&mut s).unwrap(), [3; 64]);
        reactor_turn().await;
        assert_eq!(ready_now(&s), None);
        assert_eq!(recv(&mut s), Err(ErrorCode::WouldBlock));

        // The end of the stream: reported (as a hang-up too), and read.
        drop(peer);
        reactor_turn().await;
        let r = ready_now(&s).expect("the end of the stream was not reported");
        assert!(
            r.contains(Readiness::READABLE | Readiness::HANG_UP),
            "{r:?}"
        );
        assert!(recv(&mut s).unwrap().is_empty());
    }
}
