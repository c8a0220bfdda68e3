//! What a component needs that the engine cannot give, told from its bytes
//! when compiling it fails, so that the error names the need in a user's
//! words instead of the parser's ("`stream` requires the component model
//! async feature").

use wasmparser::{Parser, Payload, Validator, WasmFeatures};

/// The component model's async features: streams, futures, async functions
/// and their built-ins, which WASI 0.3 guests use.
fn async_features() -> WasmFeatures {
    WasmFeatures::CM_ASYNC
        | WasmFeatures::CM_ASYNC_STACKFUL
        | WasmFeatures::CM_THREADING
        | WasmFeatures::CM_ERROR_CONTEXT
}

/// The WASI 0.3 interfaces the component (or a component inside it)
/// imports, by name.
fn wasi_0_3_imports(bytes: &[u8]) -> Vec<String> {
    let mut names = Vec::new();
    for payload in Parser::new(0).parse_all(bytes) {
        let Ok(Payload::ComponentImportSection(reader)) = payload else {
            continue;
        };
        for import in reader.into_iter().flatten() {
            let name = import.name.name;
            if name.starts_with("wasi:")
                && name.contains("@0.3")
                && !names.iter().any(|n| n == name)
            {
                names.push(name.to_string());
            }
        }
    }
    names
}

/// If the component is valid only with the component model's async
/// features (a WASI 0.3 guest), say so and what wasock runs instead.
/// `None` when that is not why it failed to load.
pub(crate) fn needs_async(bytes: &[u8]) -> Option<String> {
    let with = WasmFeatures::all();
    let without = with.difference(async_features());
    if Validator::new_with_features(without)
        .validate_all(bytes)
        .is_ok()
        || Validator::new_with_features(with)
            .validate_all(bytes)
            .is_err()
    {
        return None;
    }
    let imports = wasi_0_3_imports(bytes);
    let shown = match imports.len() {
        0 => String::new(),
        n if n <= 4 => format!(" and imports {}", imports.join(", ")),
        n => format!(
            " and imports {} and {} more WASI 0.3 interfaces",
            imports[..3].join(", "),
            n - 3
        ),
    };
    Some(format!(
        "this is a WASI 0.3 component: it uses the component model's async features (streams, futures, async functions){shown}. wasock runs WASI 0.2 guests (built for wasm32-wasip2: wasock's own sockets, std::net, tokio) and does not run WASI 0.3 guests yet; build the guest without the wasip3 crate"
    ))
}
