//! The bundle step: carry what wasock needs from the container's OCI spec
//! into the container.
//!
//! runwasi (`containerd-shim-wasm` 1.0) hands a sandbox the process's
//! arguments and environment, not the spec's annotations or resources. But
//! containerd runs the shim binary's `start` action in the container's
//! bundle directory, with the spec in `config.json`, before it asks the shim
//! to create the container. This step, run there, rewrites the spec:
//!
//! - the `wasock.dev/` annotations and the memory limit go into a file of
//!   the bundle, `wasock-settings.json`, mounted read-only into the container
//!   at [`SETTINGS_IN_CONTAINER`]. The sandbox reads them only from that
//!   mount, which an image cannot forge: a container whose start step did not
//!   run is refused, not run without its refusals;
//! - the host's compilation cache is mounted read-only at
//!   [`CACHE_IN_CONTAINER`];
//! - the entrypoint gets a `#_start` suffix (runwasi's `path#function`
//!   syntax, ignored by wasock) unless it has one, so that runwasi never
//!   mistakes a native program for a Linux container to run without wasock
//!   (it would, for an ELF or `#!` entrypoint). Only Kubernetes' pod sandbox
//!   (the pause container) keeps its entrypoint and runs natively.

use std::fs;
use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;
use serde_json::{Value, json};

use crate::settings::{ContainerSettings, SETTINGS_IN_CONTAINER};

/// Where a container sees the host's compilation cache (read-only).
pub const CACHE_IN_CONTAINER: &str = "/.wasock/cache";

/// The settings file's name in the bundle.
const SETTINGS_FILE: &str = "wasock-settings.json";

/// The bundle containerd's `start` action is for, when the shim binary was
/// started with that action (its others are `delete` and the long-running
/// server): `-bundle`, or the working directory. Arguments containerd's
/// shim library cannot parse are not a start.
pub fn start_bundle(args: &[String]) -> Option<std::path::PathBuf> {
    let flags = containerd_shim::parse(args.get(1..)?).ok()?;
    if flags.action != "start" {
        return None;
    }
    if flags.bundle.is_empty() {
        std::env::current_dir().ok()
    } else {
        Some(flags.bundle.into())
    }
}

/// Rewrite `bundle/config.json` as the module says, with the host's cache
/// folder `cache` (if it can be used). A bundle without a readable spec is
/// an error: the container must not start unprepared.
pub fn prepare(bundle: &Path, cache: Option<&Path>) -> anyhow::Result<()> {
    let path = bundle.join("config.json");
    let text =
        fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut spec: Value =
        serde_json::from_str(&text).with_context(|| format!("cannot parse {}", path.display()))?;
    let settings = settings_of(&spec);
    let settings_path = bundle.join(SETTINGS_FILE);
    write_file(&settings_path, settings.to_json().as_bytes())?;
    add_mount(&mut spec, SETTINGS_IN_CONTAINER, &settings_path)?;
    if let Some(cache) = cache {
        add_mount(&mut spec, CACHE_IN_CONTAINER, cache)?;
    }
    if !is_pod_sandbox(&spec) {
        never_native(&mut spec);
    }
    write_file(&path, serde_json::to_string(&spec)?.as_bytes())
}

/// The spec's wasock settings.
fn settings_of(spec: &Value) -> ContainerSettings {
    let annotations: Vec<(String, String)> = spec
        .get("annotations")
        .and_then(Value::as_object)
        .map(|a| {
            a.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    let memory = spec
        .pointer("/linux/resources/memory/limit")
        .and_then(Value::as_i64);
    let component = spec
        .pointer("/process/args/0")
        .and_then(Value::as_str)
        .map(|arg0| without_function(arg0).to_string());
    ContainerSettings {
        component,
        ..ContainerSettings::from_spec(
            annotations.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            memory,
        )
    }
}

/// Kubernetes' pod sandbox (the pause container), which runs natively.
fn is_pod_sandbox(spec: &Value) -> bool {
    spec.pointer("/annotations/io.kubernetes.cri.container-type")
        .and_then(Value::as_str)
        == Some("sandbox")
}

/// Make the entrypoint `PATH#_start/`: runwasi takes what is before the
/// `#` as the component's file, and the whole for a native program's path,
/// which, ending in `/`, can never name a file (even one an image named
/// `PATH#_start`).
fn never_native(spec: &mut Value) {
    if let Some(arg0) = spec.pointer_mut("/process/args/0") {
        let path = without_function(arg0.as_str().unwrap_or_default());
        *arg0 = Value::String(format!("{path}#_start/"));
    }
}

/// An entrypoint without runwasi's `#function` suffix: the file's path.
fn without_function(arg0: &str) -> &str {
    arg0.split_once('#').map_or(arg0, |(path, _)| path)
}

/// Mount `source` read-only at `destination`, replacing a mount the spec
/// already had there.
fn add_mount(spec: &mut Value, destination: &str, source: &Path) -> anyhow::Result<()> {
    let mounts = spec
        .as_object_mut()
        .context("the spec is not an object")?
        .entry("mounts")
        .or_insert_with(|| Value::Array(Vec::new()))
        .as_array_mut()
        .context("the spec's mounts are not a list")?;
    mounts.retain(|m| m["destination"].as_str() != Some(destination));
    mounts.push(json!({
        "destination": destination,
        "type": "bind",
        "source": source,
        "options": ["bind", "ro", "nosuid", "nodev", "noexec"],
    }));
    Ok(())
}

/// Write beside `path` and rename, so that a reader never sees half a file.
fn write_file(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension("wasock-tmp");
    let mut file =
        fs::File::create(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?;
    file.write_all(contents)?;
    file.sync_all()?;
    fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))
}

/// The settings the start step wrote in `bundle` (read on the host).
pub fn settings_in_bundle(bundle: &Path) -> anyhow::Result<ContainerSettings> {
    let text = fs::read_to_string(bundle.join(SETTINGS_FILE))?;
    Ok(ContainerSettings::from_json(&text)?)
}

/// Whether `path` is a mount point of this process (which an image cannot
/// make, unlike a file).
pub fn is_mount_point(path: &str) -> bool {
    fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split(' ').nth(4) == Some(path))
}

