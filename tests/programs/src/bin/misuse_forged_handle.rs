//! Use a handle number that was never given out: the host must trap.

use wasock::Socket;

fn main() {
    println!("ok forging");
    let forged = unsafe { Socket::from_handle(0x7fff_fff0) };
    let r = forged.local_address();
    println!("error not trapped: {r:?}");
}
