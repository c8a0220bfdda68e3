//! `handle_flood`: take WASI pollables without ever dropping one, each a
//! handle in the instance's table, printing `ok held N` every 10,000. The
//! store's cap on live handles must stop it (a trap of this instance)
//! before it holds a million.

fn main() {
    let mut held = 0u32;
    loop {
        std::mem::forget(wasip2::clocks::monotonic_clock::subscribe_duration(1));
        held += 1;
        if held.is_multiple_of(10_000) {
            println!("ok held {held}");
        }
        if held == 1_000_000 {
            println!("FAIL nothing stopped a million handles");
            std::process::exit(1);
        }
    }
}