/// The settings the start step mounted into this container, read from
/// inside it; [`crate::settings::SettingsError::NotPrepared`] unless the
/// file is a mount (so an image cannot bring its own).
pub fn settings_in_container() -> anyhow::Result<ContainerSettings> {
    if !is_mount_point(SETTINGS_IN_CONTAINER) {
        return Err(crate::settings::SettingsError::NotPrepared.into());
    }
    let text = fs::read_to_string(SETTINGS_IN_CONTAINER)?;
    Ok(ContainerSettings::from_json(&text)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle_with(spec: Value) -> std::path::PathBuf {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "wasock-bundle-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("config.json"), spec.to_string()).unwrap();
        dir
    }

    fn spec_of(dir: &Path) -> Value {
        serde_json::from_str(&fs::read_to_string(dir.join("config.json")).unwrap()).unwrap()
    }

    #[test]
    fn annotations_and_memory_reach_a_mounted_file_and_the_entrypoint_stays_wasm() {
        let dir = bundle_with(json!({
            "ociVersion": "1.0.2",
            "process": {"args": ["/app.wasm", "x"], "env": ["PATH=/bin"]},
            "annotations": {"wasock.dev/allow": "tcp-bind=127.0.0.1:80", "other": "x"},
            "linux": {"resources": {"memory": {"limit": 1048576}}},
            "mounts": [{"destination": SETTINGS_IN_CONTAINER, "type": "bind", "source": "/forged"}]
        }));
        prepare(&dir, Some(Path::new("/var/cache/w"))).unwrap();
        let spec = spec_of(&dir);
        let settings =
            ContainerSettings::from_json(&fs::read_to_string(dir.join(SETTINGS_FILE)).unwrap())
                .unwrap();
        assert_eq!(settings.annotations.len(), 1);
        assert_eq!(settings.annotations["allow"], "tcp-bind=127.0.0.1:80");
        assert_eq!(settings.memory_limit, Some(1 << 20));
        assert_eq!(settings.component.as_deref(), Some("/app.wasm"));
        // Both mounts are there once, read-only; the forged one is gone.
        let mounts = spec["mounts"].as_array().unwrap();
        assert_eq!(mounts.len(), 2, "{mounts:#?}");
        assert_eq!(
            mounts[0]["source"],
            dir.join(SETTINGS_FILE).display().to_string()
        );
        assert_eq!(mounts[1]["source"], "/var/cache/w");
        assert!(
            mounts
                .iter()
                .all(|m| m["options"].as_array().unwrap().contains(&"ro".into()))
        );
        assert_eq!(spec["process"]["args"], json!(["/app.wasm#_start/", "x"]));
        // Preparing again changes nothing more.
        prepare(&dir, Some(Path::new("/var/cache/w"))).unwrap();
        assert_eq!(spec_of(&dir), spec);
        // The rest of the spec is kept.
        assert_eq!(spec["ociVersion"], "1.0.2");
        assert_eq!(spec["annotations"]["other"], "x");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn only_the_pod_sandbox_keeps_a_native_entrypoint() {
        let dir = bundle_with(json!({
            "process": {"args": ["/pause"]},
            "annotations": {"io.kubernetes.cri.container-type": "sandbox"}
        }));
        prepare(&dir, None).unwrap();
        assert_eq!(spec_of(&dir)["process"]["args"], json!(["/pause"]));
        fs::remove_dir_all(&dir).unwrap();
        // A file named like the suffix cannot be reached either.
        let dir = bundle_with(json!({"process": {"args": ["/evil#_start"]}}));
        prepare(&dir, None).unwrap();
        assert_eq!(spec_of(&dir)["process"]["args"], json!(["/evil#_start/"]));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn settings_are_read_only_from_the_mount_the_start_step_made() {
        // Nothing is mounted at that path here, whatever files there are.
        let err = settings_in_container().unwrap_err();
        assert!(
            err.to_string()
                .contains("not prepared by the shim's start step"),
            "{err}"
        );
    }

    #[test]
    fn a_bundle_without_a_spec_is_an_error() {
        let dir = std::env::temp_dir().join(format!("wasock-nobundle-{}", std::process::id()));
        assert!(prepare(&dir, None).is_err());
    }

    #[test]
    fn only_the_start_action_is_a_start() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let here = std::env::current_dir().unwrap();
        assert_eq!(
            start_bundle(&args(&[
                "shim",
                "-namespace",
                "k8s.io",
                "-id",
                "x",
                "start"
            ])),
            Some(here.clone())
        );
        assert_eq!(
            start_bundle(&args(&["shim", "-id", "start", "-bundle", "/b", "start"])),
            Some("/b".into())
        );
        assert_eq!(start_bundle(&args(&["shim", "-id", "x", "delete"])), None);
        assert_eq!(
            start_bundle(&args(&["shim", "-namespace", "k8s.io", "-id", "start"])),
            None
        );
        assert_eq!(start_bundle(&args(&["shim", "-nonsense", "start"])), None);
    }
}
