//! The bundle step: carry what wasock needs from the container's OCI spec
//! into the container.
//!
//! runwasi (`containerd-shim-wasm` 1.0) hands a sandbox the process's
//! arguments and environment, not the spec's annotations or resources. But
//! containerd starts the shim binary (`containerd-shim-wasock-v1 ... start`)
//! in the container's bundle directory, with the spec in `config.json`, before
//! it asks the shim to create the container. At that point this step reads the
//! `wasock.dev/` annotations and the memory limit, and appends them to the
//! process environment as one [`SETTINGS_ENV`] entry. Entries of that name that
//! were already there (set by an image or a pod) are removed first, so only
//! the spec's own annotations count.

use std::fs;
use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;
use serde_json::Value;

use crate::settings::{ContainerSettings, SETTINGS_ENV};

/// Whether the shim binary was started with containerd's `start` action
/// (its other actions are `delete` and the long-running server): the last
/// argument, and not the value of a flag (a container named `start`).
pub fn is_start(args: &[String]) -> bool {
    match args {
        [.., before, last] if last == "start" => !before.starts_with('-') || before == "-debug",
        _ => false,
    }
}

/// Rewrite `bundle/config.json` so that its process environment carries
/// the container's wasock settings, and, with `cache` (the host's
/// compilation cache, see [`crate::precompile`]), so that the container sees
/// that folder read-only at [`CACHE_IN_CONTAINER`]. A bundle without a
/// `config.json`, or a spec without a process, is left alone.
pub fn carry_settings(bundle: &Path, cache: Option<&Path>) -> anyhow::Result<()> {
    let path = bundle.join("config.json");
    let Ok(text) = fs::read_to_string(&path) else {
        return Ok(());
    };
    let mut spec: Value =
        serde_json::from_str(&text).with_context(|| format!("cannot parse {}", path.display()))?;
    let Some(mut updated) = with_settings(&mut spec) else {
        return Ok(());
    };
    if let Some(cache) = cache {
        updated |= with_cache_mount(&mut spec, cache);
    }
    if !updated {
        return Ok(());
    }
    // Write beside it and rename, so that a reader never sees half a spec.
    let tmp = bundle.join(".config.json.wasock");
    let mut file =
        fs::File::create(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?;
    file.write_all(serde_json::to_string(&spec)?.as_bytes())?;
    file.sync_all()?;
    fs::rename(&tmp, &path).with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(())
}

/// Where a container sees the host's compilation cache (read-only).
pub const CACHE_IN_CONTAINER: &str = "/.wasock/cache";

/// Add a read-only bind mount of `cache` at [`CACHE_IN_CONTAINER`]; whether
/// the spec changed.
fn with_cache_mount(spec: &mut Value, cache: &Path) -> bool {
    let Some(mounts) = spec
        .as_object_mut()
        .map(|s| {
            s.entry("mounts")
                .or_insert_with(|| Value::Array(Vec::new()))
        })
        .and_then(Value::as_array_mut)
    else {
        return false;
    };
    if mounts
        .iter()
        .any(|m| m["destination"].as_str() == Some(CACHE_IN_CONTAINER))
    {
        return false;
    }
    mounts.push(serde_json::json!({
        "destination": CACHE_IN_CONTAINER,
        "type": "bind",
        "source": cache,
        "options": ["rbind", "ro", "nosuid", "nodev", "noexec"],
    }));
    true
}

/// Put the settings into `spec.process.env`: `None` if the spec has no
/// process, `Some(false)` if nothing needed to change.
fn with_settings(spec: &mut Value) -> Option<bool> {
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
    let settings = ContainerSettings::from_spec(
        annotations.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        memory,
    );
    let process = spec.get_mut("process")?.as_object_mut()?;
    let env = process
        .entry("env")
        .or_insert_with(|| Value::Array(Vec::new()))
        .as_array_mut()?;
    let prefix = format!("{SETTINGS_ENV}=");
    let before = env.len();
    env.retain(|v| !v.as_str().is_some_and(|s| s.starts_with(&prefix)));
    if settings == ContainerSettings::default() && env.len() == before {
        return Some(false);
    }
    env.push(Value::String(format!(
        "{prefix}{}",
        settings.to_env_value()
    )));
    Some(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotations_and_memory_reach_the_environment_and_forged_entries_go() {
        let dir = std::env::temp_dir().join(format!("wasock-bundle-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let spec = serde_json::json!({
            "ociVersion": "1.0.2",
            "process": {"args": ["/app.wasm"], "env": ["PATH=/bin", "WASOCK_CONTAINER={\"annotations\":{\"allow\":\"tcp-bind=*\"}}"]},
            "annotations": {"wasock.dev/allow": "tcp-bind=127.0.0.1:80", "other": "x"},
            "linux": {"resources": {"memory": {"limit": 1048576}}}
        });
        fs::write(dir.join("config.json"), spec.to_string()).unwrap();
        carry_settings(&dir, Some(Path::new("/var/cache/w"))).unwrap();
        let back: Value =
            serde_json::from_str(&fs::read_to_string(dir.join("config.json")).unwrap()).unwrap();
        let env: Vec<String> = back["process"]["env"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        let (settings, rest) = ContainerSettings::from_env(&env).unwrap();
        assert_eq!(rest, ["PATH=/bin"]);
        assert_eq!(settings.annotations.len(), 1);
        assert_eq!(settings.annotations["allow"], "tcp-bind=127.0.0.1:80");
        assert_eq!(settings.memory_limit, Some(1 << 20));
        // The cache is there, read-only, once.
        let mounts = back["mounts"].as_array().unwrap();
        assert_eq!(mounts.len(), 1);
        assert_eq!(mounts[0]["source"], "/var/cache/w");
        assert!(
            mounts[0]["options"]
                .as_array()
                .unwrap()
                .contains(&"ro".into())
        );
        carry_settings(&dir, Some(Path::new("/var/cache/w"))).unwrap();
        let again: Value =
            serde_json::from_str(&fs::read_to_string(dir.join("config.json")).unwrap()).unwrap();
        assert_eq!(again["mounts"].as_array().unwrap().len(), 1);
        // The rest of the spec is kept.
        assert_eq!(back["ociVersion"], "1.0.2");
        assert_eq!(back["annotations"]["other"], "x");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_spec_without_wasock_settings_is_left_as_it_was() {
        let mut spec = serde_json::json!({"process": {"args": ["/app.wasm"], "env": ["A=1"]}});
        assert_eq!(with_settings(&mut spec), Some(false));
        assert_eq!(spec["process"]["env"], serde_json::json!(["A=1"]));
        let mut no_process = serde_json::json!({"annotations": {"wasock.dev/allow": "x"}});
        assert_eq!(with_settings(&mut no_process), None);
    }

    #[test]
    fn only_the_start_action_is_a_start() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(is_start(&args(&[
            "shim",
            "-namespace",
            "k8s.io",
            "-id",
            "x",
            "start"
        ])));
        assert!(!is_start(&args(&[
            "shim",
            "-namespace",
            "k8s.io",
            "-id",
            "x",
            "delete"
        ])));
        assert!(!is_start(&args(&[
            "shim",
            "-namespace",
            "k8s.io",
            "-id",
            "x"
        ])));
        assert!(!is_start(&args(&[
            "shim",
            "-namespace",
            "k8s.io",
            "-id",
            "start"
        ])));
        assert!(is_start(&args(&["shim", "-id", "start", "start"])));
        assert!(is_start(&args(&["shim", "-id", "x", "-debug", "start"])));
    }
}
