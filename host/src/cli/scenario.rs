//! Simulation scenarios: the hosts, links, partitions and names of a
//! simulated Internet, in TOML. Errors name the line, column and field.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::units::{number_and_rest, parse_duration};
use crate::net::sim::LinkConfig;
use crate::policy::{Effect, Policy, Rule, RuleSource, SetBy};
use crate::runtime::{
    ClockSkew, Crash, Fault, MAX_CLOCK_OFFSET, Nemesis, Offset, Partition, Pause,
};

/// The virtual deadline of a scenario that sets no `until`.
const DEFAULT_UNTIL: Duration = Duration::from_secs(3600);

/// A parsed scenario, components not yet loaded.
#[derive(Debug)]
pub struct Scenario {
    /// The seed every fault derives from.
    pub seed: u64,
    /// Virtual time after which the run stops.
    pub until: Duration,
    /// The link between hosts without one of their own.
    pub default_link: LinkConfig,
    /// The hosts, `count` expanded.
    pub hosts: Vec<HostPlan>,
    /// Links between two named hosts.
    pub links: Vec<(String, String, LinkConfig)>,
    /// Partitions: two sets of hosts, a start and an optional heal.
    pub partitions: Vec<Partition>,
    /// Faults drawn from the seed (`[nemesis]`, or several `[[nemesis]]`).
    pub nemeses: Vec<Nemesis>,
    /// Names and their addresses.
    pub names: Vec<(String, Vec<IpAddr>)>,
}

/// One host of a scenario.
#[derive(Debug)]
pub struct HostPlan {
    /// Its name.
    pub name: String,
    /// Its addresses.
    pub addrs: Vec<IpAddr>,
    /// The guest component's file, if it runs one.
    pub component: Option<PathBuf>,
    /// The component as the scenario names it (a bare name is looked up
    /// in the guest folder, a path beside the scenario).
    pub component_name: Option<String>,
    /// The guest's arguments.
    pub args: Vec<String>,
    /// The guest's environment.
    pub env: Vec<(String, String)>,
    /// The guest's policy.
    pub policy: Arc<Policy>,
    /// When the guest starts.
    pub start: Duration,
    /// A service the run does not wait for.
    pub daemon: bool,
    /// A time limit for the guest (virtual).
    pub timeout: Option<Duration>,
    /// A fuel limit for the guest.
    pub fuel: Option<u64>,
    /// Its host's crashes, in order of time.
    pub crashes: Vec<Crash>,
    /// Its host's wall clock set off true time, in order of time.
    pub skews: Vec<ClockSkew>,
    /// Its guest's pauses, in order of time.
    pub pauses: Vec<Pause>,
}

/// What is wrong with a scenario.
#[derive(Debug)]
pub struct ScenarioError {
    /// The file.
    pub path: String,
    /// Line (1-based).
    pub line: usize,
    /// Column (1-based).
    pub column: usize,
    /// What, naming the field.
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.path, self.line, self.column, self.message
        )
    }
}

impl std::error::Error for ScenarioError {}

/// A duration written `500ms`, `30s`, `2m`, `1h`.
#[derive(Debug, Clone, Copy)]
struct Dur(Duration);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Dur, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            S(String),
            N(toml::Value),
        }
        let s = match Raw::deserialize(d)? {
            Raw::S(s) => s,
            Raw::N(toml::Value::Integer(0)) => return Ok(Dur(Duration::ZERO)),
            Raw::N(v @ (toml::Value::Integer(_) | toml::Value::Float(_))) => {
                return Err(serde::de::Error::custom(format!(
                    "a duration is a string with a unit, e.g. \"{v}ms\" or \"{v}s\", not {v}"
                )));
            }
            Raw::N(v) => {
                return Err(serde::de::Error::custom(format!(
                    "a duration is a string with a unit, e.g. \"10ms\" or \"2s\", not {v}"
                )));
            }
        };
        if s.trim() == "0s" || s.trim() == "0ms" || s.trim() == "0" {
            return Ok(Dur(Duration::ZERO));
        }
        parse_duration(&s)
            .map(Dur)
            .map_err(serde::de::Error::custom)
    }
}

/// A wall clock's offset from true time: `+30s` (ahead), `-2m` (behind);
/// without a sign, ahead. Not zero, in whole milliseconds, at most
/// [`MAX_CLOCK_OFFSET`].
#[derive(Debug, Clone, Copy)]
struct Off(Offset);

impl<'de> Deserialize<'de> for Off {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Off, D::Error> {
        let wrong = |s: &str, why: &str| {
            serde::de::Error::custom(format!(
                "`{s}` is not an offset ({why}): write how far ahead (\"+30s\") or behind \
                 (\"-2m\") of true time the host's wall clock reads"
            ))
        };
        let s = match toml::Value::deserialize(d)? {
            toml::Value::String(s) => s,
            v => return Err(wrong(&v.to_string(), "an offset is a string")),
        };
        let t = s.trim();
        let (behind, rest) = match t.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, t.strip_prefix('+').unwrap_or(t)),
        };
        let digits = || rest.chars().filter(char::is_ascii_digit);
        let zero = digits().next().is_some() && digits().all(|c| c == '0');
        let by = if zero {
            Duration::ZERO
        } else {
            parse_duration(rest).map_err(|e| wrong(&s, &e))?
        };
        if by.is_zero() {
            return Err(wrong(
                &s,
                "an offset of zero sets nothing off; remove this [[clock]] or give it one",
            ));
        }
        if by.subsec_nanos() % 1_000_000 != 0 {
            return Err(wrong(&s, "offsets are whole milliseconds"));
        }
        if by > MAX_CLOCK_OFFSET {
            return Err(wrong(&s, "more than a century, the most"));
        }
        Ok(Off(if behind {
            Offset::Behind(by)
        } else {
            Offset::Ahead(by)
        }))
    }
}

/// A link's delay: a duration in whole milliseconds, as the simulated
/// network's guests wake on tokio's timer, which ticks each millisecond
/// (a delivery due at 0.3 ms would reach its guest at 1 ms).
#[derive(Debug, Clone, Copy)]
struct LinkDur(Duration);

impl<'de> Deserialize<'de> for LinkDur {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<LinkDur, D::Error> {
        let Dur(t) = Dur::deserialize(d)?;
        if t.subsec_nanos() % 1_000_000 != 0 {
            return Err(serde::de::Error::custom(format!(
                "{t:?} is not a whole number of milliseconds: the simulator's guests wake on \
                 millisecond ticks, so a finer delay would reach them rounded up; give whole ms"
            )));
        }
        Ok(LinkDur(t))
    }
}

/// Bytes per second, written as a size (`10MiB`) or a number.
#[derive(Debug, Clone, Copy)]
struct Rate(u64);

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Rate, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(u64),
            S(String),
        }
        match Raw::deserialize(d)? {
            Raw::N(0) => Err(serde::de::Error::custom(ZERO_RATE)),
            Raw::N(n) => Ok(Rate(n)),
            Raw::S(s) => parse_rate(&s).map(Rate).map_err(serde::de::Error::custom),
        }
    }
}

