//! A line-based chat on wasock's async runtime: every line one client sends
//! reaches every other client, as `NAME: line`. A client that vanishes
//! disturbs no one; one that reads slower than the others talk is dropped
//! once 256 KiB wait for it, rather than holding memory for ever.
//!
//! Usage: `async-chat [ADDR]` (default `127.0.0.1:0`). The first line on
//! stdout is `listening on ADDR`. Try it with `nc HOST PORT` from two
//! terminals.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::rc::Rc;

use wasock::rt::net::{OwnedReadHalf, TcpListener};
use wasock::rt::{self, Sender};

/// Most bytes waiting for one client before it is dropped.
const MAX_BACKLOG: usize = 256 * 1024;
/// Longest line kept; a longer one is cut.
const MAX_LINE: usize = 4096;

/// Each client's outbox and what waits in it.
type Room = Rc<RefCell<BTreeMap<u64, (Sender<Rc<[u8]>>, Rc<RefCell<usize>>)>>>;

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".to_string());
    rt::block_on(async {
        let listener = TcpListener::bind(addr.as_str()).await?;
        println!("listening on {}", listener.local_addr()?);
        let room: Room = Rc::default();
        let mut next_id = 0u64;
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(c) => c,
                // Out of sockets (the instance's limit): wait a little,
                // letting the other tasks run (and close theirs).
                Err(e) => {
                    eprintln!("async-chat: accept failed: {e}");
                    rt::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                }
            };
            next_id += 1;
            let id = next_id;
            // Announced in the order of arrival, before the newcomer is in
            // the room.
            broadcast(&room, id, format!("* {peer} joined\n").as_bytes());
            let (tx, mut rx) = rt::channel::<Rc<[u8]>>();
            let waiting = Rc::new(RefCell::new(0usize));
            room.borrow_mut().insert(id, (tx, waiting.clone()));
            let (reader, mut writer) = stream.into_split();
            // The writer: what others said, in order.
            rt::spawn(async move {
                while let Some(msg) = rx.recv().await {
                    *waiting.borrow_mut() -= msg.len();
                    if writer.write_all(&msg).await.is_err() {
                        break;
                    }
                }
            });
            let room = room.clone();
            rt::spawn(async move {
                read_lines(reader, &room, id, peer).await;
                room.borrow_mut().remove(&id);
                broadcast(&room, id, format!("* {peer} left\n").as_bytes());
            });
        }
    })
}

/// Read `id`'s lines and pass each on to the others.
async fn read_lines(mut reader: OwnedReadHalf, room: &Room, id: u64, peer: SocketAddr) {
    let mut line = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = match reader.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        for &b in &buf[..n] {
            if b == b'\n' || line.len() >= MAX_LINE {
                let mut msg = format!("{peer}: ").into_bytes();
                msg.extend_from_slice(&line);
                msg.push(b'\n');
                broadcast(room, id, &msg);
                line.clear();
            } else if b != b'\r' {
                line.push(b);
            }
        }
        if room.borrow().get(&id).is_none() {
            return;
        }
    }
}

/// Send `msg` to everyone but `from`; drop whoever has too much waiting.
fn broadcast(room: &Room, from: u64, msg: &[u8]) {
    let msg: Rc<[u8]> = msg.into();
    let mut slow = Vec::new();
    for (&id, (tx, waiting)) in room.borrow().iter() {
        if id == from {
            continue;
        }
        let mut w = waiting.borrow_mut();
        if *w + msg.len() > MAX_BACKLOG || tx.send(msg.clone()).is_err() {
            slow.push(id);
        } else {
            *w += msg.len();
        }
    }
    // Dropping a client's sender ends its writer task, which drops the
    // write half (the client reads the end of the stream).
    for id in slow {
        room.borrow_mut().remove(&id);
    }
}
