//! Link the shim non-PIE: its relocated read-only data then stays shared
//! file pages instead of a private copy in each of its processes.
fn main() {
    println!("cargo:rustc-link-arg-bin=containerd-shim-wasock-v1=-no-pie");
}
