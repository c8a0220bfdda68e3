//! What kind of guest a component is, told from its bytes when wasock's
//! engine refuses it (a WASI 0.3 guest needs the engine with the component
//! model's async features).

use wasmparser::{Validator, WasmFeatures};

/// What a file that should be a component is instead, in words that say
/// what to do: not WebAssembly at all, or a core module. `None` when it
/// may be a component (the parser says the rest).
pub(crate) fn not_a_component(bytes: &[u8]) -> Option<&'static str> {
    if !bytes.starts_with(b"\0asm") {
        return Some(
            "not a WebAssembly file (it does not start with `\\0asm`); build a guest with `cargo build --target wasm32-wasip2` (Rust) or `guest-sdk-c/wasock-cc -o app.wasm app.c` (C)",
        );
    }
    if bytes.len() >= 8 && bytes[4..8] == [1, 0, 0, 0] {
        return Some(
            "this is a core WebAssembly module, not a component; build it for the `wasm32-wasip2` target (Rust), with `guest-sdk-c/wasock-cc` (C), or adapt it with `wasm-tools component new`",
        );
    }
    None
}

/// The component model's async features: streams, futures, async functions
/// and their built-ins, which WASI 0.3 guests use.
fn async_features() -> WasmFeatures {
    WasmFeatures::CM_ASYNC
        | WasmFeatures::CM_ASYNC_STACKFUL
        | WasmFeatures::CM_THREADING
        | WasmFeatures::CM_ERROR_CONTEXT
}

/// Whether `bytes` is a component that only an engine with the component
/// model's async features can compile (wasmtime's
/// `Config::concurrency_support(true)`): a WASI 0.3 guest. An embedder that
/// keeps an engine of each kind, as `wasock run` does (the async features
/// cost every host call), asks this before compiling. Run such a component
/// through its `wasi:cli/run@0.3` export, with
/// `add_wasi_0_3_to_linker`, even when it exports `@0.2` too.
///
/// ```
/// // The empty component: any engine compiles it.
/// assert!(!wasock_host::runtime::needs_concurrency_support(b"\0asm\x0d\0\x01\0"));
/// ```
pub fn needs_concurrency_support(bytes: &[u8]) -> bool {
    let with = WasmFeatures::all();
    let without = with.difference(async_features());
    Validator::new_with_features(without)
        .validate_all(bytes)
        .is_err()
        && Validator::new_with_features(with)
            .validate_all(bytes)
            .is_ok()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::needs_concurrency_support as needs_async;

    /// A component that imports WASI 0.3's stdout, with its stream.
    pub(crate) fn wasi_0_3_component() -> Vec<u8> {
        wat::parse_str(
            r#"(component
                (import "wasi:cli/stdout@0.3.0" (instance
                    (export "write-via-stream" (func (param "data" (stream u8)))))))"#,
        )
        .unwrap()
    }

    #[test]
    fn a_stream_in_an_import_needs_the_async_engine() {
        let p3 = wasi_0_3_component();
        assert!(needs_async(&p3));
        let p2 = wat::parse_str(
            r#"(component
                (import "wasi:cli/environment@0.2.0" (instance
                    (export "get-arguments" (func (result (list string)))))))"#,
        )
        .unwrap();
        assert!(!needs_async(&p2));
        // Not a component at all: not a WASI 0.3 one either.
        assert!(!needs_async(b"\0asm\x0d\0\x01\0garbage"));
    }
}
