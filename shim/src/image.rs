//! OCI images of a wasm component, written without docker: an image
//! archive (`oci-layout`, `index.json`, the blobs, and docker's
//! `manifest.json` so that either kind of importer names it) whose one
//! layer holds the component at `/app.wasm` (the entrypoint) and, if given,
//! a policy file at `/etc/wasock/policy.toml`. `ctr image import` takes it.
//!
//! The image is a plain image for the host's platform (linux and this
//! machine's architecture), so that containerd runs it with the shim the
//! container names, on any containerd version; runwasi's wasm-layer images
//! need containerd 1.6.25 or 1.7.7 and later.
//!
//! ```
//! use containerd_shim_wasock::image::ImageBuilder;
//!
//! let mut archive = Vec::new();
//! ImageBuilder::new("docker.io/wasock/hello:latest", b"\0asm\x0d\0\x01\0".to_vec())
//!     .arg("127.0.0.1:7000")
//!     .write(&mut archive)?;
//! assert!(!archive.is_empty());
//! # Ok::<(), std::io::Error>(())
//! ```

use std::io::{self, Write};

use serde_json::json;
use sha2::{Digest, Sha256};

use crate::settings::DEFAULT_POLICY_FILE;

/// Where the component is in the image, and the image's entrypoint.
pub const COMPONENT_PATH: &str = "/app.wasm";

const LAYER_MEDIA_TYPE: &str = "application/vnd.oci.image.layer.v1.tar";
/// runwasi's media type for a layer that is a wasm component.
pub const WASM_LAYER_MEDIA_TYPE: &str =
    "application/vnd.bytecodealliance.wasm.component.layer.v0+wasm";
const CONFIG_MEDIA_TYPE: &str = "application/vnd.oci.image.config.v1+json";
const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";

/// An image to write: its files (a component, a policy file), its
/// entrypoint, arguments and environment.
#[derive(Debug, Clone)]
pub struct ImageBuilder {
    name: String,
    /// Path in the image (absolute), contents, mode.
    files: Vec<(String, Vec<u8>, u32)>,
    entrypoint: String,
    args: Vec<String>,
    env: Vec<String>,
    /// runwasi's image kind: the component as the one layer itself.
    wasm_layer: bool,
}

impl ImageBuilder {
    /// An image named `name` (a full reference such as
    /// `docker.io/library/echo:latest`) of `component`, at [`COMPONENT_PATH`].
    pub fn new(name: impl Into<String>, component: Vec<u8>) -> ImageBuilder {
        ImageBuilder::with_entrypoint(name, COMPONENT_PATH).file(COMPONENT_PATH, component, 0o755)
    }

    /// An image named `name` whose entrypoint is `path` and that has no
    /// files yet (add them with [`ImageBuilder::file`]): for a native
    /// program to compare with, run by runc.
    pub fn with_entrypoint(name: impl Into<String>, path: &str) -> ImageBuilder {
        ImageBuilder {
            name: name.into(),
            files: Vec::new(),
            entrypoint: path.to_string(),
            args: Vec::new(),
            env: Vec::new(),
            wasm_layer: false,
        }
    }

    /// Write runwasi's other kind of image instead: the component is the
    /// image's one layer (media type [`WASM_LAYER_MEDIA_TYPE`]), for the
    /// platform `wasip1/wasm`, with no file system. Only an image made by
    /// [`ImageBuilder::new`] with no other files can be written so, and
    /// containerd runs it from 1.6.25 and 1.7.7 on.
    pub fn as_wasm_layer(mut self) -> ImageBuilder {
        self.wasm_layer = true;
        self
    }

    /// The image's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Put a file at `path` (absolute) with `mode` into the image.
    pub fn file(mut self, path: &str, contents: Vec<u8>, mode: u32) -> ImageBuilder {
        self.files.push((path.to_string(), contents, mode));
        self
    }

    /// Put a policy file (TOML, as `wasock run --policy` takes) into the
    /// image at `/etc/wasock/policy.toml`, where the shim looks for one.
    pub fn policy(self, toml: Vec<u8>) -> ImageBuilder {
        self.file(DEFAULT_POLICY_FILE, toml, 0o644)
    }

