//! An unbounded channel between tasks.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::task::{Poll, Waker};

struct Shared<T> {
    queue: VecDeque<T>,
    receiver: Option<Waker>,
    senders: usize,
    closed: bool,
}

/// The sending side of [`channel`]; clone it for more senders.
pub struct Sender<T> {
    shared: Rc<RefCell<Shared<T>>>,
}

/// The receiving side of [`channel`].
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
    let shared = Rc::new(RefCell::new(Shared {
        queue: VecDeque::new(),
        receiver: None,
        senders: 1,
        closed: false,
    }));
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared },
    )
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
        s.queue.push_back(value);
        if let Some(w) = s.receiver.take() {
            w.wake();
        }
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
        let mut s = self.shared.borrow_mut();
        s.senders -= 1;
        if s.senders == 0
            && let Some(w) = s.receiver.take()
        {
            w.wake();
        }
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
