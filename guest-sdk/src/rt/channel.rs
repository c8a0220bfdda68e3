//! Channels between tasks: unbounded, and bounded (senders wait for room).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::task::{Poll, Waker};

struct Shared<T> {
    queue: VecDeque<T>,
    /// The most values queued at once; `None` is unbounded.
    capacity: Option<usize>,
    receiver: Option<Waker>,
    /// Senders waiting for room, first come first served, by ticket.
    blocked: VecDeque<(u64, Waker)>,
    /// The next waiting sender's ticket.
    next_ticket: u64,
    /// Places promised to senders taken off `blocked` and woken, not yet
    /// used: nobody else may fill them.
    promised: usize,
    senders: usize,
    /// Senders' [`Sender::closed`] waits, by ticket.
    watching: VecDeque<(u64, Waker)>,
    closed: bool,
}

impl<T> Shared<T> {
    fn new(capacity: Option<usize>) -> Rc<RefCell<Shared<T>>> {
        Rc::new(RefCell::new(Shared {
            queue: VecDeque::new(),
            capacity,
            receiver: None,
            blocked: VecDeque::new(),
            next_ticket: 0,
            promised: 0,
            senders: 1,
            watching: VecDeque::new(),
            closed: false,
        }))
    }

    /// Queue `value`, waking the receiver.
    fn push(&mut self, value: T) {
        self.queue.push_back(value);
        if let Some(w) = self.receiver.take() {
            w.wake();
        }
    }

    /// Whether a place is free beyond those promised.
    fn has_room(&self) -> bool {
        self.capacity
            .is_none_or(|c| self.queue.len() + self.promised < c)
    }

    /// One sender fewer; the last one's going ends the receiver's wait.
    fn release(this: &RefCell<Shared<T>>) {
        let mut s = this.borrow_mut();
        s.senders -= 1;
        if s.senders == 0
            && let Some(w) = s.receiver.take()
        {
            w.wake();
        }
    }

    /// End the channel for senders: no more values go in, waiting sends
    /// get theirs back, and `closed()` waits end. Values queued stay for
    /// the receiver.
    fn close(&mut self) -> Vec<Waker> {
        self.closed = true;
        self.promised = 0;
        let mut woken: Vec<Waker> = self.blocked.drain(..).map(|(_, w)| w).collect();
        woken.extend(self.watching.drain(..).map(|(_, w)| w));
        woken.extend(self.receiver.take());
        woken
    }

    /// Promise the free places to the senders waiting longest, waking
    /// each: one per place, so a freed place costs one wake-up.
    fn promise_room(&mut self) {
        while self.has_room() {
            let Some((_, waker)) = self.blocked.pop_front() else {
                break;
            };
            self.promised += 1;
            waker.wake();
        }
    }
}

/// Keep `waker` in `line` for the holder of `ticket`: the newest waker in
/// its place when it has one (polled again before its turn), otherwise a
/// new place at the back, with the next ticket.
fn enlist(
    line: &mut VecDeque<(u64, Waker)>,
    next: &mut u64,
    ticket: &mut Option<u64>,
    waker: &Waker,
) {
    match *ticket {
        Some(t) => {
            if let Some(entry) = line.iter_mut().find(|(x, _)| *x == t) {
                entry.1.clone_from(waker);
            }
        }
        None => {
            line.push_back((*next, waker.clone()));
            *ticket = Some(*next);
            *next += 1;
        }
    }
}

/// A bounded send's place in the line of waiting senders; its drop gives
/// up the place (a cancelled send), and passes on a promise it did not
/// use.
struct Waiting<'a, T> {
    shared: &'a RefCell<Shared<T>>,
    ticket: Option<u64>,
}

impl<T> Waiting<'_, T> {
    /// Whether this sender's turn came: its ticket left the line from the
    /// front (tickets leave it in order, or by their own drop).
    fn promised(&self, s: &Shared<T>) -> bool {
        self.ticket
            .is_some_and(|t| s.blocked.front().is_none_or(|(first, _)| *first > t))
    }
}

impl<T> Drop for Waiting<'_, T> {
    fn drop(&mut self) {
        let Some(ticket) = self.ticket else { return };
        let mut s = self.shared.borrow_mut();
        if s.closed {
            // The receiver's going emptied the line; no place is promised.
            return;
        }
        if self.promised(&s) {
            s.promised -= 1;
            s.promise_room();
        } else {
            s.blocked.retain(|(t, _)| *t != ticket);
        }
    }
}

/// The sending side of [`channel`]; clone it for more senders.
pub struct Sender<T> {
    shared: Rc<RefCell<Shared<T>>>,
}

/// The receiving side of [`channel`] and [`bounded_channel`].
pub struct Receiver<T> {
    shared: Rc<RefCell<Shared<T>>>,
}

/// An unbounded channel: sends never wait; `recv` waits for a value, and
/// gives `None` once every sender is gone and the queue is empty.
///
/// ```no_run
/// wasock::rt::block_on(async {
///     let (tx, mut rx) = wasock::rt::channel();
///     wasock::rt::spawn(async move { tx.send(7).ok(); });
///     assert_eq!(rx.recv().await, Some(7));
/// });
/// ```
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let shared = Shared::new(None);
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared },
    )
}

