//! `deploy/kubernetes/`: the YAML parses, and its names are the ones the
//! shim uses (runtime handler, binary, annotations), so a cluster set up
//! from these files reaches the shim with settings it accepts.

use std::path::{Path, PathBuf};

use clap::Parser as _;
use containerd_shim_wasm::shim::Shim as _;
use containerd_shim_wasock::sandbox::WasockShim;
use containerd_shim_wasock::settings::{ANNOTATION_PREFIX, ContainerSettings};
use serde_yaml_ng::Value;

fn deploy(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy/kubernetes")
        .join(file)
}

fn documents(file: &str) -> Vec<Value> {
    use serde::Deserialize as _;
    let text = std::fs::read_to_string(deploy(file)).unwrap();
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|d| Value::deserialize(d).unwrap_or_else(|e| panic!("{file}: {e}")))
        .collect()
}

fn kind<'a>(docs: &'a [Value], kind: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"].as_str() == Some(kind))
        .unwrap_or_else(|| panic!("no {kind}"))
}

#[test]
fn the_runtime_class_containerd_config_and_shim_agree() {
    let runtime_class = &documents("runtimeclass.yaml")[0];
    assert_eq!(runtime_class["kind"].as_str(), Some("RuntimeClass"));
    let handler = runtime_class["handler"].as_str().unwrap();

    let config: toml::Table =
        toml::from_str(&std::fs::read_to_string(deploy("containerd-config.toml")).unwrap())
            .unwrap();
    let runtimes = &config["plugins"]["io.containerd.grpc.v1.cri"]["containerd"]["runtimes"];
    let runtime = &runtimes[handler];
    // io.containerd.NAME.v1 is served by the binary containerd-shim-NAME-v1.
    let runtime_type = runtime["runtime_type"].as_str().unwrap();
    assert_eq!(
        runtime_type,
        format!("io.containerd.{}.v1", WasockShim::name())
    );
    assert!(
        Path::new(env!("CARGO_BIN_EXE_containerd-shim-wasock-v1"))
            .ends_with(format!("containerd-shim-{}-v1", WasockShim::name()))
    );
    for list in ["pod_annotations", "container_annotations"] {
        let globs: Vec<&str> = runtime[list]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(globs, [format!("{ANNOTATION_PREFIX}*")], "{list}");
    }
}

#[test]
fn the_example_deployment_runs_under_the_runtime_class_with_settings_the_shim_takes() {
    let runtime_class = &documents("runtimeclass.yaml")[0];
    let docs = documents("http-hello.yaml");
    let deployment = kind(&docs, "Deployment");
    let pod = &deployment["spec"]["template"];
    assert_eq!(
        pod["spec"]["runtimeClassName"],
        runtime_class["metadata"]["name"]
    );
    let annotations: Vec<(String, String)> = pod["metadata"]["annotations"]
        .as_mapping()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().unwrap().to_string(),
                v.as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        annotations
            .iter()
            .all(|(k, _)| k.starts_with(ANNOTATION_PREFIX))
    );
    let container = &pod["spec"]["containers"][0];
    let memory = container["resources"]["limits"]["memory"].as_str().unwrap();
    let mib: i64 = memory.strip_suffix("Mi").unwrap().parse().unwrap();
    let settings = ContainerSettings::from_spec(
        annotations.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        Some(mib << 20),
    );
    let argv = settings
        .command_line(Path::new("/app.wasm"), &[], &[], |_| false)
        .unwrap();
    let cli = wasock_host::cli::Cli::try_parse_from(&argv).unwrap();
    let wasock_host::cli::Command::Serve(serve) = cli.command else {
        panic!("{argv:?} is not serve")
    };
    // The Service sends its traffic to the port the shim listens on.
    let service = kind(&docs, "Service");
    let target = service["spec"]["ports"][0]["targetPort"].as_u64().unwrap();
    let listen = serve.listen.expect("the shim gives serve an address");
    assert_eq!(u64::from(listen.port()), target);
    assert_eq!(
        container["ports"][0]["containerPort"].as_u64(),
        Some(target)
    );
    assert_eq!(
        serve.limits.max_memory,
        Some(containerd_shim_wasock::settings::instance_memory(128 << 20))
    );
    assert!(serve.rules.allow.iter().any(|r| r.text == "tcp-accept=*"));
}
