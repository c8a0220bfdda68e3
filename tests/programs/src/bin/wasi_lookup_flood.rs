//! `wasi_lookup_flood NAME N`: start N wasi:sockets lookups of NAME without
//! waiting for any (as only a program on the raw interface can; std's
//! lookups wait), print `started S refused R` (refused: for now,
//! `temporary-resolver-failure`), then wait for each started one and print
//! `answered A`, and finally `again ok` once a new lookup starts and
//! answers after they all have.

use wasip2::sockets::instance_network::instance_network;
use wasip2::sockets::ip_name_lookup::{ResolveAddressStream, resolve_addresses};
use wasip2::sockets::network::ErrorCode;

fn answer(s: &ResolveAddressStream) -> bool {
    s.subscribe().block();
    matches!(s.resolve_next_address(), Ok(Some(_)))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let name = args.get(1).cloned().unwrap_or_default();
    let n: usize = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(0);
    let net = instance_network();
    let mut started = Vec::new();
    let mut refused = 0;
    for _ in 0..n {
        match resolve_addresses(&net, &name) {
            Ok(s) => started.push(s),
            Err(ErrorCode::TemporaryResolverFailure) => refused += 1,
            Err(e) => {
                println!("error {e:?}");
                std::process::exit(1);
            }
        }
    }
    println!("started {} refused {refused}", started.len());
    let answered = started.iter().filter(|s| answer(s)).count();
    println!("answered {answered}");
    drop(started);
    match resolve_addresses(&net, &name) {
        Ok(s) if answer(&s) => println!("again ok"),
        Ok(_) => println!("again: no address"),
        Err(e) => println!("again error {e:?}"),
    }
}