/// The sending side of [`bounded_channel`]; clone it for more senders.
pub struct BoundedSender<T> {
    /// The count of senders and the channel's end are a sender's.
    inner: Sender<T>,
}

/// Why [`BoundedSender::try_send`] gave its value back.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TrySendError<T> {
    /// The channel holds `capacity` values already.
    Full(T),
    /// The receiver is gone.
    Closed(T),
}

impl<T> std::fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TrySendError::Full(_) => "the channel is full",
            TrySendError::Closed(_) => "the channel's receiver is gone",
        })
    }
}

impl<T> std::fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TrySendError::Full(_) => "Full(..)",
            TrySendError::Closed(_) => "Closed(..)",
        })
    }
}

impl<T> std::error::Error for TrySendError<T> {}

/// A channel that holds at most `capacity` values: a send waits for room,
/// so a fast producer cannot outrun its consumer by more than that (a chat
/// server's slow client, for one). Waiting senders are served in the order
/// they came, one wake-up per freed place; a send dropped while it waits
/// gives up its place. `recv` is as [`channel`]'s.
///
/// ```no_run
/// wasock::rt::block_on(async {
///     let (tx, mut rx) = wasock::rt::bounded_channel(1);
///     wasock::rt::spawn(async move {
///         for i in 0..3 {
///             tx.send(i).await.ok(); // waits while the value before is queued
///         }
///     });
///     while let Some(i) = rx.recv().await {
///         println!("{i}");
///     }
/// });
/// ```
///
/// # Panics
///
/// If `capacity` is zero.
pub fn bounded_channel<T>(capacity: usize) -> (BoundedSender<T>, Receiver<T>) {
    assert!(
        capacity > 0,
        "a bounded channel's capacity must not be zero"
    );
    let shared = Shared::new(Some(capacity));
    (
        BoundedSender {
            inner: Sender {
                shared: shared.clone(),
            },
        },
        Receiver { shared },
    )
}

impl<T> BoundedSender<T> {
    /// Queue `value`, waiting while the channel is full; gives it back if
    /// the receiver is gone.
    ///
    /// ```no_run
    /// # wasock::rt::block_on(async {
    /// let (tx, mut rx) = wasock::rt::bounded_channel(4);
    /// tx.send("hi").await.ok();
    /// assert_eq!(rx.recv().await, Some("hi"));
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn send(&self, value: T) -> Result<(), T> {
        let mut value = Some(value);
        let mut waiting = Waiting {
            shared: &self.inner.shared,
            ticket: None,
        };
        std::future::poll_fn(|cx| {
            let mut s = self.inner.shared.borrow_mut();
            let v = value.take().expect("polled after completion");
            if s.closed {
                return Poll::Ready(Err(v));
            }
            let go = match waiting.ticket {
                None => s.blocked.is_empty() && s.has_room(),
                Some(_) => waiting.promised(&s),
            };
            if go {
                if waiting.ticket.take().is_some() {
                    s.promised -= 1;
                }
                s.push(v);
                return Poll::Ready(Ok(()));
            }
            value = Some(v);
            let s = &mut *s;
            enlist(
                &mut s.blocked,
                &mut s.next_ticket,
                &mut waiting.ticket,
                cx.waker(),
            );
            Poll::Pending
        })
        .await
    }

    /// Queue `value` if there is room now.
    ///
    /// ```no_run
    /// let (tx, _rx) = wasock::rt::bounded_channel(1);
    /// assert!(tx.try_send(1).is_ok());
    /// assert_eq!(tx.try_send(2), Err(wasock::rt::TrySendError::Full(2)));
    /// ```
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        let mut s = self.inner.shared.borrow_mut();
        if s.closed {
            Err(TrySendError::Closed(value))
        } else if !s.blocked.is_empty() || !s.has_room() {
            Err(TrySendError::Full(value))
        } else {
            s.push(value);
            Ok(())
        }
    }

    /// Whether the receiver is gone or closed (a send would give its value
    /// back).
    ///
    /// ```no_run
    /// let (tx, rx) = wasock::rt::bounded_channel::<u8>(1);
    /// drop(rx);
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// Wait until the receiver is gone or closed, as [`Sender::closed`].
    ///
    /// ```no_run
    /// # wasock::rt::block_on(async {
    /// let (tx, mut rx) = wasock::rt::bounded_channel::<u8>(1);
    /// rx.close();
    /// tx.closed().await;
    /// # });
    /// ```
    pub async fn closed(&self) {
        self.inner.closed().await
    }
}

impl<T> Clone for BoundedSender<T> {
    fn clone(&self) -> Self {
        BoundedSender {
            inner: self.inner.clone(),
        }
    }
}

impl<T> Sender<T> {
    /// Queue `value`; gives it back if the receiver is gone.
    ///
    /// ```no_run
    /// # wasock::rt::block_on(async {
    /// let (tx, mut rx) = wasock::rt::channel();
    /// tx.send("hi").ok();
    /// assert_eq!(rx.recv().await, Some("hi"));
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn send(&self, value: T) -> Result<(), T> {
        let mut s = self.shared.borrow_mut();
        if s.closed {
            return Err(value);
        }
        s.push(value);
        Ok(())
    }
}

