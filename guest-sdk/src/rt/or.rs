//! Racing two futures.

use std::pin::pin;
use std::task::Poll;

/// Run `a` and `b` together and return the output of whichever completes
/// first (`a` if both are ready at once); the other is dropped. As
/// futures-lite's `or`: give both the same output type, an `Option` or an
/// enum of your own to tell them apart.
///
/// ```no_run
/// use std::time::Duration;
/// use wasock::rt;
///
/// rt::block_on(async {
///     let first = rt::or(
///         async { rt::sleep(Duration::from_millis(10)).await; "quick" },
///         async { rt::sleep(Duration::from_secs(10)).await; "slow" },
///     )
///     .await;
///     assert_eq!(first, "quick");
/// });
/// ```
pub async fn or<T>(a: impl Future<Output = T>, b: impl Future<Output = T>) -> T {
    let (mut a, mut b) = (pin!(a), pin!(b));
    std::future::poll_fn(|cx| match a.as_mut().poll(cx) {
        Poll::Ready(v) => Poll::Ready(v),
        Poll::Pending => b.as_mut().poll(cx),
    })
    .await
}
