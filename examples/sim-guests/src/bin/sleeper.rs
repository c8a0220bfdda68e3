//! Sleeps an hour, then waits 30 s for a datagram that never comes:
//! under the simulator both pass in virtual time. Prints what its clocks
//! measured. Before its sleep it writes "sleeping an hour... " with no
//! newline, which the line it prints after the sleep ends (or its host's
//! crash cuts short).

use std::io::{ErrorKind, Write};
use std::time::{Duration, Instant, SystemTime};

use wasock::net::UdpSocket;

fn main() -> Result<(), sim_guests::Failed> {
    let wall = SystemTime::now();
    let start = Instant::now();
    print!("sleeping an hour... ");
    std::io::stdout().flush()?;
    std::thread::sleep(Duration::from_secs(3600));
    println!("slept {:.3} s", start.elapsed().as_secs_f64());
    let socket = UdpSocket::bind("127.0.0.1:0")?;
    socket.set_read_timeout(Some(Duration::from_secs(30)))?;
    let waited = Instant::now();
    let mut buf = [0u8; 16];
    match socket.recv_from(&mut buf) {
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
            println!(
                "receive timed out after {:.3} s",
                waited.elapsed().as_secs_f64()
            );
        }
        other => {
            println!("receive did not time out: {other:?}");
            std::process::exit(1);
        }
    }
    let since = wall
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    println!("wall clock started at {since} s past the epoch");
    Ok(())
}
