//! Composition of provider components with an app: Windows Sockets 2's
//! layered providers, for components.
//!
//! wasmtime cannot feed one instance's exports into another's imports at
//! run time, so a provider is composed with the app before instantiation:
//! the app's imports of the wasock socket interfaces are satisfied by the
//! provider's exports, and the result is one component whose imports are
//! what is left (the provider's own imports of the layer below, and WASI).
//! Calls between the two stay inside wasmtime. Layers stack by composing
//! again: the first provider given sits nearest the app.
//!
//! The host still serves whatever the composition imports, so its policy
//! holds at the host boundary: a layer can narrow what the app does, never
//! widen it.

use std::collections::HashSet;
use std::path::Path;

use wac_graph::types::{ItemKind, Package, SubtypeChecker};
use wac_graph::{CompositionGraph, EncodeOptions};

/// The interfaces a provider serves, without their version.
const SERVED: &[&str] = &[
    "wasock:sockets/socket",
    "wasock:sockets/poll",
    "wasock:sockets/name-lookup",
    HANDOFF,
];

/// How `wasock serve` hands a connection down the layers: the nearest
/// provider's export of it is exported by the composition too.
const HANDOFF: &str = "wasock:sockets/handoff";

/// A component given by name (its path, for messages) and bytes.
#[derive(Debug, Clone, Copy)]
pub struct Named<'a> {
    /// What to call it in messages: the file it came from.
    pub name: &'a str,
    /// The component's bytes.
    pub bytes: &'a [u8],
}

/// Why a composition failed. Each message names the component and what it
/// lacks, and says what to do.
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    /// A file is not a component.
    #[error("{name} is not a WebAssembly component: {reason}")]
    NotAComponent {
        /// The file.
        name: String,
        /// What the parser said.
        reason: String,
    },
    /// The app imports none of the interfaces a provider serves.
    #[error(
        "{app} imports none of the wasock socket interfaces ({}), so a provider has nothing to serve; is it a wasock app (built with the `wasock` crate or `wasock-cc`)? A standard wasi:sockets guest cannot be composed: `wasock run --provider` serves its sockets from the provider's instead",
        SERVED[..3].join(", ")
    )]
    NothingToServe {
        /// The app (or the composition so far).
        app: String,
    },
    /// The provider does not export an interface the app imports.
    #[error(
        "provider {provider} does not export `{interface}`, which {app} imports; a provider exports world `wasock:sockets/provider` (or `layer`): `wasock::export_provider!` in Rust"
    )]
    Missing {
        /// The provider.
        provider: String,
        /// The interface, as the app names it.
        interface: String,
        /// The app.
        app: String,
    },
    /// The provider exports the interface with other types than the app
    /// imports it with.
    #[error(
        "provider {provider} exports `{interface}` with other types than {app} imports: {reason}; build both against the same wasock WIT"
    )]
    Mismatch {
        /// The provider.
        provider: String,
        /// The interface.
        interface: String,
        /// The app.
        app: String,
        /// What differs, as the type checker says it.
        reason: String,
    },
    /// A file could not be read.
    #[error("cannot read the {what} {path}")]
    Read {
        /// `component` or `provider`.
        what: &'static str,
        /// The file.
        path: String,
        /// Why (the error's source: a chain prints it once).
        source: std::io::Error,
    },
    /// Encoding the composition failed.
    #[error("cannot compose {app} with provider {provider}: {reason}")]
    Encode {
        /// The provider.
        provider: String,
        /// The app.
        app: String,
        /// The encoder's message.
        reason: String,
    },
}

/// The full name (with version) under which `world` imports or exports
/// `interface` (versionless), if it does.
fn find<'a>(names: impl Iterator<Item = &'a String>, interface: &str) -> Option<&'a String> {
    names
        .into_iter()
        .find(|n| n.split('@').next() == Some(interface))
}

/// Compose `app` on top of `providers` (the first nearest the app) and
/// return the composed component's bytes.
///
/// ```no_run
/// use wasock_host::runtime::compose::{Named, compose};
///
/// let app = std::fs::read("app.wasm")?;
/// let tap = std::fs::read("provider_tap.wasm")?;
/// let composed = compose(
///     Named { name: "app.wasm", bytes: &app },
///     &[Named { name: "provider_tap.wasm", bytes: &tap }],
/// )?;
/// std::fs::write("composed.wasm", composed)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn compose(app: Named<'_>, providers: &[Named<'_>]) -> Result<Vec<u8>, ComposeError> {
    let mut bytes = app.bytes.to_vec();
    let mut name = app.name.to_string();
    for provider in providers {
        bytes = plug(&name, &bytes, *provider)?;
        name = format!("{name} on {}", provider.name);
    }
    Ok(bytes)
}