const ZERO_RATE: &str =
    "a bandwidth of 0 would carry nothing: give a rate, or leave bandwidth out for no limit";

/// A rate in bytes per second from `100MiB` (bytes) or `100Mbit` (bits;
/// also `Mbps`), with an optional `/s`; `100mb` is refused as ambiguous.
fn parse_rate(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (num, unit) = number_and_rest(t.strip_suffix("/s").unwrap_or(t));
    let n: f64 = num.parse().map_err(|_| {
        format!("`{s}` is not a rate: expected a number and a unit, e.g. 10MiB or 100Mbit")
    })?;
    let per: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "bit" | "bps" => 1.0 / 8.0,
        "kbit" | "kbps" => 1e3 / 8.0,
        "mbit" | "mbps" => 1e6 / 8.0,
        "gbit" | "gbps" => 1e9 / 8.0,
        u @ ("k" | "kb" | "m" | "mb" | "g" | "gb") => {
            return Err(format!(
                "`{s}`: `{u}` could mean bytes or bits; write {num}{}iB for bytes per second or {num}{}bit for bits",
                u[..1].to_ascii_uppercase(),
                u[..1].to_ascii_uppercase()
            ));
        }
        other => {
            return Err(format!(
                "unknown rate unit `{other}` in `{s}`: use B, KiB, MiB, GiB (bytes per second) or bit, kbit, Mbit, Gbit (bits per second)"
            ));
        }
    };
    let rate = (n * per).round();
    if rate < 1.0 {
        return Err(ZERO_RATE.into());
    }
    if rate >= u64::MAX as f64 {
        return Err(format!("`{s}` is too large"));
    }
    Ok(rate as u64)
}

/// A probability between 0 and 1.
#[derive(Debug, Clone, Copy, Default)]
struct Prob(f64);

