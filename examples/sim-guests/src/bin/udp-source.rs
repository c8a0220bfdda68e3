//! Sends numbered datagrams: `udp-source TARGET COUNT [SIZE] [GAP_MS]`.
//! Each carries its number (4 bytes, big-endian) padded to SIZE bytes
//! (default 64), one every GAP_MS milliseconds (default 1).

use std::time::Duration;

use sim_guests::{arg, arg_or, unbound_udp};

const USAGE: &str = "udp-source TARGET COUNT [SIZE] [GAP_MS]";

fn main() -> Result<(), sim_guests::Failed> {
    let target: std::net::SocketAddr = arg(1, USAGE);
    let count: u32 = arg(2, USAGE);
    let size: usize = arg_or(3, 64, USAGE);
    let gap: u64 = arg_or(4, 1, USAGE);
    let socket = unbound_udp(target)?;
    let mut buf = vec![0u8; size.max(4)];
    for i in 0..count {
        buf[..4].copy_from_slice(&i.to_be_bytes());
        socket.send_to(&buf, target)?;
        std::thread::sleep(Duration::from_millis(gap));
    }
    println!("sent {count} datagrams of {} bytes", buf.len());
    Ok(())
}