    /// An argument for the component (the image's `Cmd`).
    pub fn arg(mut self, arg: impl Into<String>) -> ImageBuilder {
        self.args.push(arg.into());
        self
    }

    /// An environment variable `NAME=VALUE` for the component.
    pub fn env(mut self, var: impl Into<String>) -> ImageBuilder {
        self.env.push(var.into());
        self
    }

    /// Write the image archive (a tar) to `out`.
    pub fn write(&self, out: impl Write) -> io::Result<()> {
        let (layer, media_type, os, architecture) = if self.wasm_layer {
            let [(path, component, _)] = self.files.as_slice() else {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "a wasm-layer image holds the component and nothing else",
                ));
            };
            if path != &self.entrypoint {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "a wasm-layer image's one file is its entrypoint",
                ));
            }
            (component.clone(), WASM_LAYER_MEDIA_TYPE, "wasip1", "wasm")
        } else {
            (self.layer()?, LAYER_MEDIA_TYPE, "linux", oci_architecture())
        };
        let layer_digest = digest(&layer);
        // A wasm layer is not a file system: it has no diff ID.
        let diff_ids: Vec<&str> = if self.wasm_layer {
            vec![]
        } else {
            vec![&layer_digest]
        };
        let config = serde_json::to_vec(&json!({
            "architecture": architecture,
            "os": os,
            "config": {
                "Entrypoint": [self.entrypoint],
                "Cmd": self.args,
                "Env": self.env,
            },
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        }))?;
        let config_digest = digest(&config);
        let manifest = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": MANIFEST_MEDIA_TYPE,
            "config": {"mediaType": CONFIG_MEDIA_TYPE, "digest": config_digest, "size": config.len()},
            "layers": [{"mediaType": media_type, "digest": layer_digest, "size": layer.len()}],
        }))?;
        let manifest_digest = digest(&manifest);
        let tag = self
            .name
            .rsplit_once(':')
            .map(|(_, t)| t)
            .unwrap_or("latest");
        let index = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "manifests": [{
                "mediaType": MANIFEST_MEDIA_TYPE,
                "digest": manifest_digest,
                "size": manifest.len(),
                "platform": {"architecture": architecture, "os": os},
                "annotations": {
                    "io.containerd.image.name": self.name,
                    "org.opencontainers.image.ref.name": tag,
                },
            }],
        }))?;
        let docker_manifest = serde_json::to_vec(&json!([{
            "Config": blob_path(&config_digest),
            "RepoTags": [self.name],
            "Layers": [blob_path(&layer_digest)],
        }]))?;

        let mut archive = tar::Builder::new(out);
        append(
            &mut archive,
            "oci-layout",
            br#"{"imageLayoutVersion":"1.0.0"}"#,
            0o644,
        )?;
        append(&mut archive, "index.json", &index, 0o644)?;
        if !self.wasm_layer {
            // docker's format has no wasm layers.
            append(&mut archive, "manifest.json", &docker_manifest, 0o644)?;
        }
        append(&mut archive, &blob_path(&layer_digest), &layer, 0o644)?;
        append(&mut archive, &blob_path(&config_digest), &config, 0o644)?;
        append(&mut archive, &blob_path(&manifest_digest), &manifest, 0o644)?;
        archive.into_inner()?.flush()
    }

    /// The one layer: the files.
    fn layer(&self) -> io::Result<Vec<u8>> {
        let mut layer = tar::Builder::new(Vec::new());
        for (path, contents, mode) in &self.files {
            append(&mut layer, path.trim_start_matches('/'), contents, *mode)?;
        }
        layer.into_inner()
    }
}

/// Append a regular file (and the directories above it, as tar readers
/// make them) with a fixed time and owner, so that the same input gives
/// the same digests.
fn append<W: Write>(
    archive: &mut tar::Builder<W>,
    path: &str,
    data: &[u8],
    mode: u32,
) -> io::Result<()> {
    let mut header = tar::Header::new_ustar();
    header.set_size(data.len() as u64);
    header.set_mode(mode);
    header.set_mtime(0);
    header.set_uid(0);
    header.set_gid(0);
    header.set_entry_type(tar::EntryType::Regular);
    archive.append_data(&mut header, path, data)
}

