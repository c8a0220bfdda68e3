//! `wasock:sockets/drain` in a program that `wasock run` runs: the host
//! serves the interface, and never drains. Prints `draining: BOOL`.

fn main() {
    println!("draining: {}", wasock::handler::is_draining());
}
