//! Use a handle of another resource type (a WASI output stream) as a
//! socket: the host must trap this guest.

use wasock::Socket;

fn main() {
    let stdout = wasip2::cli::stdout::get_stdout();
    let handle = stdout.handle();
    println!("ok have a stream handle");
    // The handle names a stream, not a socket.
    let foreign = unsafe { Socket::from_handle(handle) };
    let r = foreign.local_address();
    println!("error not trapped: {r:?}");
}