fn digest(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

fn blob_path(digest: &str) -> String {
    format!("blobs/{}", digest.replacen(':', "/", 1))
}

/// This machine's architecture as OCI names it.
fn oci_architecture() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::io::Read as _;

    fn entries(tar_bytes: &[u8]) -> BTreeMap<String, Vec<u8>> {
        let mut archive = tar::Archive::new(tar_bytes);
        archive
            .entries()
            .unwrap()
            .map(|e| {
                let mut e = e.unwrap();
                let path = e.path().unwrap().display().to_string();
                let mut data = Vec::new();
                e.read_to_end(&mut data).unwrap();
                (path, data)
            })
            .collect()
    }

    #[test]
    fn the_archive_is_an_oci_layout_whose_digests_match() {
        let archive = || {
            let mut out = Vec::new();
            ImageBuilder::new("docker.io/wasock/echo:v1", b"\0asm component".to_vec())
                .policy(b"allow = []\n".to_vec())
                .arg("127.0.0.1:7000")
                .env("A=1")
                .write(&mut out)
                .unwrap();
            out
        };
        let out = archive();
        let files = entries(&out);
        for (path, data) in &files {
            if let Some(hex) = path.strip_prefix("blobs/sha256/") {
                assert_eq!(digest(data), format!("sha256:{hex}"), "{path}");
            }
        }
        let index: serde_json::Value = serde_json::from_slice(&files["index.json"]).unwrap();
        let manifest_path = blob_path(index["manifests"][0]["digest"].as_str().unwrap());
        let manifest: serde_json::Value = serde_json::from_slice(&files[&manifest_path]).unwrap();
        let config: serde_json::Value = serde_json::from_slice(
            &files[&blob_path(manifest["config"]["digest"].as_str().unwrap())],
        )
        .unwrap();
        assert_eq!(config["config"]["Entrypoint"][0], COMPONENT_PATH);
        assert_eq!(config["config"]["Cmd"][0], "127.0.0.1:7000");
        assert_eq!(
            config["rootfs"]["diff_ids"][0],
            manifest["layers"][0]["digest"]
        );
        let layer = &files[&blob_path(manifest["layers"][0]["digest"].as_str().unwrap())];
        let layer_files = entries(layer);
        assert_eq!(layer_files["app.wasm"], b"\0asm component");
        assert_eq!(layer_files["etc/wasock/policy.toml"], b"allow = []\n");
        // The same input gives the same archive.
        assert_eq!(out, archive());
    }

    #[test]
    fn a_wasm_layer_image_is_the_component_as_its_layer() {
        let mut out = Vec::new();
        ImageBuilder::new("docker.io/wasock/echo:wasm", b"\0asm component".to_vec())
            .arg("127.0.0.1:7000")
            .as_wasm_layer()
            .write(&mut out)
            .unwrap();
        let files = entries(&out);
        assert!(!files.contains_key("manifest.json"));
        let index: serde_json::Value = serde_json::from_slice(&files["index.json"]).unwrap();
        assert_eq!(index["manifests"][0]["platform"]["os"], "wasip1");
        let manifest_path = blob_path(index["manifests"][0]["digest"].as_str().unwrap());
        let manifest: serde_json::Value = serde_json::from_slice(&files[&manifest_path]).unwrap();
        let layer = &manifest["layers"][0];
        assert_eq!(layer["mediaType"], WASM_LAYER_MEDIA_TYPE);
        assert_eq!(
            files[&blob_path(layer["digest"].as_str().unwrap())],
            b"\0asm component"
        );
        let config: serde_json::Value = serde_json::from_slice(
            &files[&blob_path(manifest["config"]["digest"].as_str().unwrap())],
        )
        .unwrap();
        assert_eq!(config["architecture"], "wasm");
        assert_eq!(config["rootfs"]["diff_ids"], serde_json::json!([]));
        // Nothing but the component fits in one.
        let with_policy = ImageBuilder::new("docker.io/wasock/echo:wasm", b"\0asm".to_vec())
            .policy(b"allow = []".to_vec())
            .as_wasm_layer();
        assert!(with_policy.write(Vec::new()).is_err());
    }
}
