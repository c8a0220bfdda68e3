//! `containerd-shim-wasock-v1`: a containerd shim, on runwasi's
//! `containerd-shim-wasm`, that runs WebAssembly components under wasock:
//! its policy, limits, providers and denial log, so that Kubernetes (through
//! a RuntimeClass) or `ctr run --runtime io.containerd.wasock.v1` runs a
//! wasock guest as a container.
//!
//! - [`sandbox`]: the engine runwasi calls inside each container.
//! - [`settings`]: a container's `wasock.dev/` annotations and memory limit,
//!   as the command line of `wasock run` or `wasock serve`.
//! - [`bundle`]: how those reach the container (runwasi passes a sandbox
//!   only the process's arguments and environment).
//! - [`image`]: OCI images of a component, without docker.
//! - [`precompile`]: compiled components kept between containers.
//! - [`trim`]: keeping that cache within a size.
//! - [`harness`]: a containerd of one's own, for tests and the bench.
//!
//! ```
//! use containerd_shim_wasock::settings::ContainerSettings;
//! use std::path::Path;
//!
//! let settings = ContainerSettings::from_spec(
//!     [("wasock.dev/allow", "tcp-bind=0.0.0.0:7000 tcp-accept=*")],
//!     Some(256 << 20),
//! );
//! let argv = settings.command_line(Path::new("/app.wasm"), &[], &[], |_| false)?;
//! assert_eq!(
//!     argv,
//!     ["wasock", "run", "--allow", "tcp-bind=0.0.0.0:7000", "--allow", "tcp-accept=*",
//!      "--max-memory", "201326592", "--", "/app.wasm"]
//! );
//! # Ok::<(), containerd_shim_wasock::settings::SettingsError>(())
//! ```

pub mod bundle;
pub mod harness;
pub mod image;
pub mod precompile;
pub mod sandbox;
pub mod settings;
pub mod trim;
