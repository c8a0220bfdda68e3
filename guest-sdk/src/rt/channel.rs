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
    /// Senders waiting for room, all woken when some is made.
    blocked: Vec<Waker>,
    senders: usize,
    closed: bool,
}

impl<T> Shared<T> {
    fn new(capacity: Option<usize>) -> Rc<RefCell<Shared<T>>> {
        Rc::new(RefCell::new(Shared {
            queue: VecDeque::new(),
            capacity,
            receiver: None,
            blocked: Vec::new(),
            senders: 1,
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

    fn is_full(&self) -> bool {
        self.capacity.is_some_and(|c| self.queue.len() >= c)
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

    /// Wake every sender waiting for room (there is some, or the receiver
    /// is gone). All of them: one that was woken and then dropped would
    /// otherwise keep the room from the others.
    fn wake_blocked(&mut self) {
        for w in self.blocked.drain(..) {
            w.wake();
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
    shared: Rc<RefCell<Shared<T>>>,
}

/// Why [`BoundedSender::try_send`] gave its value back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

impl<T: std::fmt::Debug> std::error::Error for TrySendError<T> {}

/// A channel that holds at most `capacity` values: a send waits for room,
/// so a fast producer cannot outrun its consumer by more than that (a chat
/// server's slow client, for one). `recv` is as [`channel`]'s.
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
            shared: shared.clone(),
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
        std::future::poll_fn(|cx| {
            let mut s = self.shared.borrow_mut();
            let v = value.take().expect("polled after completion");
            if s.closed {
                return Poll::Ready(Err(v));
            }
            if s.is_full() {
                value = Some(v);
                // Once per task, however often it is polled while full.
                if !s.blocked.iter().any(|w| w.will_wake(cx.waker())) {
                    s.blocked.push(cx.waker().clone());
                }
                return Poll::Pending;
            }
            s.push(v);
            Poll::Ready(Ok(()))
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
        let mut s = self.shared.borrow_mut();
        if s.closed {
            Err(TrySendError::Closed(value))
        } else if s.is_full() {
            Err(TrySendError::Full(value))
        } else {
            s.push(value);
            Ok(())
        }
    }
}

impl<T> Clone for BoundedSender<T> {
    fn clone(&self) -> Self {
        self.shared.borrow_mut().senders += 1;
        BoundedSender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for BoundedSender<T> {
    fn drop(&mut self) {
        Shared::release(&self.shared);
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
                s.wake_blocked();
                return Poll::Ready(Some(v));
            }
            if s.senders == 0 {
                return Poll::Ready(None);
            }
            s.receiver = Some(cx.waker().clone());
            Poll::Pending
        })
        .await
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let queued = {
            let mut s = self.shared.borrow_mut();
            s.closed = true;
            s.wake_blocked();
            std::mem::take(&mut s.queue)
        };
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
