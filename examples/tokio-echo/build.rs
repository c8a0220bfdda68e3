//! On `wasm32-wasip2`, route the program's `fcntl` calls through
//! `src/fcntl_shim.rs` (see there why).

fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "wasi" && env == "p2" {
        // wasm-ld: calls to `fcntl` go to `__wrap_fcntl`, and
        // `__real_fcntl` names wasi-libc's own.
        println!("cargo:rustc-link-arg-bins=--wrap=fcntl");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
