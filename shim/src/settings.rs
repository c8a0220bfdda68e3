//! What a container asks of wasock: its annotations (`wasock.dev/...`) and
//! its memory limit, turned into the command line of `wasock run` or
//! `wasock serve`, so that a container is checked and limited exactly as
//! the same guest under the `wasock` binary. They reach the container as a
//! file the shim mounts read-only ([`crate::bundle`]).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// The prefix of the annotations wasock reads.
pub const ANNOTATION_PREFIX: &str = "wasock.dev/";

/// Where a container finds its [`ContainerSettings`]: a file the shim's
/// start step writes in the bundle and mounts read-only (see
/// [`crate::bundle`]).
pub const SETTINGS_IN_CONTAINER: &str = "/.wasock/settings.json";

/// Where a policy file in the image is looked for when no
/// `wasock.dev/policy` annotation names one.
pub const DEFAULT_POLICY_FILE: &str = "/etc/wasock/policy.toml";

/// What the host itself needs of a container's memory (the runtime, the
/// compiler while it compiles the component, socket buffers), kept out of
/// the instance's share: a guest that reaches its limit then fails a
/// `memory.grow` and ends with a message, instead of the whole container
/// being killed by the kernel without one. The shim's container process
/// peaks at about 60 MiB compiling a small component.
pub const HOST_MEMORY_RESERVE: u64 = 64 << 20;

/// The instance's share of a container's memory limit: all of it but
/// [`HOST_MEMORY_RESERVE`], or half of it when the limit is under twice the
/// reserve.
pub fn instance_memory(container_limit: u64) -> u64 {
    container_limit - HOST_MEMORY_RESERVE.min(container_limit / 2)
}

/// Annotations that take a list of rules, pins or provider components (their
/// paths in the image, the first nearest the app), one per line (or
/// separated by spaces), each becoming the flag of the same name.
const LIST_KEYS: &[&str] = &["allow", "deny", "resolve", "provider"];

/// Annotations that become the flag of the same name with their value.
const VALUE_KEYS: &[&str] = &[
    "max-sockets",
    "max-recv",
    "max-datagram",
    "max-buffer",
    "max-memory",
    "max-pending-calls",
    "timeout",
    "fuel",
];

/// Annotations that only `serve` mode takes.
const SERVE_KEYS: &[&str] = &["listen", "max-concurrent", "workers", "drain-timeout"];

/// Annotations with a meaning of their own.
const OWN_KEYS: &[&str] = &["mode", "policy", "log"];

/// A container's wasock settings, as read from its OCI spec when the
/// bundle is prepared.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerSettings {
    /// The spec's annotations under [`ANNOTATION_PREFIX`], prefix removed.
    pub annotations: BTreeMap<String, String>,
    /// The container's memory limit in bytes (`linux.resources.memory.limit`).
    pub memory_limit: Option<u64>,
    /// The component's path inside the container: the entrypoint, without
    /// runwasi's `#function` suffix.
    #[serde(default)]
    pub component: Option<String>,
}

/// How the guest runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `wasock run`: a command component runs to its end.
    Run,
    /// `wasock serve`: the host listens and hands each connection to a new
    /// instance of a connection-handler component.
    Serve,
}

/// Why a container's settings cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SettingsError {
    /// An annotation under `wasock.dev/` that wasock does not know.
    #[error(
        "unknown annotation {ANNOTATION_PREFIX}{0}; wasock knows {known}",
        known = known_keys()
    )]
    UnknownAnnotation(String),
    /// `wasock.dev/mode` is neither `run` nor `serve`.
    #[error("annotation {ANNOTATION_PREFIX}mode is `{0}`; it takes `run` or `serve`")]
    BadMode(String),
    /// A serve-only annotation on a container in run mode.
    #[error(
        "annotation {ANNOTATION_PREFIX}{0} applies to serve mode only; add {ANNOTATION_PREFIX}mode=serve or remove it"
    )]
    ServeOnly(String),
    /// Serve mode without an address to listen on.
    #[error(
        "serve mode needs an address: add the annotation {ANNOTATION_PREFIX}listen, e.g. 0.0.0.0:8080"
    )]
    NoListenAddress,
    /// The container has no settings file mounted by the shim: its start
    /// step did not run, so its annotations (refusals included) are unknown.
    #[error(
        "this container was not prepared by the shim's start step ({SETTINGS_IN_CONTAINER} is not mounted), so its annotations are unknown; it is not run without them. containerd runs that step for every container unless it is set to share one shim per pod through its sandbox API (`sandboxer = \"shim\"`); use the default pod sandboxer for wasock's runtime"
    )]
    NotPrepared,
    /// The settings file is not what the start step writes.
    #[error("{SETTINGS_IN_CONTAINER} does not hold wasock's settings: {0}")]
    Garbled(String),
}

