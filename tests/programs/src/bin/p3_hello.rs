//! A WASI 0.3 command, built with the `wasip3` crate: two timers wait at
//! once (`wasi:clocks@0.3`'s async `wait-for`), and a line goes out through
//! `wasi:cli/stdout@0.3`'s stream.
//!
//! Arguments: `fail` makes `run` return an error (exit status 1); `sleep`
//! waits an hour first (for time limits).
// The component's entry point is its `wasi:cli/run@0.3` export, not `main`.
#![cfg_attr(target_arch = "wasm32", no_main)]

use std::future::Future;
use std::pin::pin;
use std::task::Poll;

use wasip3::clocks::monotonic_clock::wait_for;

struct Hello;
wasip3::cli::command::export!(Hello);

impl wasip3::exports::cli::run::Guest for Hello {
    async fn run() -> Result<(), ()> {
        let args = wasip3::cli::environment::get_arguments();
        if args.iter().any(|a| a == "sleep") {
            wait_for(3_600_000_000_000).await;
        }
        // The longer wait first: they run at once, so the shorter ends first.
        let mut order = Vec::new();
        let (slow, fast) = both(
            async {
                wait_for(40_000_000).await;
                "40ms"
            },
            async {
                wait_for(10_000_000).await;
                "10ms"
            },
            &mut order,
        )
        .await;
        print(format!(
            "hello from WASI 0.3: timers {slow} and {fast} ended in the order {}\n",
            order.join(", ")
        ))
        .await;
        if args.iter().any(|a| a == "fail") {
            return Err(());
        }
        Ok(())
    }
}

/// Write `line` to stdout through a `stream<u8>`.
async fn print(line: String) {
    let (mut tx, rx) = wasip3::wit_stream::new();
    let done = wasip3::cli::stdout::write_via_stream(rx);
    let left = tx.write_all(line.into_bytes()).await;
    assert!(left.is_empty(), "stdout took only part of the line");
    drop(tx);
    done.await.expect("stdout failed");
}

/// Run `a` and `b` at once, recording in `order` which ended first.
async fn both<A, B>(a: A, b: B, order: &mut Vec<&'static str>) -> (A::Output, B::Output)
where
    A: Future<Output = &'static str>,
    B: Future<Output = &'static str>,
{
    let (mut a, mut b) = (pin!(a), pin!(b));
    let (mut ra, mut rb) = (None, None);
    std::future::poll_fn(|cx| {
        if ra.is_none()
            && let Poll::Ready(v) = a.as_mut().poll(cx)
        {
            order.push(v);
            ra = Some(v);
        }
        if rb.is_none()
            && let Poll::Ready(v) = b.as_mut().poll(cx)
        {
            order.push(v);
            rb = Some(v);
        }
        match (ra, rb) {
            (Some(x), Some(y)) => Poll::Ready((x, y)),
            _ => Poll::Pending,
        }
    })
    .await
}

/// Built natively (as the workspace's tests and lints build every member),
/// there is nothing to run: this is a `wasm32-wasip2` guest.
#[cfg(not(target_arch = "wasm32"))]
fn main() {}
