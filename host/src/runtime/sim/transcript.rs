//! A simulation's transcript: every guest's output lines and every network
//! event, stamped with virtual time and host, in one deterministic order.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::Offset;
use crate::net::sim::{NetFault, SimNet};

/// What a transcript entry records.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum What {
    /// A line the guest wrote to stdout.
    Stdout(String),
    /// A line the guest wrote to stderr.
    Stderr(String),
    /// Something the network did (a connection, a datagram lost).
    Net(String),
    /// A fault of the network (kind `net` too): a partition beginning or
    /// healing, a host going down in a crash or coming back.
    NetFault(NetFault),
    /// The policy denied the guest an operation (what, and what would
    /// permit it), at the moment of the call.
    Denied(String),
    /// The host's wall clock was set this far off true time (`None`: back
    /// on true time) ([`ClockSkew`](super::ClockSkew)).
    Clock(Option<Offset>),
    /// The host's guest stopped (`true`), or went on after a stop
    /// (`false`) ([`Pause`](super::Pause)).
    Pause(bool),
    /// The guest started.
    Started,
    /// The guest ended, and how.
    Ended(String),
}

/// One transcript entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Virtual time since the simulation began.
    pub at: Duration,
    /// The host it happened on (for network events, the sending side).
    pub host: String,
    /// What happened.
    pub what: What,
}

impl Entry {
    fn kind(&self) -> (&'static str, Cow<'_, str>) {
        let text = |s: &str| Cow::Owned(s.to_string());
        match &self.what {
            What::Stdout(s) => ("stdout", Cow::Borrowed(s)),
            What::Stderr(s) => ("stderr", Cow::Borrowed(s)),
            What::Net(s) => ("net", Cow::Borrowed(s)),
            What::NetFault(f) => ("net", Cow::Owned(f.to_string())),
            What::Denied(s) => ("deny", Cow::Borrowed(s)),
            What::Clock(None) => ("clock", text("wall clock back on true time")),
            What::Clock(Some(o @ Offset::Ahead(_))) => (
                "clock",
                Cow::Owned(format!("wall clock set {o} of true time")),
            ),
            What::Clock(Some(o @ Offset::Behind(_))) => {
                ("clock", Cow::Owned(format!("wall clock set {o} true time")))
            }
            What::Pause(true) => ("pause", text("stopped")),
            What::Pause(false) => ("pause", text("going on")),
            What::Started => ("start", Cow::Borrowed("")),
            What::Ended(s) => ("end", Cow::Borrowed(s)),
        }
    }

    /// What a checker reads of a fault without parsing its text, as JSON
    /// fields after the text: a clock's offset in microseconds (ahead
    /// positive, 0 back on true time), whether a guest stopped, a
    /// partition's sides, whether a host is up.
    fn fields(&self) -> String {
        match &self.what {
            What::NetFault(NetFault::Partition {
                started,
                a,
                b,
                one_way,
            }) => {
                let names = |side: &[String]| {
                    let quoted: Vec<String> = side.iter().map(|h| json_string(h)).collect();
                    quoted.join(",")
                };
                format!(
                    ",\"partition\":\"{}\",\"a\":[{}],\"b\":[{}],\"one_way\":{one_way}",
                    if *started { "started" } else { "healed" },
                    names(a),
                    names(b)
                )
            }
            What::NetFault(NetFault::Host { up }) => format!(",\"up\":{up}"),
            What::Clock(offset) => {
                let us =
                    |d: std::time::Duration| i128::try_from(d.as_micros()).unwrap_or(i128::MAX);
                let signed = match offset {
                    None => 0,
                    Some(Offset::Ahead(d)) => us(*d),
                    Some(Offset::Behind(d)) => -us(*d),
                };
                format!(",\"offset_us\":{signed}")
            }
            What::Pause(stopped) => format!(",\"stopped\":{stopped}"),
            _ => String::new(),
        }
    }
}

/// A simulation's transcript.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transcript {
    /// Entries in order of virtual time (ties in the order they happened).
    pub entries: Vec<Entry>,
}

