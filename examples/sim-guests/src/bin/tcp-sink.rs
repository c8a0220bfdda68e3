//! Accepts one connection and reads it to its end: `tcp-sink BIND`.
//! Prints `received N bytes fnv1a H in order` (or where the stream first
//! differed from what the sender sends).

use std::io::Read;

use sim_guests::{FNV_START, arg, fnv1a, pattern_byte};
use wasock::net::TcpListener;

const USAGE: &str = "tcp-sink BIND";

fn main() -> Result<(), sim_guests::Failed> {
    let bind: std::net::SocketAddr = arg(1, USAGE);
    let listener = TcpListener::bind(bind)?;
    println!("listening on {}", listener.local_addr()?);
    let (mut stream, peer) = listener.accept()?;
    println!("accepted {peer}");
    let mut h = FNV_START;
    let mut got = 0u64;
    let mut first_wrong = None;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        if first_wrong.is_none()
            && let Some(k) = (0..n).find(|&k| buf[k] != pattern_byte(got + k as u64))
        {
            first_wrong = Some(got + k as u64);
        }
        h = fnv1a(h, &buf[..n]);
        got += n as u64;
    }
    match first_wrong {
        None => println!("received {got} bytes fnv1a {h:016x} in order"),
        Some(at) => {
            println!("received {got} bytes fnv1a {h:016x}, wrong from byte {at}");
            std::process::exit(1);
        }
    }
    Ok(())
}
