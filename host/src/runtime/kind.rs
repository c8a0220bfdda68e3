//! What kind of guest a component is, told from its bytes when wasock's
//! engine refuses it (a WASI 0.3 guest needs the engine with the component
//! model's async features), and what it needs that wasock does not serve, in a user's
//! words rather than the linker's.

use wasmparser::{Validator, WasmFeatures};
use wasmtime::component::Component;

/// The component model's async features: streams, futures, async functions
/// and their built-ins, which WASI 0.3 guests use.
fn async_features() -> WasmFeatures {
    WasmFeatures::CM_ASYNC
        | WasmFeatures::CM_ASYNC_STACKFUL
        | WasmFeatures::CM_THREADING
        | WasmFeatures::CM_ERROR_CONTEXT
}

/// Whether the component is valid only with the component model's async
/// features: a WASI 0.3 guest, for the engine that has them.
pub(crate) fn needs_async(bytes: &[u8]) -> bool {
    let with = WasmFeatures::all();
    let without = with.difference(async_features());
    Validator::new_with_features(without)
        .validate_all(bytes)
        .is_err()
        && Validator::new_with_features(with)
            .validate_all(bytes)
            .is_ok()
}

/// If the component imports WASI 0.3 interfaces that wasock does not serve
/// yet, say which, and what works instead. `None` when that is not why it
/// cannot be linked.
pub(crate) fn unserved(component: &Component) -> Option<String> {
    let sockets: Vec<String> = component
        .component_type()
        .imports(component.engine())
        .map(|(name, _)| name)
        .filter(|name| name.starts_with("wasi:sockets/") && name.contains("@0.3"))
        .map(str::to_string)
        .collect();
    if sockets.is_empty() {
        return None;
    }
    Some(format!(
        "this WASI 0.3 component imports {}: wasock runs WASI 0.3 guests, but does not serve wasi:sockets@0.3 yet. Until it does, reach the network from such a guest through WASI 0.2 (Rust's std::net, tokio, or the wasock SDK)",
        sockets.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::needs_async;

    #[test]
    fn a_stream_in_an_import_needs_the_async_engine() {
        let p3 = wat::parse_str(
            r#"(component
                (import "wasi:cli/stdout@0.3.0" (instance
                    (export "write-via-stream" (func (param "data" (stream u8)))))))"#,
        )
        .unwrap();
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