impl Transcript {
    /// The transcript as text, a line an entry:
    /// `[  12.345678] host  net  tcp 10.0.0.1:49152 -> 10.0.0.2:7 connect`.
    pub fn render(&self) -> String {
        let width = self.entries.iter().map(|e| e.host.len()).max().unwrap_or(0);
        let mut out = String::new();
        for e in &self.entries {
            let (kind, text) = e.kind();
            let line = format!(
                "[{:>4}.{:06}] {:<width$}  {:<6} {}",
                e.at.as_secs(),
                e.at.subsec_micros(),
                e.host,
                kind,
                text
            );
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }

    /// The transcript as JSON lines, one object an entry:
    /// `{"t_us":12345678,"host":"a","kind":"net","text":"..."}`; a `clock`
    /// entry adds `"offset_us"` (the wall clock's offset from true time,
    /// ahead positive, 0 when back on it), a `pause` entry `"stopped"`
    /// (`true` when the guest stops, `false` when it goes on), a partition
    /// `"partition"` (`"started"` or `"healed"`), its sides `"a"` and `"b"`
    /// (arrays of host names) and `"one_way"`, and a host going down or
    /// coming back `"up"` (`false` for a crash).
    pub fn json_lines(&self) -> String {
        let mut out = String::new();
        for e in &self.entries {
            let (kind, text) = e.kind();
            let _ = writeln!(
                out,
                "{{\"t_us\":{},\"host\":{},\"kind\":\"{kind}\",\"text\":{}{}}}",
                e.at.as_micros(),
                json_string(&e.host),
                json_string(&text),
                e.fields()
            );
        }
        out
    }

    /// The stdout lines of `host`, in order.
    pub fn stdout_of(&self, host: &str) -> Vec<&str> {
        self.entries
            .iter()
            .filter(|e| e.host == host)
            .filter_map(|e| match &e.what {
                What::Stdout(s) => Some(s.as_str()),
                _ => None,
            })
            .collect()
    }

    /// How many network events it holds.
    pub fn net_events(&self) -> usize {
        self.entries
            .iter()
            .filter(|e| matches!(e.what, What::Net(_) | What::NetFault(_)))
            .count()
    }
}

fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Where a running simulation writes its transcript: guests' lines come in
/// after the network events that happened before them.
#[derive(Clone)]
pub(crate) struct Recorder {
    entries: Arc<Mutex<Vec<Entry>>>,
    net: SimNet,
}

impl Recorder {
    pub(crate) fn new(net: SimNet) -> Recorder {
        Recorder {
            entries: Arc::default(),
            net,
        }
    }

    /// Take the network's events so far into the transcript.
    fn catch_up(&self, entries: &mut Vec<Entry>) {
        for ev in self.net.take_events() {
            entries.push(Entry {
                at: ev.at,
                host: ev.host,
                what: match ev.fault {
                    Some(f) => What::NetFault(f),
                    None => What::Net(ev.text),
                },
            });
        }
    }

    /// Record `what` on `host`, now.
    pub(crate) fn record(&self, host: &str, what: What) {
        let at = self.net.now();
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        self.catch_up(&mut entries);
        entries.push(Entry {
            at,
            host: host.to_string(),
            what,
        });
    }

    /// The transcript so far, in order of virtual time.
    pub(crate) fn transcript(&self) -> Transcript {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        self.catch_up(&mut entries);
        let mut entries = entries.clone();
        entries.sort_by_key(|e| e.at);
        Transcript { entries }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_escape_what_json_needs() {
        let t = Transcript {
            entries: vec![Entry {
                at: Duration::from_micros(1_500_000),
                host: "a".into(),
                what: What::Stdout("say \"hi\"\\\t\u{1}".into()),
            }],
        };
        assert_eq!(
            t.json_lines(),
            "{\"t_us\":1500000,\"host\":\"a\",\"kind\":\"stdout\",\"text\":\"say \\\"hi\\\"\\\\\\t\\u0001\"}\n"
        );
        assert_eq!(t.render(), "[   1.500000] a  stdout say \"hi\"\\\t\u{1}\n");
    }

    #[test]
    fn network_faults_render_as_text_and_trace_as_fields() {
        let at = Duration::from_secs(2);
        let entry = |host: &str, f: NetFault| Entry {
            at,
            host: host.into(),
            what: What::NetFault(f),
        };
        let t = Transcript {
            entries: vec![
                entry(
                    "*",
                    NetFault::Partition {
                        started: true,
                        a: vec!["a\"1".into(), "b".into()],
                        b: vec!["c".into()],
                        one_way: true,
                    },
                ),
                entry("c", NetFault::Host { up: false }),
            ],
        };
        assert_eq!(
            t.render(),
            "[   2.000000] *  net    partition started: a\"1 b -> c\n\
             [   2.000000] c  net    host down (crash)\n"
        );
        assert_eq!(
            t.json_lines(),
            "{\"t_us\":2000000,\"host\":\"*\",\"kind\":\"net\",\"text\":\"partition started: a\\\"1 b -> c\",\
             \"partition\":\"started\",\"a\":[\"a\\\"1\",\"b\"],\"b\":[\"c\"],\"one_way\":true}\n\
             {\"t_us\":2000000,\"host\":\"c\",\"kind\":\"net\",\"text\":\"host down (crash)\",\"up\":false}\n"
        );
        assert_eq!(t.net_events(), 2);
    }
}
