//! Pings a UDP echo server: `udp-ping TARGET COUNT`. Each ping waits up to
//! 500 ms for its echo, and is sent again up to 3 times. Prints
//! `replies R of COUNT`.

use std::io::ErrorKind;
use std::time::Duration;

use sim_guests::{arg, unbound_udp};

const USAGE: &str = "udp-ping TARGET COUNT";

fn main() -> Result<(), sim_guests::Failed> {
    let target: std::net::SocketAddr = arg(1, USAGE);
    let count: u32 = arg(2, USAGE);
    let socket = unbound_udp(target)?;
    socket.set_read_timeout(Some(Duration::from_millis(500)))?;
    let mut replies = 0;
    let mut buf = [0u8; 64];
    for i in 0..count {
        'tries: for _ in 0..4 {
            socket.send_to(&i.to_be_bytes(), target)?;
            loop {
                match socket.recv_from(&mut buf) {
                    Ok((4, from)) if from == target && buf[..4] == i.to_be_bytes() => {
                        replies += 1;
                        break 'tries;
                    }
                    // An earlier ping's late echo, or a duplicate.
                    Ok(_) => continue,
                    Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                        continue 'tries;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }
    println!("replies {replies} of {count}");
    Ok(())
}
