//! `churn N`: N connect/accept/close cycles on loopback through one
//! listener; print `ok churned N`.

use wasock::net::{TcpListener, TcpStream};

fn main() {
    let n: usize = wasock_guests::arg(1).parse().expect("N");
    let listener = TcpListener::bind("127.0.0.1:0").expect("listen");
    let addr = listener.local_addr().unwrap();
    for i in 0..n {
        let c = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {i}: {e}"));
        let (s, _) = listener
            .accept()
            .unwrap_or_else(|e| panic!("accept {i}: {e}"));
        drop((c, s));
    }
    println!("ok churned {n}");
}