impl<'de> Deserialize<'de> for Prob {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Prob, D::Error> {
        let p = f64::deserialize(d)?;
        if (0.0..=1.0).contains(&p) {
            Ok(Prob(p))
        } else {
            Err(serde::de::Error::custom(format!(
                "{p} is not a probability: expected a number from 0 to 1"
            )))
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawLink {
    latency: Option<LinkDur>,
    jitter: Option<LinkDur>,
    bandwidth: Option<Rate>,
    loss: Option<Prob>,
    duplicate: Option<Prob>,
    reorder: Option<Prob>,
}

impl RawLink {
    fn over(&self, base: &LinkConfig) -> LinkConfig {
        LinkConfig {
            latency: self.latency.map_or(base.latency, |d| d.0),
            jitter: self.jitter.map_or(base.jitter, |d| d.0),
            bandwidth: self.bandwidth.map(|r| r.0).or(base.bandwidth),
            loss: self.loss.map_or(base.loss, |p| p.0),
            duplicate: self.duplicate.map_or(base.duplicate, |p| p.0),
            reorder: self.reorder.map_or(base.reorder, |p| p.0),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawPairLink {
    a: Spanned<String>,
    b: Spanned<String>,
    latency: Option<LinkDur>,
    jitter: Option<LinkDur>,
    bandwidth: Option<Rate>,
    loss: Option<Prob>,
    duplicate: Option<Prob>,
    reorder: Option<Prob>,
}

impl RawPairLink {
    fn link(&self) -> RawLink {
        RawLink {
            latency: self.latency,
            jitter: self.jitter,
            bandwidth: self.bandwidth,
            loss: self.loss,
            duplicate: self.duplicate,
            reorder: self.reorder,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawPartition {
    a: Vec<Spanned<String>>,
    b: Vec<Spanned<String>>,
    start: Dur,
    heal: Option<Spanned<Dur>>,
    #[serde(default)]
    one_way: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawCrash {
    host: Spanned<String>,
    at: Spanned<Dur>,
    restart: Option<Spanned<Dur>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawPause {
    host: Spanned<String>,
    at: Spanned<Dur>,
    resume: Option<Spanned<Dur>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawClock {
    host: Spanned<String>,
    at: Spanned<Dur>,
    offset: Spanned<Off>,
    restore: Option<Spanned<Dur>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawNemesis {
    faults: Spanned<Vec<Spanned<String>>>,
    #[serde(default)]
    hosts: Vec<Spanned<String>>,
    start: Option<Spanned<Dur>>,
    stop: Option<Spanned<Dur>>,
    every: Option<Spanned<Dur>>,
    lasting: Option<Spanned<Dur>>,
    skew: Option<Spanned<Dur>>,
}

/// One `[nemesis]` table, or several `[[nemesis]]` tables, each drawing
/// from a random stream of its own.
#[derive(Default)]
struct Nemeses(Vec<RawNemesis>);

impl<'de> Deserialize<'de> for Nemeses {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Nemeses, D::Error> {
        struct OneOrMany;
        impl<'de> serde::de::Visitor<'de> for OneOrMany {
            type Value = Nemeses;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a [nemesis] table, or [[nemesis]] tables")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Nemeses, A::Error> {
                let one =
                    RawNemesis::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                Ok(Nemeses(vec![one]))
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Nemeses, A::Error> {
                let mut all = Vec::new();
                while let Some(n) = seq.next_element()? {
                    all.push(n);
                }
                Ok(Nemeses(all))
            }
        }
        d.deserialize_any(OneOrMany)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawHost {
    name: Spanned<String>,
    #[serde(default, deserialize_with = "addresses")]
    addrs: Vec<IpAddr>,
    component: Option<String>,
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    allow: Vec<Spanned<String>>,
    #[serde(default)]
    deny: Vec<Spanned<String>>,
    start: Option<Dur>,
    #[serde(default)]
    daemon: bool,
    count: Option<u32>,
    timeout: Option<Dur>,
    fuel: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawScenario {
    #[serde(default)]
    seed: u64,
    until: Option<Dur>,
    #[serde(default)]
    default_link: RawLink,
    #[serde(default)]
    link: Vec<RawPairLink>,
    #[serde(default)]
    host: Vec<RawHost>,
    #[serde(default)]
    partition: Vec<RawPartition>,
    #[serde(default)]
    crash: Vec<RawCrash>,
    #[serde(default)]
    clock: Vec<RawClock>,
    #[serde(default)]
    pause: Vec<RawPause>,
    #[serde(default)]
    nemesis: Nemeses,
    #[serde(default, deserialize_with = "names_to_addresses")]
    names: BTreeMap<String, Vec<IpAddr>>,
}

fn position(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// An address as a scenario writes it, or why it is not one, naming it.
fn address(s: &str) -> Result<IpAddr, String> {
    let t = s.trim();
    t.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .map_err(|_| {
            let hint = if t.contains('/') {
                "; a host's address has no prefix length"
            } else if t.parse::<std::net::SocketAddr>().is_ok() {
                "; an address here has no port"
            } else if t.chars().any(|c| c.is_ascii_alphabetic()) && !t.contains(':') {
                "; give addresses here, not host names (a host's own name resolves already)"
            } else {
                ""
            };
            format!("`{s}` is not an IP address{hint}")
        })
}

fn addresses<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<IpAddr>, D::Error> {
    Vec::<String>::deserialize(d)?
        .iter()
        .map(|s| address(s).map_err(serde::de::Error::custom))
        .collect()
}

fn names_to_addresses<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, Vec<IpAddr>>, D::Error> {
    BTreeMap::<String, Vec<String>>::deserialize(d)?
        .into_iter()
        .map(|(name, addrs)| {
            let addrs = addrs
                .iter()
                .map(|s| {
                    address(s)
                        .map_err(|e| serde::de::Error::custom(format!("[names] {name:?}: {e}")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok((name, addrs))
        })
        .collect()
}

/// The `i`th address counting up from `base` (for hosts with a count).
fn nth_addr(base: IpAddr, i: u32) -> Option<IpAddr> {
    match base {
        IpAddr::V4(a) => u32::from(a).checked_add(i).map(|n| IpAddr::V4(n.into())),
        IpAddr::V6(a) => u128::from(a)
            .checked_add(u128::from(i))
            .map(|n| IpAddr::V6(n.into())),
    }
}

/// Why `a` cannot be a simulated host's address, if it cannot: every host
/// has loopback already, and the unspecified, multicast and broadcast
/// addresses name no one host.
fn not_a_host_address(a: IpAddr) -> Option<String> {
    let a = crate::policy::canonical_ip(a);
    let why = if a.is_loopback() {
        "is loopback, which every host has already"
    } else if a.is_unspecified() {
        "is the unspecified address, which names no host"
    } else if a.is_multicast() {
        "is a multicast group, which hosts join rather than own"
    } else if a == IpAddr::V4(std::net::Ipv4Addr::BROADCAST) {
        "is the broadcast address"
    } else {
        return None;
    };
    Some(format!(
        "{a} {why}; give an address of its own, such as 10.0.0.1 or fd00::1"
    ))
}

/// What is wrong with `h`, a host without a component, if anything: it
/// must have addresses (a peer others reach: it answers as a machine
/// with no program listening does), and none of the settings that only a
/// component's run reads.
fn runs_nothing(h: &RawHost) -> Result<(), String> {
    let name = h.name.get_ref();
    if h.addrs.is_empty() {
        return Err(format!(
            "host {name:?} has neither addrs nor a component, so nothing could reach it and it runs nothing; give it addrs = [\"10.0.0.1\"] (a peer others reach) or component = \"NAME\" (a program to run)"
        ));
    }
    let for_a_component = [
        ("args", !h.args.is_empty()),
        ("env", !h.env.is_empty()),
        ("allow", !h.allow.is_empty()),
        ("deny", !h.deny.is_empty()),
        ("start", h.start.is_some()),
        ("daemon", h.daemon),
        ("timeout", h.timeout.is_some()),
        ("fuel", h.fuel.is_some()),
    ];
    match for_a_component.iter().find(|(_, set)| *set) {
        Some((field, _)) => Err(format!(
            "host {name:?}, {field}: applies to the host's component, and the host runs none; add component = \"NAME\" or remove {field}"
        )),
        None => Ok(()),
    }
}

/// Where a component named in a scenario is: a bare name (`udp-echo`) is
/// `GUEST_DIR/NAME.wasm`; anything with a `/` or ending in `.wasm` is a
/// path relative to the scenario's folder.
pub fn component_path(name: &str, scenario_dir: &Path, guest_dir: &Path) -> PathBuf {
    if name.contains('/') || name.ends_with(".wasm") {
        scenario_dir.join(name)
    } else {
        guest_dir.join(format!("{name}.wasm"))
    }
}

/// Parse a scenario. `resolve` turns a component name into a path.
pub fn parse_scenario(
    path: &str,
    text: &str,
    resolve: impl Fn(&str) -> PathBuf,
) -> Result<Scenario, ScenarioError> {
    let err = |offset: usize, message: String| {
        let (line, column) = position(text, offset);
        ScenarioError {
            path: path.to_string(),
            line,
            column,
            message,
        }
    };
    let raw: RawScenario = toml::from_str(text).map_err(|e| {
        err(
            e.span().map_or(0, |s| s.start),
            e.message().trim_end().to_string(),
        )
    })?;
    if raw.host.is_empty() {
        return Err(err(
            0,
            "no [[host]] is declared: a scenario needs at least one host, with a component to run"
                .to_string(),
        ));
    }
    let default_link = raw.default_link.over(&LinkConfig::default());
    let mut hosts = Vec::new();
    let mut seen = BTreeMap::new();
    // Hosts declared with a count, by the name their copies share.
    let mut counted: BTreeMap<String, u32> = BTreeMap::new();
    // Which host has each address: one address, one host.
    let mut owners: BTreeMap<IpAddr, String> = BTreeMap::new();
    for h in raw.host {
        let mut policy = Policy::deny_all();
        let rules = h
            .allow
            .iter()
            .map(|r| (Effect::Allow, r))
            .chain(h.deny.iter().map(|r| (Effect::Deny, r)));
        for (effect, spanned) in rules {
            let start = spanned.span().start + 1;
            let (line, column) = position(text, start);
            let rule = Rule::parse(effect, spanned.get_ref()).map_err(|e| ScenarioError {
                path: path.to_string(),
                line,
                // The rule's error column counts characters, as ours does.
                column: column + e.column - 1,
                message: format!("host {:?}, {}: {e}", h.name.get_ref(), effect_field(effect)),
            })?;
            policy.push(rule.with_source(RuleSource::File {
                path: path.to_string(),
                line,
                column,
            }));
        }
        policy.set_set_by(SetBy::Scenario {
            host: h.name.get_ref().clone(),
            path: path.to_string(),
        });
        let policy = Arc::new(policy);
        if h.name.get_ref().trim().is_empty() {
            return Err(err(
                h.name.span().start,
                "name: a host needs a name (the transcript and links use it)".to_string(),
            ));
        }
        if let Some(why) = h.addrs.iter().find_map(|a| not_a_host_address(*a)) {
            return Err(err(
                h.name.span().start,
                format!("host {:?}, addrs: {why}", h.name.get_ref()),
            ));
        }
        if let (Some(start), Some(until)) = (h.start, raw.until)
            && start.0 >= until.0
        {
            return Err(err(
                h.name.span().start,
                format!(
                    "host {:?}, start: {:?} is not before the scenario's until ({:?}), so its guest would never start",
                    h.name.get_ref(),
                    start.0,
                    until.0
                ),
            ));
        }
        let count = h.count.unwrap_or(1);
        if count == 0 {
            return Err(err(
                h.name.span().start,
                format!("host {:?}, count: must be at least 1", h.name.get_ref()),
            ));
        }
        if h.component.is_none() {
            runs_nothing(&h).map_err(|m| err(h.name.span().start, m))?;
        }
        if h.count.is_some() {
            counted.insert(h.name.get_ref().clone(), count);
        }
        for i in 0..count {
            let name = if h.count.is_some() {
                format!("{}-{}", h.name.get_ref(), i + 1)
            } else {
                h.name.get_ref().clone()
            };
            if seen.insert(name.clone(), ()).is_some() {
                return Err(err(
                    h.name.span().start,
                    format!("name: a host named {name:?} is already declared"),
                ));
            }
            let addrs = h
                .addrs
                .iter()
                .map(|a| nth_addr(*a, i))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                    err(h.name.span().start, format!("host {name:?}, addrs: counting up {count} addresses runs past the last one"))
                })?;
            for a in &addrs {
                if let Some(owner) = owners.insert(*a, name.clone()) {
                    let whose = if owner == name {
                        "listed twice".to_string()
                    } else {
                        format!("already host {owner:?}'s")
                    };
                    return Err(err(
                        h.name.span().start,
                        format!("host {name:?}, addrs: {a} is {whose}"),
                    ));
                }
            }
            let n = (i + 1).to_string();
            hosts.push(HostPlan {
                addrs,
                component: h.component.as_deref().map(&resolve),
                component_name: h.component.clone(),
                args: h.args.iter().map(|a| a.replace("{i}", &n)).collect(),
                env: h
                    .env
                    .iter()
                    .map(|(k, v)| (k.clone(), v.replace("{i}", &n)))
                    .collect(),
                policy: policy.clone(),
                start: h.start.map_or(Duration::ZERO, |d| d.0),
                daemon: h.daemon,
                timeout: h.timeout.map(|d| d.0),
                fuel: h.fuel,
                crashes: Vec::new(),
                skews: Vec::new(),
                pauses: Vec::new(),
                name,
            });
        }
    }
    let known = |s: &Spanned<String>, field: &str| {
        if seen.contains_key(s.get_ref()) {
            Ok(s.get_ref().clone())
        } else {
            let hint = match counted.get(s.get_ref()) {
                Some(n) => format!(
                    "; {:?} has count = {n}: its hosts are {0}-1 to {0}-{n}",
                    s.get_ref()
                ),
                None => String::new(),
            };
            Err(err(
                s.span().start,
                format!("{field}: no host named {:?} is declared{hint}", s.get_ref()),
            ))
        }
    };
    let mut links = Vec::new();
    // Each pair's first [[link]], by its hosts in order, and where it is.
    let mut pairs: BTreeMap<(String, String), usize> = BTreeMap::new();
    for l in raw.link {
        let a = known(&l.a, "link.a")?;
        let b = known(&l.b, "link.b")?;
        if a == b {
            return Err(err(
                l.b.span().start,
                format!("link: a and b are both {a:?}; a link joins two hosts"),
            ));
        }
        let pair = if a < b {
            (a.clone(), b.clone())
        } else {
            (b.clone(), a.clone())
        };
        if let Some(first) = pairs.insert(pair, l.a.span().start) {
            return Err(err(
                l.a.span().start,
                format!(
                    "link: {a:?} and {b:?} already have a [[link]] (line {}); a link's settings \
                     hold both ways, so give each pair one",
                    position(text, first).0
                ),
            ));
        }
        links.push((a, b, l.link().over(&default_link)));
    }
    let mut partitions = Vec::new();
    for p in raw.partition {
        let a =
            p.a.iter()
                .map(|s| known(s, "partition.a"))
                .collect::<Result<_, _>>()?;
        let b =
            p.b.iter()
                .map(|s| known(s, "partition.b"))
                .collect::<Result<_, _>>()?;
        if p.a.is_empty() || p.b.is_empty() {
            return Err(err(
                p.a.first().or(p.b.first()).map_or(0, |s| s.span().start),
                "partition: a and b must each name at least one host (the two sides of the cut)"
                    .to_string(),
            ));
        }
        if let Some(both) =
            p.a.iter()
                .find(|h| p.b.iter().any(|o| o.get_ref() == h.get_ref()))
        {
            return Err(err(
                both.span().start,
                format!(
                    "partition: host {:?} is on both sides (a and b are the two sides of the cut)",
                    both.get_ref()
                ),
            ));
        }
        if let Some(heal) = &p.heal
            && heal.get_ref().0 <= p.start.0
        {
            return Err(err(
                heal.span().start,
                format!(
                    "partition.heal ({:?}) must come after its start ({:?})",
                    heal.get_ref().0,
                    p.start.0
                ),
            ));
        }
        partitions.push(Partition {
            a,
            b,
            start: p.start.0,
            heal: p.heal.map(|d| d.into_inner().0),
            one_way: p.one_way,
        });
    }
    // [[crash]], [[clock]] and [[pause]]: each strikes one host that runs
    // a guest, from `at` until an end (restart, restore, resume) after it.
    let struck = |hosts: &mut Vec<HostPlan>,
                  table: &str,
                  host: &Spanned<String>,
                  at: &Spanned<Dur>,
                  end: Option<(&str, &Spanned<Dur>)>|
     -> Result<Option<usize>, ScenarioError> {
        let name = known(host, &format!("{table}.host"))?;
        let Some(i) = hosts.iter().position(|h| h.name == name) else {
            return Ok(None);
        };
        if hosts[i].component.is_none() {
            return Err(err(
                host.span().start,
                format!(
                    "{table}: host {name:?} runs no component, so {}",
                    match table {
                        "clock" => "nothing reads its clock",
                        "pause" => "there is nothing to stop",
                        _ => "there is nothing to crash",
                    }
                ),
            ));
        }
        if let Some((field, e)) = end
            && e.get_ref().0 <= at.get_ref().0
        {
            return Err(err(
                e.span().start,
                format!(
                    "{table}.{field} ({:?}) must come after its at ({:?})",
                    e.get_ref().0,
                    at.get_ref().0
                ),
            ));
        }
        Ok(Some(i))
    };
    let schedule_error = |at: &Spanned<Dur>, table: &str, host: &HostPlan, why: String| {
        err(
            at.span().start,
            format!("{table} of host {:?}: {why}", host.name),
        )
    };
    for c in raw.crash {
        let restart = c.restart.as_ref().map(|r| ("restart", r));
        let Some(i) = struck(&mut hosts, "crash", &c.host, &c.at, restart)? else {
            continue;
        };
        let host = &mut hosts[i];
        host.crashes.push(Crash {
            at: c.at.get_ref().0,
            restart: c.restart.as_ref().map(|r| r.get_ref().0),
        });
        host.crashes.sort_by_key(|c| c.at);
        if let Err(why) = Crash::check_schedule(host.start, &host.crashes) {
            return Err(schedule_error(&c.at, "crash", host, why));
        }
    }
    for c in raw.clock {
        let restore = c.restore.as_ref().map(|r| ("restore", r));
        let Some(i) = struck(&mut hosts, "clock", &c.host, &c.at, restore)? else {
            continue;
        };
        let host = &mut hosts[i];
        host.skews.push(ClockSkew {
            at: c.at.get_ref().0,
            offset: c.offset.get_ref().0,
            restore: c.restore.as_ref().map(|r| r.get_ref().0),
        });
        host.skews.sort_by_key(|s| s.at);
        if let Err(why) = ClockSkew::check_schedule(&host.skews) {
            return Err(schedule_error(&c.at, "clock", host, why));
        }
    }
    for p in raw.pause {
        let resume = p.resume.as_ref().map(|r| ("resume", r));
        let Some(i) = struck(&mut hosts, "pause", &p.host, &p.at, resume)? else {
            continue;
        };
        let host = &mut hosts[i];
        host.pauses.push(Pause {
            at: p.at.get_ref().0,
            resume: p.resume.as_ref().map(|r| r.get_ref().0),
        });
        host.pauses.sort_by_key(|p| p.at);
        let checked = Pause::check_schedule(host.start, &host.pauses)
            .and_then(|()| Pause::check_against_crashes(&host.pauses, &host.crashes));
        if let Err(why) = checked {
            return Err(schedule_error(&p.at, "pause", host, why));
        }
    }
    let mut nemeses = Vec::new();
    let many = raw.nemesis.0.len() > 1;
    for (nth, n) in raw.nemesis.0.into_iter().enumerate() {
        // Errors name the table, and which one when there are several.
        let table = if many {
            format!("[[nemesis]] {}", nth + 1)
        } else {
            "[nemesis]".to_string()
        };
        let at_table = n.faults.span().start;
        {
            let mut faults = Vec::new();
            for f in n.faults.get_ref() {
                let Some(kind) = Fault::from_name(f.get_ref()) else {
                    return Err(err(
                        f.span().start,
                        format!(
                            "nemesis.faults: no fault is called {:?}; the kinds are \
                             \"partition\", \"isolate\", \"one-way\", \"crash\", \"clock\" and \"pause\"",
                            f.get_ref()
                        ),
                    ));
                };
                faults.push(kind);
            }
            // A counted host's name stands for all its hosts.
            let mut struck = Vec::new();
            for h in &n.hosts {
                match counted.get(h.get_ref()) {
                    Some(count) if !seen.contains_key(h.get_ref()) => {
                        struck.extend((1..=*count).map(|i| format!("{}-{i}", h.get_ref())));
                    }
                    _ => struck.push(known(h, "nemesis.hosts")?),
                }
            }
            if let Some(skew) = &n.skew
                && !faults.contains(&Fault::Clock)
            {
                return Err(err(
                    skew.span().start,
                    format!(
                        "{table}: skew is the largest offset of a clock fault, and faults \
                         does not name \"clock\"; add \"clock\" to faults, or remove skew"
                    ),
                ));
            }
            let nemesis = Nemesis {
                faults,
                hosts: struck,
                start: n.start.as_ref().map_or(Duration::ZERO, |d| d.get_ref().0),
                stop: n.stop.as_ref().map(|d| d.get_ref().0),
                every: n
                    .every
                    .as_ref()
                    .map_or(Nemesis::default().every, |d| d.get_ref().0),
                lasting: n
                    .lasting
                    .as_ref()
                    .map_or(Nemesis::default().lasting, |d| d.get_ref().0),
                skew: n
                    .skew
                    .as_ref()
                    .map_or(Nemesis::default().skew, |d| d.get_ref().0),
            };
            let targets: Vec<crate::runtime::sim::nemesis::Target<'_>> = hosts
                .iter()
                .map(|h| crate::runtime::sim::nemesis::Target {
                    name: &h.name,
                    guest: h
                        .component
                        .as_ref()
                        .map(|_| crate::runtime::sim::nemesis::Schedule {
                            pauses: &h.pauses,
                            start: h.start,
                            crashes: &h.crashes,
                            skews: &h.skews,
                        }),
                })
                .collect();
            let until = raw.until.map_or(DEFAULT_UNTIL, |d| d.0);
            if let Err(r) = nemesis.check(&targets, until) {
                let span = |d: &Option<Spanned<Dur>>| d.as_ref().map(|d| d.span().start);
                let at = match r.field {
                    "faults" => Some(n.faults.span().start),
                    "hosts" => n.hosts.first().map(|h| h.span().start),
                    "start" => span(&n.start),
                    "stop" => span(&n.stop),
                    "every" => span(&n.every),
                    "lasting" => span(&n.lasting),
                    "skew" => span(&n.skew),
                    _ => None,
                };
                return Err(err(at.unwrap_or(at_table), format!("{table}: {}", r.why)));
            }
            nemeses.push(nemesis);
        }
    }
    if !hosts.iter().any(|h| h.component.is_some()) {
        return Err(err(
            0,
            "no host has a component: a scenario runs the hosts' components; give one \
             component = \"NAME\""
                .to_string(),
        ));
    }
    if hosts
        .iter()
        .filter(|h| h.component.is_some())
        .all(|h| h.daemon)
    {
        return Err(err(
            0,
            "every host's guest is a daemon, and a run ends when the guests that are not \
             daemons have: it would end before any started; make the guest whose end ends \
             the run not a daemon (daemon = false)"
                .to_string(),
        ));
    }
    if let Some(name) = raw
        .names
        .keys()
        .find(|n| seen.keys().any(|h| h.eq_ignore_ascii_case(n)))
    {
        // Where the key is written (quoted or bare), after the [names] header.
        let section = text.find("[names]").unwrap_or(0);
        let at = text[section..]
            .find(name.as_str())
            .map_or(section, |i| section + i);
        return Err(err(
            at,
            format!(
                "[names]: {name:?} is a host's name, which resolves to that host's addresses \
                 already; a [names] entry would hide them (give the entry another name)"
            ),
        ));
    }
    Ok(Scenario {
        seed: raw.seed,
        until: raw.until.map_or(DEFAULT_UNTIL, |d| d.0),
        default_link,
        hosts,
        links,
        partitions,
        nemeses,
        names: raw.names.into_iter().collect(),
    })
}

fn effect_field(effect: Effect) -> &'static str {
    match effect {
        Effect::Allow => "allow",
        Effect::Deny => "deny",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Scenario, ScenarioError> {
        parse_scenario("s.toml", text, |n| PathBuf::from(n))
    }

    #[test]
    fn a_scenario_expands_counted_hosts_and_reads_links() {
        let s = parse(
            r#"
seed = 9
until = "90s"
[default-link]
latency = "20ms"
loss = 0.2
[[host]]
name = "c"
count = 3
addrs = ["10.0.0.10"]
component = "ping"
args = ["{i}"]
allow = ["udp-send=10.0.0.1:7"]
[[host]]
name = "s"
addrs = ["10.0.0.1"]
[[link]]
a = "c-2"
b = "s"
loss = 0.5
[[partition]]
a = ["c-1"]
b = ["s"]
start = "1s"
heal = "3s"
[[partition]]
a = ["s"]
b = ["c-2", "c-3"]
one-way = true
start = "2s"
"#,
        )
        .unwrap();
        assert_eq!(s.seed, 9);
        assert_eq!(s.until, Duration::from_secs(90));
        let names: Vec<_> = s.hosts.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(names, ["c-1", "c-2", "c-3", "s"]);
        assert_eq!(s.hosts[2].addrs, ["10.0.0.12".parse::<IpAddr>().unwrap()]);
        assert_eq!(s.hosts[1].args, ["2"]);
        assert_eq!(s.links[0].2.loss, 0.5);
        assert_eq!(s.links[0].2.latency, Duration::from_millis(20));
        assert_eq!(s.partitions[0].heal, Some(Duration::from_secs(3)));
        assert!(!s.partitions[0].one_way);
        assert!(s.partitions[1].one_way);
        assert_eq!(s.partitions[1].b, ["c-2", "c-3"]);
    }

    /// Host "a" runs a guest, host "quiet" none; the next line is line 9.
    const A_GUEST_AND_A_SILENT_HOST: &str = r#"
[[host]]
name = "a"
addrs = ["10.0.0.1"]
component = "node"
[[host]]
name = "quiet"
addrs = ["10.0.0.2"]
"#;

    #[test]
    fn clocks_are_set_off_per_host_in_order_and_bad_skews_name_their_line() {
        let hosts = A_GUEST_AND_A_SILENT_HOST;
        let s = parse(&format!(
            "{hosts}[[clock]]\nhost = \"a\"\nat = \"20s\"\noffset = \"-2m\"\n\
             [[clock]]\nhost = \"a\"\nat = \"5s\"\noffset = \"+1.5s\"\nrestore = \"10s\"\n\
             [nemesis]\nfaults = [\"clock\"]\nskew = \"3s\"\n"
        ))
        .unwrap();
        let a = &s.hosts[0];
        let sec = Duration::from_secs;
        assert_eq!(
            a.skews,
            [
                ClockSkew {
                    at: sec(5),
                    offset: Offset::Ahead(Duration::from_millis(1500)),
                    restore: Some(sec(10)),
                },
                ClockSkew {
                    at: sec(20),
                    offset: Offset::Behind(sec(120)),
                    restore: None,
                },
            ]
        );
        let n = s.nemeses.into_iter().next().unwrap();
        assert_eq!((n.faults.as_slice(), n.skew), (&[Fault::Clock][..], sec(3)));
        // Without a sign, ahead.
        let s = parse(&format!(
            "{hosts}[[clock]]\nhost = \"a\"\nat = \"1s\"\noffset = \"250ms\"\n"
        ))
        .unwrap();
        assert_eq!(
            s.hosts[0].skews[0].offset,
            Offset::Ahead(Duration::from_millis(250))
        );
        // Errors name the line of what is wrong: the offset, the restore,
        // the second of two skews that overlap, a host with no guest, and
        // a nemesis's skew.
        let bad = |clocks: &str, line: usize, says: &str| {
            let e = parse(&format!("{hosts}{clocks}")).unwrap_err();
            assert_eq!(e.line, line, "{e}");
            assert!(e.message.contains(says), "{e}");
        };
        bad(
            "[[clock]]\nhost = \"a\"\nat = \"1s\"\noffset = \"soon\"\n",
            12,
            "`soon` is not an offset",
        );
        bad(
            "[[clock]]\nhost = \"a\"\nat = \"1s\"\noffset = 30\n",
            12,
            "an offset is a string",
        );
        bad(
            "[[clock]]\nhost = \"a\"\nat = \"3s\"\noffset = \"1s\"\nrestore = \"2s\"\n",
            13,
            "clock.restore (2s) must come after its at (3s)",
        );
        bad(
            "[[clock]]\nhost = \"a\"\nat = \"1s\"\noffset = \"1s\"\nrestore = \"9s\"\n\
             [[clock]]\nhost = \"a\"\nat = \"5s\"\noffset = \"-1s\"\n",
            16,
            "skews of one host may not overlap",
        );
        bad(
            "[[clock]]\nhost = \"quiet\"\nat = \"1s\"\noffset = \"1s\"\n",
            10,
            "host \"quiet\" runs no component, so nothing reads its clock",
        );
        bad(
            "[nemesis]\nfaults = [\"clock\"]\nskew = \"0s\"\n",
            11,
            "[nemesis]: skew (0ns) must be 1 ms at least",
        );
        bad(
            "[nemesis]\nfaults = [\"crash\"]\nskew = \"1s\"\n",
            11,
            "faults does not name \"clock\"",
        );
        for (offset, says) in [
            ("\"-0s\"", "an offset of zero sets nothing off"),
            ("\"+1500us\"", "whole milliseconds"),
            ("\"1000000h\"", "more than a century"),
        ] {
            bad(
                &format!("[[clock]]\nhost = \"a\"\nat = \"1s\"\noffset = {offset}\n"),
                12,
                says,
            );
        }
    }

    #[test]
    fn pauses_are_read_per_host_and_bad_ones_name_their_line() {
        let hosts = A_GUEST_AND_A_SILENT_HOST;
        let s = parse(&format!(
            "{hosts}[[pause]]\nhost = \"a\"\nat = \"9s\"\n\
             [[pause]]\nhost = \"a\"\nat = \"1s\"\nresume = \"2500ms\"\n\
             [nemesis]\nfaults = [\"pause\"]\n"
        ))
        .unwrap();
        let sec = Duration::from_secs;
        assert_eq!(
            s.hosts[0].pauses,
            [
                Pause {
                    at: sec(1),
                    resume: Some(Duration::from_millis(2500)),
                },
                Pause {
                    at: sec(9),
                    resume: None,
                },
            ]
        );
        assert_eq!(s.nemeses[0].faults, [Fault::Pause]);
        let bad = |pauses: &str, line: usize, says: &str| {
            let e = parse(&format!("{hosts}{pauses}")).unwrap_err();
            assert_eq!(e.line, line, "{e}");
            assert!(e.message.contains(says), "{e}");
        };
        bad(
            "[[pause]]\nhost = \"a\"\nat = \"3s\"\nresume = \"2s\"\n",
            12,
            "pause.resume (2s) must come after its at (3s)",
        );
        bad(
            "[[pause]]\nhost = \"a\"\nat = \"1s\"\nresume = \"5s\"\n\
             [[pause]]\nhost = \"a\"\nat = \"4s\"\n",
            15,
            "pauses of one host may not overlap",
        );
        bad(
            "[[pause]]\nhost = \"quiet\"\nat = \"1s\"\n",
            10,
            "host \"quiet\" runs no component, so there is nothing to stop",
        );
        // Not while its host is down; from its restart on, or before, yes.
        let crash = "[[crash]]\nhost = \"a\"\nat = \"2s\"\nrestart = \"4s\"\n";
        bad(
            &format!("{crash}[[pause]]\nhost = \"a\"\nat = \"3s\"\n"),
            15,
            "a pause at 3s comes while the host is down (crashed at 2s, back at 4s)",
        );
        bad(
            &format!("{crash}[[pause]]\nhost = \"a\"\nat = \"2s\"\n"),
            15,
            "comes while the host is down",
        );
        for fine in ["1s", "4s"] {
            let pause = format!("[[pause]]\nhost = \"a\"\nat = \"{fine}\"\nresume = \"9s\"\n");
            parse(&format!("{hosts}{crash}{pause}")).unwrap();
        }
    }

    #[test]
    fn a_nemesis_names_its_faults_and_hosts_and_a_group_stands_for_its_members() {
        let hosts = r#"
[[host]]
name = "db"
count = 3
addrs = ["10.0.0.1"]
component = "node"
[[host]]
name = "client"
addrs = ["10.0.0.9"]
component = "client"
"#;
        let s = parse(&format!(
            "{hosts}[nemesis]\nfaults = [\"partition\", \"crash\", \"crash\"]\nhosts = [\"db\"]\n\
             start = \"2s\"\nstop = \"1m\"\nevery = \"3s\"\nlasting = \"500ms\"\n"
        ))
        .unwrap();
        let n = s.nemeses.into_iter().next().unwrap();
        assert_eq!(n.faults, [Fault::Partition, Fault::Crash, Fault::Crash]);
        assert_eq!(n.hosts, ["db-1", "db-2", "db-3"]);
        assert_eq!(
            (n.start, n.stop, n.every, n.lasting),
            (
                Duration::from_secs(2),
                Some(Duration::from_secs(60)),
                Duration::from_secs(3),
                Duration::from_millis(500)
            )
        );
        // Several nemeses, each a [[nemesis]] table; errors say which.
        let s = parse(&format!(
            "{hosts}[[nemesis]]\nfaults = [\"partition\"]\n[[nemesis]]\nfaults = [\"clock\"]\n\
             skew = \"2s\"\n"
        ))
        .unwrap();
        let kinds: Vec<_> = s.nemeses.iter().map(|n| n.faults.clone()).collect();
        assert_eq!(kinds, [[Fault::Partition], [Fault::Clock]]);
        let e = parse(&format!(
            "{hosts}[[nemesis]]\nfaults = [\"partition\"]\n[[nemesis]]\nfaults = [\"crash\"]\n\
             every = \"0s\"\n"
        ))
        .unwrap_err();
        assert_eq!(e.line, 15, "{e}");
        assert!(e.message.starts_with("[[nemesis]] 2: every (0ns)"), "{e}");
        // Unset: every host, the defaults' rhythm.
        let s = parse(&format!("{hosts}[nemesis]\nfaults = [\"isolate\"]\n")).unwrap();
        let n = s.nemeses.into_iter().next().unwrap();
        assert!(n.hosts.is_empty());
        assert_eq!(n.every, Nemesis::default().every);
        // Errors point at the fault, the host or the table.
        let e = parse(&format!(
            "{hosts}[nemesis]\nfaults = [\"crash\", \"split\"]\n"
        ))
        .unwrap_err();
        assert_eq!(e.line, 12, "{e}");
        assert!(e.message.contains("no fault is called \"split\""), "{e}");
        let e = parse(&format!(
            "{hosts}[nemesis]\nfaults = [\"crash\"]\nhosts = [\"dbx\"]\n"
        ))
        .unwrap_err();
        assert_eq!(e.line, 13, "{e}");
        assert!(
            e.message.contains("nemesis.hosts: no host named \"dbx\""),
            "{e}"
        );
        let e = parse(&format!(
            "{hosts}[nemesis]\nfaults = [\"one-way\"]\nhosts = [\"client\"]\n"
        ))
        .unwrap_err();
        assert!(
            e.message
                .contains("[nemesis]: a partition, isolate or one-way fault needs two hosts"),
            "{e}"
        );
        assert_eq!(e.line, 13, "{e}");
        let e = parse(&format!("{hosts}[nemesis]\nfaults = []\n")).unwrap_err();
        assert_eq!(e.line, 12, "{e}");
        assert!(e.message.contains("no faults to draw from"), "{e}");
        let e = parse(&format!(
            "{hosts}[nemesis]\nfaults = [\"crash\"]\nevery = \"0s\"\n"
        ))
        .unwrap_err();
        assert_eq!(e.line, 13, "{e}");
        assert!(
            e.message.contains("every (0ns) must be 1 ms at least"),
            "{e}"
        );
        let e = parse(&format!(
            "{hosts}[nemesis]\nfaults = [\"crash\"]\nstart = \"2s\"\nstop = \"1s\"\n"
        ))
        .unwrap_err();
        assert_eq!(e.line, 14, "{e}");
        assert!(
            e.message
                .contains("its start (2s) is not before its stop (1s)"),
            "{e}"
        );
        let e = parse(&format!(
            "until = \"2h\"\n{hosts}[nemesis]\nfaults = [\"crash\"]\nevery = \"1ms\"\nlasting = \"1ms\"\n"
        ))
        .unwrap_err();
        assert!(e.message.contains("could draw up to 3600000 faults"), "{e}");
        assert_eq!(e.line, 14, "{e}");
    }

    #[test]
    fn errors_name_the_line_and_the_field() {
        let e = parse("seed = 1\n[[host]]\nname = \"a\"\nallow = [\"tcp-bnd=*\"]\n").unwrap_err();
        assert_eq!(e.line, 4, "{e}");
        assert!(e.message.contains("allow"), "{e}");
        let e = parse("[default-link]\nloss = 1.5\n").unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        assert!(e.message.contains("probability"), "{e}");
        let e = parse("[default-link]\nlatency = \"10 parsecs\"\n").unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        // A character of two bytes before the error's column.
        let e = parse("[[host]]\nname = \"a\"\nallow = [\"café\"]\n").unwrap_err();
        assert_eq!(e.line, 3, "{e}");
        let e = parse("[[host]]\nname = \"a\"\nadrs = []\n").unwrap_err();
        assert_eq!(e.line, 3, "{e}");
        assert!(e.message.contains("adrs"), "{e}");
        let e = parse(
            "[[host]]\nname = \"a\"\naddrs = [\"10.0.0.1\"]\n[[partition]]\na = [\"a\"]\nb = [\"zz\"]\nstart = \"1s\"\n",
        )
        .unwrap_err();
        assert_eq!(e.line, 6, "{e}");
        assert!(e.message.contains("partition.b"), "{e}");
        let e = parse(
            "[[host]]\nname = \"a\"\naddrs = [\"10.0.0.1\"]\n[[host]]\nname = \"b\"\naddrs = [\"10.0.0.2\"]\n[[partition]]\na = [\"a\"]\nb = [\"b\"]\nstart = \"50ms\"\nheal = \"10ms\"\n",
        )
        .unwrap_err();
        assert_eq!(e.line, 11, "{e}");
        assert!(
            e.message
                .contains("partition.heal (10ms) must come after its start (50ms)"),
            "{e}"
        );
        let e = parse(
            "[[host]]\nname = \"echo\"\naddrs = [\"10.0.0.2\"]\n\
             [[host]]\nname = \"c\"\ncount = 3\naddrs = [\"10.0.0.1\"]\n",
        )
        .unwrap_err();
        assert_eq!(e.line, 5, "{e}");
        assert!(
            e.message
                .contains("host \"c-2\", addrs: 10.0.0.2 is already host \"echo\"'s"),
            "{e}"
        );
        let e =
            parse("[[host]]\nname = \"a\"\naddrs = [\"10.0.0.1\", \"10.0.0.1\"]\n").unwrap_err();
        assert!(e.message.contains("10.0.0.1 is listed twice"), "{e}");
        let e = parse(
            "[[host]]\nname = \"a\"\naddrs = [\"10.0.0.1\"]\n[[partition]]\na = [\"a\"]\nb = [\"a\"]\nstart = \"1s\"\n",
        )
        .unwrap_err();
        assert!(e.message.contains("host \"a\" is on both sides"), "{e}");
        let e = parse("[default-link]\nlatency = 10\n").unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        assert!(e.message.contains("e.g. \"10ms\""), "{e}");
        let e = parse("seed = 1\n").unwrap_err();
        assert!(e.message.contains("no [[host]] is declared"), "{e}");
        let e = parse("[[host]]\nname = \"idle\"\n").unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        assert!(
            e.message
                .contains("host \"idle\" has neither addrs nor a component"),
            "{e}"
        );
        let e =
            parse("[[host]]\nname = \"p\"\naddrs = [\"10.0.0.9\"]\nargs = [\"x\"]\n").unwrap_err();
        assert!(
            e.message.contains(
                "host \"p\", args: applies to the host's component, and the host runs none"
            ),
            "{e}"
        );
        // A peer with addresses and no program is a scenario's silent host,
        // beside one that runs something.
        let runs = "[[host]]\nname = \"r\"\ncomponent = \"x\"\n";
        assert!(
            parse(&format!(
                "{runs}[[host]]\nname = \"p\"\naddrs = [\"10.0.0.9\"]\n"
            ))
            .is_ok()
        );
        // Nothing runs at all, or only daemons.
        let e = parse("[[host]]\nname = \"p\"\naddrs = [\"10.0.0.9\"]\n").unwrap_err();
        assert!(e.message.starts_with("no host has a component"), "{e}");
        let e = parse("[[host]]\nname = \"d\"\ncomponent = \"x\"\ndaemon = true\n").unwrap_err();
        assert!(
            e.message.starts_with("every host's guest is a daemon"),
            "{e}"
        );
    }

    #[test]
    fn what_cannot_be_simulated_is_refused_with_the_reason() {
        let runs = "[[host]]\nname = \"r\"\ncomponent = \"x\"\n";
        let host = |addr: &str| {
            parse(&format!(
                "{runs}[[host]]\nname = \"h\"\naddrs = [\"{addr}\"]\n"
            ))
            .unwrap_err()
        };
        for (addr, says) in [
            ("127.0.0.1", "is loopback"),
            ("0.0.0.0", "unspecified"),
            ("224.0.0.1", "multicast"),
            ("::1", "is loopback"),
        ] {
            let e = host(addr);
            assert_eq!(e.line, 5, "{e}");
            assert!(e.message.contains(says), "{addr}: {e}");
        }
        let e = parse("[[host]]\nname = \"\"\ncomponent = \"x\"\n").unwrap_err();
        assert!(e.message.contains("a host needs a name"), "{e}");
        let e =
            parse("until = \"1s\"\n[[host]]\nname = \"a\"\ncomponent = \"x\"\nstart = \"5s\"\n")
                .unwrap_err();
        assert!(e.message.contains("would never start"), "{e}");
        let two = format!("{runs}[[host]]\nname = \"s\"\naddrs = [\"10.0.0.2\"]\n");
        let e = parse(&format!(
            "{two}[[link]]\na = \"r\"\nb = \"s\"\nloss = 0.0\n[[link]]\na = \"s\"\nb = \"r\"\nloss = 0.9\n"
        ))
        .unwrap_err();
        assert_eq!(e.line, 12, "{e}");
        assert!(
            e.message.contains("already have a [[link]] (line 8)"),
            "{e}"
        );
        let e = parse(&format!("{two}[[link]]\na = \"s\"\nb = \"s\"\n")).unwrap_err();
        assert!(e.message.contains("a link joins two hosts"), "{e}");
        let e = parse(&format!("{runs}[[host]]\nname = \"c\"\ncount = 2\naddrs = [\"10.0.0.5\"]\n[[partition]]\na = [\"c\"]\nb = [\"r\"]\nstart = \"1s\"\n"))
            .unwrap_err();
        assert!(e.message.contains("its hosts are c-1 to c-2"), "{e}");
        for (addr, says) in [
            ("10.0.0.1:7", "an address here has no port"),
            ("10.0.0.0/24", "no prefix length"),
            ("server", "not host names"),
        ] {
            let e = parse(&format!(
                "{runs}[[host]]\nname = \"h\"\naddrs = [\"{addr}\"]\n"
            ))
            .unwrap_err();
            assert_eq!(e.line, 6, "{e}");
            assert!(
                e.message
                    .contains(&format!("`{addr}` is not an IP address"))
                    && e.message.contains(says),
                "{e}"
            );
        }
        let e = parse(&format!("{runs}[names]\n\"x.test\" = [\"server\"]\n")).unwrap_err();
        assert!(
            e.message
                .contains("[names] \"x.test\": `server` is not an IP address"),
            "{e}"
        );
        let e = parse(&format!("{two}[names]\n\"S\" = [\"10.0.0.9\"]\n")).unwrap_err();
        assert_eq!(e.line, 8, "{e}");
        assert!(e.message.contains("is a host's name"), "{e}");
        let e = parse(&format!(
            "{two}[[partition]]\na = []\nb = [\"r\"]\nstart = \"1s\"\n"
        ))
        .unwrap_err();
        assert!(
            e.message.contains("must each name at least one host"),
            "{e}"
        );
        for (bw, says) in [
            ("0", "would carry nothing"),
            ("\"100mb\"", "could mean bytes or bits"),
            ("\"1.5furlong\"", "unknown rate unit"),
        ] {
            let e = parse(&format!("[default-link]\nbandwidth = {bw}\n{runs}")).unwrap_err();
            assert!(e.message.contains(says), "{bw}: {e}");
        }
        let s = parse(&format!(
            "[default-link]\nbandwidth = \"100Mbit/s\"\nlatency = \"2ms\"\n{runs}"
        ))
        .unwrap();
        assert_eq!(s.default_link.bandwidth, Some(12_500_000));
        assert_eq!(s.default_link.latency, Duration::from_millis(2));
        let e = parse(&format!("[default-link]\nlatency = \"300us\"\n{runs}")).unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        assert!(
            e.message.contains("not a whole number of milliseconds"),
            "{e}"
        );
        let s = parse(&format!("[default-link]\nbandwidth = \"1.5MiB\"\n{runs}")).unwrap();
        assert_eq!(s.default_link.bandwidth, Some(1_572_864));
    }
}