fn known_keys() -> String {
    OWN_KEYS
        .iter()
        .chain(LIST_KEYS)
        .chain(VALUE_KEYS)
        .chain(SERVE_KEYS)
        .map(|k| format!("{ANNOTATION_PREFIX}{k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl ContainerSettings {
    /// The settings from a spec's annotations (every key; those without
    /// the prefix are ignored) and memory limit (ignored unless positive).
    pub fn from_spec<'a>(
        annotations: impl IntoIterator<Item = (&'a str, &'a str)>,
        memory_limit: Option<i64>,
    ) -> ContainerSettings {
        ContainerSettings {
            annotations: annotations
                .into_iter()
                .filter_map(|(k, v)| {
                    Some((
                        k.strip_prefix(ANNOTATION_PREFIX)?.to_string(),
                        v.to_string(),
                    ))
                })
                .collect(),
            memory_limit: memory_limit
                .and_then(|m| u64::try_from(m).ok())
                .filter(|&m| m > 0),
            component: None,
        }
    }

    /// The settings as the start step writes them.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a map of strings always serialises")
    }

    /// The settings from what [`ContainerSettings::to_json`] wrote.
    pub fn from_json(json: &str) -> Result<ContainerSettings, SettingsError> {
        serde_json::from_str(json).map_err(|e| SettingsError::Garbled(e.to_string()))
    }

    /// The directives for wasock's log: warnings and the guest's policy
    /// counters by default, then `wasock.dev/log`'s (`RUST_LOG`'s syntax);
    /// denials and limits are logged whatever that says.
    pub fn log_directives(&self) -> String {
        let asked = self.annotations.get("log").map(|l| l.trim()).unwrap_or("");
        format!("warn,wasock::stats=info,{asked},wasock::policy=warn,wasock::limits=warn")
    }

    /// The mode `wasock.dev/mode` asks for (run when absent).
    pub fn mode(&self) -> Result<Mode, SettingsError> {
        match self.annotations.get("mode").map(|m| m.trim()) {
            None | Some("run") => Ok(Mode::Run),
            Some("serve") => Ok(Mode::Serve),
            Some(other) => Err(SettingsError::BadMode(other.to_string())),
        }
    }

    /// The `wasock` command line for this container: the subcommand, its
    /// flags and (in run mode) the guest's environment, then `--`, the
    /// component and (in run mode) its arguments, which therefore can never
    /// be taken for wasock's flags. `policy_file_exists` tells whether a
    /// path exists in the container, for the default policy file.
    pub fn command_line(
        &self,
        component: &Path,
        guest_args: &[String],
        guest_env: &[String],
        policy_file_exists: impl Fn(&Path) -> bool,
    ) -> Result<Vec<String>, SettingsError> {
        let mode = self.mode()?;
        let mut argv = vec![
            "wasock".to_string(),
            match mode {
                Mode::Run => "run",
                Mode::Serve => "serve",
            }
            .to_string(),
        ];
        for key in self.annotations.keys() {
            let known = [OWN_KEYS, LIST_KEYS, VALUE_KEYS, SERVE_KEYS]
                .iter()
                .any(|keys| keys.contains(&key.as_str()));
            if !known {
                return Err(SettingsError::UnknownAnnotation(key.clone()));
            }
            if mode == Mode::Run && SERVE_KEYS.contains(&key.as_str()) {
                return Err(SettingsError::ServeOnly(key.clone()));
            }
        }
        if mode == Mode::Serve && !self.annotations.contains_key("listen") {
            return Err(SettingsError::NoListenAddress);
        }
        match self.annotations.get("policy") {
            Some(path) => argv.extend(["--policy".to_string(), path.trim().to_string()]),
            None if policy_file_exists(Path::new(DEFAULT_POLICY_FILE)) => {
                argv.extend(["--policy".to_string(), DEFAULT_POLICY_FILE.to_string()])
            }
            None => {}
        }
        for key in LIST_KEYS {
            for item in self
                .annotations
                .get(*key)
                .into_iter()
                .flat_map(|v| v.split_whitespace())
            {
                argv.extend([format!("--{key}"), item.to_string()]);
            }
        }
        for key in VALUE_KEYS.iter().chain(SERVE_KEYS) {
            if *key == "max-memory" {
                continue;
            }
            if let Some(value) = self.annotations.get(*key) {
                argv.extend([format!("--{key}"), value.trim().to_string()]);
            }
        }
        if let Some(memory) = self.max_memory() {
            argv.extend(["--max-memory".to_string(), memory]);
        }
        if mode == Mode::Run {
            // OCI environment entries are NAME=VALUE; anything else is not
            // an environment variable to pass on.
            for var in guest_env.iter().filter(|v| v.contains('=')) {
                argv.push(format!("--env={var}"));
            }
        }
        argv.push("--".to_string());
        argv.push(component.display().to_string());
        if mode == Mode::Run {
            argv.extend(guest_args.iter().cloned());
        }
        Ok(argv)
    }

    /// The instance's memory limit: its share of the container's
    /// ([`instance_memory`]), or the annotation's if that is smaller (an
    /// annotation that does not parse is passed on for the command line to
    /// refuse with its own message).
    fn max_memory(&self) -> Option<String> {
        let annotated = self
            .annotations
            .get("max-memory")
            .map(|v| v.trim().to_string());
        match (annotated, self.memory_limit.map(instance_memory)) {
            (None, None) => None,
            (Some(a), None) => Some(a),
            (None, Some(limit)) => Some(limit.to_string()),
            (Some(a), Some(limit)) => match wasock_host::cli::parse_size(&a) {
                Ok(n) if n <= limit => Some(a),
                Ok(_) => Some(limit.to_string()),
                Err(_) => Some(a),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    fn settings(pairs: &[(&str, &str)], memory: Option<i64>) -> ContainerSettings {
        ContainerSettings::from_spec(pairs.iter().copied(), memory)
    }

    fn line(s: &ContainerSettings, policy_exists: bool) -> Result<Vec<String>, SettingsError> {
        s.command_line(
            Path::new("/app.wasm"),
            &["127.0.0.1:7000".to_string()],
            &["PATH=/bin".to_string()],
            |_| policy_exists,
        )
    }

    #[test]
    fn annotations_become_the_command_line_of_wasock_run() {
        let s = settings(
            &[
                (
                    "wasock.dev/allow",
                    "tcp-bind=127.0.0.1:7000\n  tcp-accept=127.0.0.0/8:*\n",
                ),
                ("wasock.dev/deny", "tcp-accept=127.0.0.9:*"),
                ("wasock.dev/timeout", "10s"),
                ("io.kubernetes.cri.container-type", "container"),
            ],
            None,
        );
        assert_eq!(
            line(&s, false).unwrap(),
            [
                "wasock",
                "run",
                "--allow",
                "tcp-bind=127.0.0.1:7000",
                "--allow",
                "tcp-accept=127.0.0.0/8:*",
                "--deny",
                "tcp-accept=127.0.0.9:*",
                "--timeout",
                "10s",
                "--env=PATH=/bin",
                "--",
                "/app.wasm",
                "127.0.0.1:7000"
            ]
        );
    }

    #[test]
    fn the_image_policy_file_is_used_when_present_or_named() {
        let none = settings(&[], None);
        assert_eq!(line(&none, false).unwrap()[2..4], ["--env=PATH=/bin", "--"]);
        assert_eq!(
            line(&none, true).unwrap()[2..4],
            ["--policy", DEFAULT_POLICY_FILE]
        );
        let named = settings(&[("wasock.dev/policy", "/srv/p.toml")], None);
        assert_eq!(
            line(&named, true).unwrap()[2..4],
            ["--policy", "/srv/p.toml"]
        );
    }

    #[test]
    fn the_container_memory_limit_caps_the_instance() {
        assert_eq!(instance_memory(256 << 20), 192 << 20);
        assert_eq!(instance_memory(64 << 20), 32 << 20);
        // The --max-memory the command line gets, if any.
        let memory = |annotated: Option<&str>, limit: i64| {
            let pairs: Vec<(&str, &str)> = annotated
                .map(|a| ("wasock.dev/max-memory", a))
                .into_iter()
                .collect();
            let argv = line(&settings(&pairs, Some(limit)), false).unwrap();
            argv.windows(2)
                .find(|w| w[0] == "--max-memory")
                .map(|w| w[1].clone())
        };
        assert_eq!(memory(None, 256 << 20).as_deref(), Some("201326592"));
        assert_eq!(memory(Some("16MiB"), 256 << 20).as_deref(), Some("16MiB"));
        assert_eq!(
            memory(Some("1GiB"), 256 << 20).as_deref(),
            Some("201326592")
        );
        assert_eq!(memory(None, -1), None);
        assert_eq!(memory(Some("8MiB"), -1).as_deref(), Some("8MiB"));
    }

    #[test]
    fn serve_mode_takes_its_own_flags_and_no_guest_arguments() {
        let s = settings(
            &[
                ("wasock.dev/mode", "serve"),
                ("wasock.dev/listen", "0.0.0.0:8080"),
                ("wasock.dev/workers", "2"),
                ("wasock.dev/allow", "tcp-accept=*"),
            ],
            None,
        );
        assert_eq!(
            line(&s, false).unwrap(),
            [
                "wasock",
                "serve",
                "--allow",
                "tcp-accept=*",
                "--listen",
                "0.0.0.0:8080",
                "--workers",
                "2",
                "--",
                "/app.wasm"
            ]
        );
        let no_listen = settings(&[("wasock.dev/mode", "serve")], None);
        assert_eq!(line(&no_listen, false), Err(SettingsError::NoListenAddress));
    }

    #[test]
    fn mistakes_are_named() {
        let unknown = settings(&[("wasock.dev/alow", "tcp-bind=*")], None);
        let err = line(&unknown, false).unwrap_err();
        assert_eq!(err, SettingsError::UnknownAnnotation("alow".into()));
        assert!(err.to_string().contains("wasock.dev/allow"), "{err}");
        let serve_only = settings(&[("wasock.dev/listen", "0.0.0.0:80")], None);
        assert_eq!(
            line(&serve_only, false),
            Err(SettingsError::ServeOnly("listen".into()))
        );
        let mode = settings(&[("wasock.dev/mode", "daemon")], None);
        assert_eq!(
            line(&mode, false),
            Err(SettingsError::BadMode("daemon".into()))
        );
    }

    #[test]
    fn settings_travel_as_json() {
        let s = settings(&[("wasock.dev/allow", "tcp-bind=*")], Some(1 << 30));
        assert_eq!(ContainerSettings::from_json(&s.to_json()).unwrap(), s);
        assert!(matches!(
            ContainerSettings::from_json("nope"),
            Err(SettingsError::Garbled(_))
        ));
    }

    #[test]
    fn guest_arguments_and_environment_never_become_wasock_flags() {
        let argv = settings(&[], None)
            .command_line(
                Path::new("/app.wasm"),
                &["--allow".into(), "tcp-connect=*".into(), "--".into()],
                &["--allow=x".into(), "-A=1".into(), "NOEQUALS".into()],
                |_| false,
            )
            .unwrap();
        let cli = wasock_host::cli::Cli::try_parse_from(&argv).unwrap();
        let wasock_host::cli::Command::Run(run) = cli.command else {
            panic!("{argv:?}")
        };
        assert!(run.rules.allow.is_empty(), "{argv:?}");
        assert_eq!(run.args(), ["--allow", "tcp-connect=*", "--"]);
        // Entries that look like flags are the guest's variables; one
        // without `=` is not passed on.
        let names: Vec<&str> = run.env.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["--allow", "-A"]);
    }

    #[test]
    fn the_log_keeps_denials_whatever_is_asked() {
        let quiet = settings(&[("wasock.dev/log", "off")], None);
        assert!(
            quiet
                .log_directives()
                .ends_with("wasock::policy=warn,wasock::limits=warn")
        );
        assert_eq!(
            settings(&[], None).log_directives(),
            "warn,wasock::stats=info,,wasock::policy=warn,wasock::limits=warn"
        );
    }
}
