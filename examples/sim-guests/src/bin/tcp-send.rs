//! Streams BYTES bytes to a server and closes: `tcp-send TARGET BYTES`,
//! TARGET an `ADDR:PORT` or `NAME:PORT`. Connecting is retried every second
//! (up to 120 times) while the server is not there yet or not reachable.
//! Prints `sent N bytes fnv1a H`.

use std::io::{ErrorKind, Write};
use std::time::Duration;

use sim_guests::{FNV_START, arg, fnv1a, pattern_byte};
use wasock::net::TcpStream;

const USAGE: &str = "tcp-send TARGET BYTES";

fn main() -> Result<(), sim_guests::Failed> {
    let target: String = arg(1, USAGE);
    let total: u64 = arg(2, USAGE);
    let mut tries = 0;
    let mut stream = loop {
        match TcpStream::connect(target.as_str()) {
            Ok(s) => break s,
            Err(e)
                if tries < 120
                    && matches!(
                        e.kind(),
                        ErrorKind::ConnectionRefused
                            | ErrorKind::TimedOut
                            | ErrorKind::HostUnreachable
                            | ErrorKind::NetworkUnreachable
                    ) =>
            {
                tries += 1;
                println!("connect: {e}; again in 1 s");
                std::thread::sleep(Duration::from_secs(1));
            }
            Err(e) => return Err(e.into()),
        }
    };
    println!("connected to {target}");
    let mut h = FNV_START;
    let mut sent = 0u64;
    let mut chunk = vec![0u8; 64 * 1024];
    while sent < total {
        let n = (total - sent).min(chunk.len() as u64) as usize;
        for (k, b) in chunk[..n].iter_mut().enumerate() {
            *b = pattern_byte(sent + k as u64);
        }
        stream.write_all(&chunk[..n])?;
        h = fnv1a(h, &chunk[..n]);
        sent += n as u64;
    }
    stream.shutdown(std::net::Shutdown::Write)?;
    println!("sent {sent} bytes fnv1a {h:016x}");
    Ok(())
}
