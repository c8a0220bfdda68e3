//! Watches its two clocks: every second of the monotonic clock it reads
//! the wall clock, and reports each step of the wall clock (a move of more
//! than a millisecond beyond the second that passed), as when NTP or an
//! operator sets the clock, and whether the wall clock then read earlier
//! than at the reading before: what breaks code that measures time with
//! `SystemTime`. It also reports a sleep of a second that took much
//! longer (as a process stopped for a while, or a long garbage-collection
//! pause, sees it afterwards). Its first line says what the wall clock
//! read at its start.
//!
//! Usage: `clock-watch [SECONDS]` (default 60).

use std::time::{Duration, Instant, SystemTime};

const USAGE: &str = "clock-watch [SECONDS]";

/// `b - a` in nanoseconds, negative when `b` is earlier.
fn nanos_between(a: SystemTime, b: SystemTime) -> i128 {
    match b.duration_since(a) {
        Ok(d) => d.as_nanos() as i128,
        Err(e) => -(e.duration().as_nanos() as i128),
    }
}

fn main() {
    let seconds: u64 = sim_guests::arg_or(1, 60, USAGE);
    let start = Instant::now();
    let (mut mono, mut wall) = (start, SystemTime::now());
    println!(
        "wall clock reads {:.3} s past the epoch",
        nanos_between(SystemTime::UNIX_EPOCH, wall) as f64 / 1e9
    );
    let (mut steps, mut backwards) = (0, 0);
    for _ in 0..seconds {
        std::thread::sleep(Duration::from_secs(1));
        let (m, w) = (Instant::now(), SystemTime::now());
        if m - mono >= Duration::from_millis(1100) {
            println!(
                "at {:.3} s a 1 s sleep took {:.3} s",
                (m - start).as_secs_f64(),
                (m - mono).as_secs_f64()
            );
        }
        // Whole nanoseconds: a step of 1 ms is seen as one.
        let step = nanos_between(wall, w) - (m - mono).as_nanos() as i128;
        if step.abs() >= 500_000 {
            steps += 1;
            let earlier = w < wall;
            backwards += usize::from(earlier);
            println!(
                "at {:.3} s the wall clock stepped {:+.3} s{}",
                (m - start).as_secs_f64(),
                step as f64 / 1e9,
                if earlier {
                    ", to earlier than a second before"
                } else {
                    ""
                }
            );
        }
        (mono, wall) = (m, w);
    }
    println!(
        "watched {seconds} s: the wall clock stepped {steps} times, {backwards} of them to \
         earlier than the reading before"
    );
}
