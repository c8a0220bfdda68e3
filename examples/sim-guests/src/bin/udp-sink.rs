//! Receives numbered datagrams and reports what the network did to them:
//! `udp-sink BIND COUNT [IDLE_MS]`. It stops when nothing has arrived for
//! IDLE_MS milliseconds (default 2000), then prints
//! `received R distinct D duplicates X reordered O lost L` (reordered: a
//! first copy that arrived after a higher-numbered one).

use std::io::ErrorKind;
use std::time::Duration;

use sim_guests::{arg, arg_or};
use wasock::net::UdpSocket;

const USAGE: &str = "udp-sink BIND COUNT [IDLE_MS]";

fn main() -> Result<(), sim_guests::Failed> {
    let bind: std::net::SocketAddr = arg(1, USAGE);
    let count: u32 = arg(2, USAGE);
    let idle: u64 = arg_or(3, 2000, USAGE);
    let socket = UdpSocket::bind(bind)?;
    println!("listening on {}", socket.local_addr()?);
    socket.set_read_timeout(Some(Duration::from_millis(idle)))?;
    let mut seen = vec![false; count as usize];
    let (mut received, mut distinct, mut duplicates, mut reordered) = (0u32, 0u32, 0u32, 0u32);
    let mut highest: Option<u32> = None;
    let mut buf = [0u8; 2048];
    loop {
        let n = match socket.recv_from(&mut buf) {
            Ok((n, _)) => n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => break,
            Err(e) => return Err(e.into()),
        };
        if n < 4 {
            continue;
        }
        received += 1;
        let i = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
        let Some(slot) = seen.get_mut(i as usize) else {
            continue;
        };
        if *slot {
            duplicates += 1;
            continue;
        }
        *slot = true;
        distinct += 1;
        if highest.is_some_and(|h| i < h) {
            reordered += 1;
        }
        highest = highest.max(Some(i));
    }
    println!(
        "received {received} distinct {distinct} duplicates {duplicates} reordered {reordered} lost {}",
        count - distinct
    );
    Ok(())
}