impl<T> Sender<T> {
    /// Whether the receiver is gone or closed (a send would give its value
    /// back).
    ///
    /// ```no_run
    /// let (tx, rx) = wasock::rt::channel::<u8>();
    /// drop(rx);
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.shared.borrow().closed
    }
}

impl<T> Sender<T> {
    /// Wait until the receiver is gone or closed (for a producer that
    /// should stop working for nobody). Cancel-safe.
    ///
    /// ```no_run
    /// # wasock::rt::block_on(async {
    /// let (tx, rx) = wasock::rt::channel::<u8>();
    /// wasock::rt::spawn(async move { drop(rx) });
    /// tx.closed().await;
    /// assert!(tx.is_closed());
    /// # });
    /// ```
    pub async fn closed(&self) {
        let mut watch = Watching {
            shared: &self.shared,
            ticket: None,
        };
        std::future::poll_fn(|cx| {
            let mut s = self.shared.borrow_mut();
            if s.closed {
                return Poll::Ready(());
            }
            let s = &mut *s;
            enlist(
                &mut s.watching,
                &mut s.next_ticket,
                &mut watch.ticket,
                cx.waker(),
            );
            Poll::Pending
        })
        .await
    }
}

/// A [`Sender::closed`] wait's entry; its drop takes the entry out.
struct Watching<'a, T> {
    shared: &'a RefCell<Shared<T>>,
    ticket: Option<u64>,
}

impl<T> Drop for Watching<'_, T> {
    fn drop(&mut self) {
        if let Some(t) = self.ticket {
            self.shared.borrow_mut().watching.retain(|(x, _)| *x != t);
        }
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.borrow_mut().senders += 1;
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        Shared::release(&self.shared);
    }
}

impl<T> Receiver<T> {
    /// The next value, or `None` when every sender is gone.
    ///
    /// ```no_run
    /// # wasock::rt::block_on(async {
    /// let (tx, mut rx) = wasock::rt::channel::<u32>();
    /// drop(tx);
    /// assert_eq!(rx.recv().await, None);
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn recv(&mut self) -> Option<T> {
        std::future::poll_fn(|cx| {
            let mut s = self.shared.borrow_mut();
            if let Some(v) = s.queue.pop_front() {
                s.promise_room();
                return Poll::Ready(Some(v));
            }
            if s.senders == 0 || s.closed {
                return Poll::Ready(None);
            }
            s.receiver = Some(cx.waker().clone());
            Poll::Pending
        })
        .await
    }
}

/// Why [`Receiver::try_recv`] has no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryRecvError {
    /// None is queued now.
    Empty,
    /// None is queued, and every sender is gone.
    Disconnected,
}

impl std::fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TryRecvError::Empty => "the channel is empty",
            TryRecvError::Disconnected => "the channel is empty and every sender is gone",
        })
    }
}

impl std::error::Error for TryRecvError {}

impl<T> Receiver<T> {
    /// The next value if one is queued, without waiting (for a writer task
    /// that gathers what is queued into one write).
    ///
    /// ```no_run
    /// let (tx, mut rx) = wasock::rt::channel();
    /// tx.send(1).ok();
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert_eq!(rx.try_recv(), Err(wasock::rt::TryRecvError::Empty));
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let mut s = self.shared.borrow_mut();
        match s.queue.pop_front() {
            Some(v) => {
                s.promise_room();
                Ok(v)
            }
            None if s.senders == 0 || s.closed => Err(TryRecvError::Disconnected),
            None => Err(TryRecvError::Empty),
        }
    }
}

impl<T> Receiver<T> {
    /// Close the channel without dropping the receiver: sends fail from
    /// now on (a waiting one gets its value back), senders' `closed()`
    /// waits end, and `recv` gives what is queued, then `None`. For a
    /// graceful stop that still drains the queue.
    ///
    /// ```no_run
    /// # wasock::rt::block_on(async {
    /// let (tx, mut rx) = wasock::rt::channel();
    /// tx.send(1).ok();
    /// rx.close();
    /// assert_eq!(tx.send(2), Err(2));
    /// assert_eq!(rx.recv().await, Some(1));
    /// assert_eq!(rx.recv().await, None);
    /// # });
    /// ```
    pub fn close(&mut self) {
        let woken = self.shared.borrow_mut().close();
        // Woken outside the borrow: a waker may run code that uses the
        // channel.
        woken.into_iter().for_each(Waker::wake);
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let (woken, queued) = {
            let mut s = self.shared.borrow_mut();
            (s.close(), std::mem::take(&mut s.queue))
        };
        woken.into_iter().for_each(Waker::wake);
        // Dropped outside the borrow: a value may hold a sender of this
        // very channel.
        drop(queued);
    }
}

impl<T> std::fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sender")
    }
}

impl<T> std::fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Receiver")
    }
}

impl<T> std::fmt::Debug for BoundedSender<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BoundedSender")
    }
}