/// Compose the app in the file `app` on the providers in the files
/// `providers` (the first nearest the app), naming each by its path in
/// errors: what `wasock run --provider` does before compiling.
///
/// ```no_run
/// use wasock_host::runtime::compose::compose_files;
///
/// let composed = compose_files("app.wasm".as_ref(), &["provider_tap.wasm"])?;
/// std::fs::write("composed.wasm", composed)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn compose_files<P: AsRef<Path>>(app: &Path, providers: &[P]) -> Result<Vec<u8>, ComposeError> {
    let read = |path: &Path, what: &'static str| {
        std::fs::read(path).map_err(|source| ComposeError::Read {
            what,
            path: path.display().to_string(),
            source,
        })
    };
    let app_bytes = read(app, "component")?;
    let names: Vec<String> = providers
        .iter()
        .map(|p| p.as_ref().display().to_string())
        .collect();
    let bytes = providers
        .iter()
        .map(|p| read(p.as_ref(), "provider"))
        .collect::<Result<Vec<_>, _>>()?;
    let layers: Vec<Named<'_>> = names
        .iter()
        .zip(&bytes)
        .map(|(name, bytes)| Named { name, bytes })
        .collect();
    compose(
        Named {
            name: &app.display().to_string(),
            bytes: &app_bytes,
        },
        &layers,
    )
}

/// One layer: `provider`'s exports satisfy the served imports of `app`.
fn plug(app_name: &str, app: &[u8], provider: Named<'_>) -> Result<Vec<u8>, ComposeError> {
    let mut graph = CompositionGraph::new();
    let load =
        |graph: &mut CompositionGraph, key: &str, name: &str, bytes: &[u8]| {
            if let Some(why) = super::kind::not_a_component(bytes) {
                return Err(ComposeError::NotAComponent {
                    name: name.to_string(),
                    reason: why.to_string(),
                });
            }
            let package = Package::from_bytes(key, None, bytes.to_vec(), graph.types_mut())
                .map_err(|e| ComposeError::NotAComponent {
                    name: name.to_string(),
                    reason: format!("{e:#}"),
                })?;
            graph
                .register_package(package)
                .map_err(|e| ComposeError::NotAComponent {
                    name: name.to_string(),
                    reason: e.to_string(),
                })
        };
    let app_pkg = load(&mut graph, "wasock:app", app_name, app)?;
    let provider_pkg = load(&mut graph, "wasock:provider", provider.name, provider.bytes)?;

    let app_world = &graph.types()[graph[app_pkg].ty()];
    let provider_world = &graph.types()[graph[provider_pkg].ty()];

    // Which of the app's imports the provider serves, checked one by one so
    // that the error names the interface.
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut cache = HashSet::<(ItemKind, ItemKind)>::new();
    for interface in SERVED {
        let Some(import) = find(app_world.imports.keys(), interface) else {
            continue;
        };
        let Some(export) = find(provider_world.exports.keys(), interface) else {
            return Err(ComposeError::Missing {
                provider: provider.name.to_string(),
                interface: import.clone(),
                app: app_name.to_string(),
            });
        };
        let mut checker = SubtypeChecker::new(&mut cache);
        checker
            .is_subtype(
                provider_world.exports[export],
                graph.types(),
                app_world.imports[import],
                graph.types(),
            )
            .map_err(|e| ComposeError::Mismatch {
                provider: provider.name.to_string(),
                interface: import.clone(),
                app: app_name.to_string(),
                reason: format!("{e:#}"),
            })?;
        pairs.push((export.clone(), import.clone()));
    }
    if pairs.is_empty() {
        return Err(ComposeError::NothingToServe {
            app: app_name.to_string(),
        });
    }
    let app_exports: Vec<String> = app_world.exports.keys().cloned().collect();
    // The nearest layer's hand-off, for `wasock serve` to call.
    let handoff = find(provider_world.exports.keys(), HANDOFF)
        .filter(|_| find(app_exports.iter(), HANDOFF).is_none())
        .cloned();

    let encode_error = |reason: String| ComposeError::Encode {
        provider: provider.name.to_string(),
        app: app_name.to_string(),
        reason,
    };
    let app_instance = graph.instantiate(app_pkg);
    let provider_instance = graph.instantiate(provider_pkg);
    for (export, import) in &pairs {
        let item = graph
            .alias_instance_export(provider_instance, export)
            .map_err(|e| encode_error(e.to_string()))?;
        graph
            .set_instantiation_argument(app_instance, import, item)
            .map_err(|e| encode_error(format!("{e:#}")))?;
    }
    for name in &app_exports {
        let item = graph
            .alias_instance_export(app_instance, name)
            .map_err(|e| encode_error(e.to_string()))?;
        graph
            .export(item, name)
            .map_err(|e| encode_error(e.to_string()))?;
    }
    if let Some(name) = handoff {
        let item = graph
            .alias_instance_export(provider_instance, &name)
            .map_err(|e| encode_error(e.to_string()))?;
        graph
            .export(item, &name)
            .map_err(|e| encode_error(e.to_string()))?;
    }
    graph
        .encode(EncodeOptions::default())
        .map_err(|e| encode_error(format!("{e:#}")))
}
