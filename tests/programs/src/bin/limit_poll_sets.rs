//! `limit_poll_sets N`: make up to N poll sets; print `ok made K` for the
//! ones made and `error CODE` for the first that was not, then drop one
//! and make another.

use wasock::raw::wasock::sockets::poll::PollSet;

fn main() {
    let n: usize = wasock_guests::arg(1).parse().expect("N");
    let mut held = Vec::new();
    for _ in 0..n {
        match PollSet::create() {
            Ok(s) => held.push(s),
            Err(e) => {
                println!("ok made {}", held.len());
                println!("error {}", e.name());
                held.pop();
                match PollSet::create() {
                    Ok(_) => println!("ok made another after a drop"),
                    Err(e) => println!("error again {}", e.name()),
                }
                return;
            }
        }
    }
    println!("ok made {}", held.len());
}
