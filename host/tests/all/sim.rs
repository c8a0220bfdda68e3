//! The simulated provider: `wasock sim` on the example scenarios (the same
//! seed gives the same transcript, byte for byte; the datagram faults the
//! contract allows, at their configured rates; streams whole and in order
//! across them; virtual time; bad input), and the library API.

use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use wasock_host::net::sim::LinkConfig;
use wasock_host::runtime::{Outcome, Runner, SimGuest, Simulation};

use crate::common::{allow, run};

/// Where the test build put the simulation guests.
fn guest_dir() -> String {
    Path::new(wasock_test_programs::UDP_SINK)
        .parent()
        .unwrap()
        .display()
        .to_string()
}

fn example(name: &str) -> String {
    format!("{}/../examples/sim/{name}.toml", env!("CARGO_MANIFEST_DIR"))
}

/// `wasock sim --guest-dir DIR ARGS...`: exit code, stdout, stderr.
fn sim(args: &[&str]) -> (i32, Vec<String>, String) {
    let dir = guest_dir();
    let mut all = vec!["sim", "--guest-dir", dir.as_str()];
    all.extend_from_slice(args);
    run(&all)
}

/// The transcript line of `host` on stdout that contains `pattern`.
fn line<'a>(out: &'a [String], host: &str, pattern: &str) -> &'a str {
    out.iter()
        .find(|l| l.contains(&format!("] {host} ")) && l.contains(pattern))
        .unwrap_or_else(|| panic!("no line of {host} with {pattern:?} in:\n{}", out.join("\n")))
}

/// Two hosts of a scenario: `echo` (10.0.0.1, the udp-echo example as a
/// daemon on port 7) and `client` (10.0.0.2, `udp-ping` sending `count`
/// pings to it from `start` on).
fn echo_and_pinger(count: u32, start: &str) -> String {
    format!(
        r#"[[host]]
name = "echo"
addrs = ["10.0.0.1"]
component = "udp-echo"
args = ["10.0.0.1:7"]
allow = ["udp-bind=10.0.0.1:7", "udp-recv=10.0.0.0/24:*", "udp-send=10.0.0.0/24:*"]
daemon = true

[[host]]
name = "client"
addrs = ["10.0.0.2"]
component = "udp-ping"
args = ["10.0.0.1:7", "{count}"]
allow = ["udp-send=10.0.0.1:7"]
start = "{start}"
"#
    )
}

/// The number after `word` in `text`.
fn number_after(text: &str, word: &str) -> f64 {
    let mut it = text.split_whitespace();
    while let Some(w) = it.next() {
        if w == word {
            return it.next().unwrap().parse().unwrap();
        }
    }
    panic!("no {word:?} in {text:?}");
}

#[test]
fn every_example_scenario_repeats_byte_for_byte_and_another_seed_changes_it() {
    for name in [
        "udp-faults",
        "udp-echo-loss",
        "tcp-partition",
        "tcp-nemesis",
        "many-pingers",
        "clock-skew",
    ] {
        let path = example(name);
        let (code, first, err) = sim(&[&path]);
        assert_eq!(code, 0, "{name}: {err}");
        let (_, second, _) = sim(&[&path]);
        assert!(first == second, "{name}: two runs with one seed differ");
        let (code, other, err) = sim(&[&path, "--seed", "4242"]);
        assert_eq!(code, 0, "{name} with seed 4242: {err}");
        assert!(first != other, "{name}: seed 4242 gave the same transcript");
    }
}

#[test]
fn datagrams_are_lost_duplicated_and_reordered_at_their_configured_rates() {
    // 10,000 numbered datagrams over a link with loss 0.2, duplication 0.1
    // and reordering 0.3 (no jitter, so that only the reordering fault
    // reorders). With n = 10,000 a rate's standard deviation is at most
    // 0.005: the bounds below are four of them and more. A reordered
    // datagram shows as "arrived after a higher-numbered one" only when its
    // extra delay (up to 41 ms) exceeds the 1 ms between sends, about 97 %
    // of them: about 0.29 of those that arrive.
    let (code, out, err) = sim(&[&example("udp-faults"), "--quiet"]);
    assert_eq!(code, 0, "{err}");
    let report = line(&out, "sink", "received");
    let distinct = number_after(report, "distinct");
    let lost = number_after(report, "lost") / 10_000.0;
    let duplicated = number_after(report, "duplicates") / distinct;
    let reordered = number_after(report, "reordered") / distinct;
    assert!((0.18..=0.22).contains(&lost), "loss {lost}: {report}");
    assert!(
        (0.08..=0.12).contains(&duplicated),
        "duplication {duplicated}: {report}"
    );
    assert!(
        (0.25..=0.33).contains(&reordered),
        "reordering {reordered}: {report}"
    );
}

#[test]
fn a_stream_crosses_the_same_faults_and_a_partition_whole_and_in_order() {
    let trace = std::env::temp_dir().join(format!("wasock-sim-trace-{}.jsonl", std::process::id()));
    let trace_arg = trace.display().to_string();
    let (code, out, err) = sim(&[&example("tcp-partition"), "--trace", &trace_arg]);
    assert_eq!(code, 0, "{err}");
    // The client connected by name: the scenario's name table answered,
    // and the grant by name allowed the address it gave.
    line(&out, "client", "connected to server.test:5000");
    // The trace holds the same entries, one JSON object a line.
    let json = std::fs::read_to_string(&trace).unwrap();
    assert_eq!(json.lines().count(), out.len());
    assert!(
        json.lines()
            .all(|l| l.starts_with("{\"t_us\":") && l.ends_with('}'))
    );
    // A partition's sides are fields as well as text, for checkers.
    let healed = json
        .lines()
        .find(|l| l.contains("\"partition\":\"healed\""))
        .unwrap_or_else(|| panic!("no healed partition in {json}"));
    assert_eq!(
        healed,
        "{\"t_us\":3000000,\"host\":\"*\",\"kind\":\"net\",\"text\":\"partition healed: client | server\",\
         \"partition\":\"healed\",\"a\":[\"client\"],\"b\":[\"server\"],\"one_way\":false}"
    );
    let sent = line(&out, "client", "sent 10485760 bytes");
    let got = line(&out, "server", "received 10485760 bytes");
    assert!(got.ends_with("in order"), "{got}");
    let sum = |l: &str| l.split("fnv1a ").nth(1).unwrap()[..16].to_string();
    assert_eq!(sum(sent), sum(got), "the checksums differ");
    for event in ["partition started", "partition healed", "retransmit"] {
        assert!(
            out.iter().any(|l| l.contains(event)),
            "no {event:?} in the transcript"
        );
    }
}

#[test]
fn an_hour_of_sleep_and_a_30_s_receive_timeout_pass_in_virtual_time() {
    let wall = Instant::now();
    let (code, out, err) = sim(&[&example("sleeper")]);
    let wall = wall.elapsed();
    assert_eq!(code, 0, "{err}");
    // The virtual times the transcript stamps, and what the guest's own
    // clocks measured.
    assert!(line(&out, "sleeper", "slept 3600.000 s").starts_with("[3600.000000]"));
    assert!(line(&out, "sleeper", "receive timed out after 30.000 s").starts_with("[3630.000000]"));
    assert!(line(&out, "sleeper", "wall clock started at 1767225600 s").contains("stdout"));
    // Not a speed target: an hour of real time would not end this test.
    assert!(wall < Duration::from_secs(600), "took {wall:?}");
}

fn temp_scenario(name: &str, text: &str) -> String {
    let dir = std::env::temp_dir().join(format!("wasock-sim-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

#[test]
fn a_malformed_scenario_exits_2_naming_the_line_and_the_field() {
    let path = temp_scenario(
        "bad.toml",
        "seed = 1\n[[host]]\nname = \"a\"\nallow = [\"udp-snd=*\"]\n",
    );
    let (code, out, err) = sim(&[&path]);
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty());
    assert!(err.contains("bad.toml:4:"), "{err}");
    assert!(err.contains("allow"), "{err}");
    // A component where the scenario belongs.
    let (code, _, err) = sim(&[wasock_test_programs::UDP_SINK]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("is a WebAssembly file, not a scenario"),
        "{err}"
    );
    let path = temp_scenario("bad-link.toml", "[default-link]\nloss = 2\n");
    let (code, _, err) = sim(&[&path]);
    assert_eq!(code, 2);
    assert!(
        err.contains("bad-link.toml:2:") && err.contains("probability"),
        "{err}"
    );
}

/// A one-way partition from the echo server to its client: the pings get
/// through (the server answers each), the answers are dropped on the
/// server's side until the cut heals, and the client's retries then get
/// every answer.
#[test]
fn a_one_way_partition_drops_only_what_one_side_sends() {
    let path = temp_scenario(
        "one-way.toml",
        &format!(
            r#"
until = "30s"

{echo_and_pinger}

[[partition]]
a = ["echo"]
b = ["client"]
one-way = true
start = "0s"
heal = "1200ms"
"#,
            echo_and_pinger = echo_and_pinger(3, "10ms")
        ),
    );
    let (code, out, err) = sim(&[&path]);
    assert_eq!(code, 0, "{err}");
    line(&out, "*", "partition started: echo -> client");
    line(&out, "client", "replies 3 of 3");
    let dropped: Vec<&String> = out
        .iter()
        .filter(|l| l.contains("dropped (partition)"))
        .collect();
    assert!(
        dropped.len() >= 2,
        "the server's answers before 1.2 s are dropped:\n{}",
        out.join("\n")
    );
    assert!(
        dropped.iter().all(|l| l.contains("] echo ")),
        "only what the server sends is dropped:\n{}",
        out.join("\n")
    );
}

/// The echo server's host crashes at 1 s and is back at 2.2 s: the
/// client's pings from 1.5 s are dropped while it is down, the restarted
/// server (a new instance, started again) answers the next try, and the
/// transcript says each step. The same seed repeats it byte for byte.
#[test]
fn a_crashed_host_drops_what_it_is_sent_and_its_guest_starts_again() {
    let path = temp_scenario(
        "crash.toml",
        &format!(
            r#"
until = "30s"

{echo_and_pinger}

[[crash]]
host = "echo"
at = "1s"
restart = "2200ms"
"#,
            echo_and_pinger = echo_and_pinger(3, "1500ms")
        ),
    );
    let trace = temp_scenario("crash.jsonl", "");
    let (code, out, err) = sim(&[&path, "--trace", &trace]);
    assert_eq!(code, 0, "{err}");
    line(&out, "client", "replies 3 of 3");
    // The trace says which way the host went, as a field.
    let json = std::fs::read_to_string(&trace).unwrap();
    let ups: Vec<&str> = json
        .lines()
        .filter_map(|l| l.split(",\"up\":").nth(1))
        .collect();
    assert_eq!(ups, ["false}", "true}"], "{json}");
    let crashed = line(&out, "echo", "end    crashed");
    assert!(crashed.starts_with("[   1.000000]"), "{crashed}");
    line(&out, "echo", "host down (crash)");
    line(&out, "echo", "host up (restart)");
    let starts = out
        .iter()
        .filter(|l| l.contains("] echo ") && l.ends_with(" start"))
        .count();
    assert_eq!(starts, 2, "{}", out.join("\n"));
    let dropped = out
        .iter()
        .filter(|l| l.contains("dropped (host down)"))
        .count();
    assert!(dropped >= 2, "{}", out.join("\n"));
    let (_, again, _) = sim(&[&path]);
    assert_eq!(out, again);
    // A client whose host is down at the deadline (its restart would come
    // later) crashed: not a failure, said on stderr, and ended once.
    let late = temp_scenario(
        "late-restart.toml",
        &format!(
            "until = \"10s\"\n{}\n[[crash]]\nhost = \"client\"\nat = \"1s\"\nrestart = \"5m\"\n",
            echo_and_pinger(1_000_000, "0s")
        ),
    );
    let (code, out, err) = sim(&[&late]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("host \"client\" crashed and was not back by the end"),
        "{err}"
    );
    let ends: Vec<&String> = out.iter().filter(|l| l.contains("] client  end")).collect();
    assert_eq!(ends.len(), 1, "{ends:?}");
    assert!(ends[0].ends_with("crashed"), "{ends:?}");
    // A crash schedule that cannot be is refused, naming the host.
    let bad = temp_scenario(
        "bad-crash.toml",
        &format!(
            "{}\n[[crash]]\nhost = \"echo\"\nat = \"2s\"\n[[crash]]\nhost = \"echo\"\nat = \"3s\"\n",
            echo_and_pinger(3, "0s")
        ),
    );
    let (code, _, err) = sim(&[&bad]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("crash of host \"echo\"") && err.contains("has no restart"),
        "{err}"
    );
}

/// What a guest wrote after its last newline is kept when its host
/// crashes under it, as a pipe keeps it, stamped with the crash and
/// before the guest's end; a guest that lives on ends the line itself.
#[test]
fn a_line_the_guest_left_unfinished_is_kept_when_its_host_crashes() {
    // The sleeper example, its host crashed for good at 10 s.
    let sleeper = std::fs::read_to_string(example("sleeper")).unwrap();
    let path = temp_scenario(
        "unfinished-line.toml",
        &format!("{sleeper}\n[[crash]]\nhost = \"sleeper\"\nat = \"10s\"\n"),
    );
    let (code, out, err) = sim(&[&path]);
    assert_eq!(code, 0, "{err}");
    let unfinished = line(&out, "sleeper", "sleeping an hour...");
    assert!(unfinished.starts_with("[  10.000000]"), "{unfinished}");
    assert!(
        unfinished.ends_with("stdout sleeping an hour..."),
        "{unfinished}"
    );
    let at = |pattern: &str| out.iter().position(|l| l.contains(pattern)).unwrap();
    assert!(
        at("sleeping an hour") < at("end    crashed"),
        "{}",
        out.join("\n")
    );
    // Without the crash the line is ended by what comes after the sleep.
    let (code, out, err) = sim(&[&example("sleeper")]);
    assert_eq!(code, 0, "{err}");
    let ended = line(&out, "sleeper", "sleeping an hour... slept 3600.000 s");
    assert!(ended.starts_with("[3600.000000]"), "{ended}");
}

/// A host's wall clock set off true time, by hand and by a nemesis: the
/// guest sees each step of its wall clock, by the amount the transcript
/// says, in the second after it; its monotonic clock and sleeps do not
/// move (each step is measured against the second the monotonic clock
/// says passed).
#[test]
fn a_hosts_wall_clock_steps_as_its_skews_say_and_its_monotonic_clock_does_not() {
    let trace = temp_scenario("clock-skew.jsonl", "");
    let (code, out, err) = sim(&[&example("clock-skew"), "--trace", &trace]);
    assert_eq!(code, 0, "{err}");
    // The trace gives each clock entry's offset as a number, for checkers.
    let json = std::fs::read_to_string(&trace).unwrap();
    let traced: Vec<i64> = json
        .lines()
        .filter(|l| l.contains("\"kind\":\"clock\""))
        .map(|l| {
            let n = l
                .split("\"offset_us\":")
                .nth(1)
                .and_then(|r| r.strip_suffix('}'));
            n.and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("no offset_us in {l}"))
        })
        .collect();
    let millis = |text: &str, after: &str| -> i64 {
        let n = text.split(after).nth(1).and_then(|r| r.split(' ').next());
        let n: f64 = n
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no number after {after:?} in {text:?}"));
        (n * 1000.0).round() as i64
    };
    // The steps the transcript's clock entries make, in order.
    let (mut offset, mut told, mut offsets) = (0i64, Vec::new(), Vec::new());
    for l in &out {
        let Some(text) = l.split("] watch  clock  ").nth(1) else {
            continue;
        };
        let now = if text == "wall clock back on true time" {
            0
        } else if text.ends_with(" ahead of true time") {
            millis(text, "set ")
        } else if text.ends_with(" behind true time") {
            -millis(text, "set ")
        } else {
            panic!("unexpected clock entry {text:?}")
        };
        told.push(now - offset);
        offset = now;
        offsets.push(now * 1000);
    }
    assert_eq!(traced, offsets, "{json}");
    // The hand-written skew's two steps, and two for each fault the
    // nemesis drew (each restored before the guest ends).
    let drawn: usize = err
        .split("the nemesis drew ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count of faults drawn in {err}"));
    assert!(drawn >= 1, "{err}");
    assert_eq!(told.len(), 2 + 2 * drawn, "{told:?}\n{}", out.join("\n"));
    assert_eq!(&told[..2], [30_000, -30_000]);
    // The steps the guest saw.
    let seen: Vec<i64> = out
        .iter()
        .filter(|l| l.contains("] watch  stdout at "))
        .map(|l| millis(l, "stepped "))
        .collect();
    assert_eq!(seen, told, "{}", out.join("\n"));
    let earlier = told.iter().filter(|s| **s < -1_000).count();
    line(
        &out,
        "watch",
        &format!(
            "watched 100 s: the wall clock stepped {} times, {earlier} of them to earlier",
            told.len()
        ),
    );
    assert!(earlier >= 1, "{told:?}");
}

/// Several nemeses draw apart, and their faults overlap: a host's clock
/// is set off while a partition cuts it off, which one nemesis, a fault
/// at a time, never draws.
#[test]
fn two_nemeses_overlap_a_partition_and_a_clock_skew() {
    let scenario = format!(
        "seed = 2\nuntil = \"1m\"\n{}{}",
        clock_watch("10.0.0.1", 50),
        r#"[[host]]
name = "peer"
addrs = ["10.0.0.2"]
[[nemesis]]
faults = ["isolate"]
every = "4s"
lasting = "6s"
[[nemesis]]
faults = ["clock"]
every = "4s"
lasting = "6s"
skew = "10s"
"#
    );
    let path = temp_scenario("nemeses.toml", &scenario);
    let (code, out, err) = sim(&[&path]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("the nemeses drew"), "{err}");
    let at = |l: &str| -> f64 {
        let stamp = l.trim_start_matches('[').split(']').next().unwrap();
        stamp.trim().parse().unwrap()
    };
    // Partition windows, and the times clocks were set off.
    let (mut cuts, mut open) = (Vec::new(), None);
    let mut skews = Vec::new();
    for l in &out {
        if l.contains("partition started") {
            open = Some(at(l));
        } else if l.contains("partition healed") {
            cuts.push((open.take().expect("healed before it started"), at(l)));
        } else if l.contains("wall clock set") {
            skews.push(at(l));
        }
    }
    assert!(!cuts.is_empty() && !skews.is_empty(), "{}", out.join("\n"));
    let during = skews
        .iter()
        .filter(|t| cuts.iter().any(|(a, b)| a <= *t && *t < b))
        .count();
    assert!(
        during > 0,
        "no clock was set off during a partition:\n{}",
        out.join("\n")
    );
}

/// A scenario's host named `watch` at `addr`, running `clock-watch` for
/// `seconds`.
fn clock_watch(addr: &str, seconds: u32) -> String {
    format!(
        "[[host]]\nname = \"watch\"\naddrs = [\"{addr}\"]\ncomponent = \"clock-watch\"\n\
         args = [\"{seconds}\"]\n"
    )
}

/// A scenario's pause of `host` from `at` to `resume`.
fn pause(host: &str, at: &str, resume: &str) -> String {
    format!("[[pause]]\nhost = \"{host}\"\nat = \"{at}\"\nresume = \"{resume}\"\n")
}

/// A pause lasts as long as the guest it stopped: a crash during it ends
/// it (the guest started again is not stopped), and a pause after the
/// guest has ended stops nothing; the transcript writes neither.
#[test]
fn a_pause_ends_with_the_guest_it_stopped() {
    let scenario = format!(
        "until = \"1m\"\n{}{}{}\
         [[crash]]\nhost = \"watch\"\nat = \"10s\"\nrestart = \"12s\"\n",
        clock_watch("10.0.0.1", 20),
        pause("watch", "5s", "15s"),
        pause("watch", "40s", "41s"),
    );
    let path = temp_scenario("pause-crash.toml", &scenario);
    let (code, out, err) = sim(&[&path]);
    assert_eq!(code, 0, "{err}");
    let text = out.join("\n");
    let pauses: Vec<&String> = out.iter().filter(|l| l.contains(" pause ")).collect();
    assert_eq!(pauses.len(), 1, "{text}");
    assert!(pauses[0].starts_with("[   5.000000]"), "{text}");
    // The second life, from 12 s, ran its 20 s unstopped: no late sleep.
    let late: Vec<&String> = out.iter().filter(|l| l.contains("sleep took")).collect();
    assert!(late.is_empty(), "{text}");
    let ends: Vec<&String> = out.iter().filter(|l| l.contains(" end ")).collect();
    assert_eq!(ends.len(), 2, "{text}");
    assert!(ends[1].starts_with("[  32.000000]"), "{text}");
}

/// The library refuses a pause that begins while its host is down, as a
/// scenario does, before anything runs; one that begins at the restart
/// stops the guest started again.
#[test]
fn the_library_refuses_a_pause_of_a_host_that_is_down() {
    let s = Duration::from_secs;
    let sleeper = || SimGuest::new(component(wasock_test_programs::SLEEPER));
    let mut sim = Simulation::new(1);
    let down = sleeper().crash(s(2), Some(s(4))).pause(s(3), Some(s(5)));
    sim.host("watch", &["10.0.0.1".parse().unwrap()], Some(down));
    let refused = sim.run(runner(), s(60)).unwrap_err();
    assert!(
        format!("{refused:#}").contains("a pause at 3s comes while the host is down"),
        "{refused:#}"
    );
    let mut sim = Simulation::new(1);
    let at_restart = sleeper().crash(s(2), Some(s(4))).pause(s(4), Some(s(6)));
    sim.host("watch", &["10.0.0.1".parse().unwrap()], Some(at_restart));
    let run = sim.run(runner(), s(60)).unwrap();
    let text = run.transcript.render();
    assert!(
        text.contains("[   4.000000] watch  pause  stopped"),
        "{text}"
    );
    assert!(
        text.contains("[   6.000000] watch  pause  going on"),
        "{text}"
    );
}

/// A paused guest runs no further until it goes on, while its host stays
/// up: a stream to it stalls and then arrives whole and in order, and a
/// guest's sleep that ended during its pause ends when it goes on.
#[test]
fn a_paused_guest_stops_while_its_host_and_its_connections_stay() {
    let scenario = r#"seed = 4
until = "1m"
[default-link]
latency = "10ms"
bandwidth = "1MiB"
[[host]]
name = "sink"
addrs = ["10.0.0.1"]
component = "tcp-sink"
args = ["10.0.0.1:5000"]
allow = ["tcp-bind=10.0.0.1:5000", "tcp-accept=10.0.0.2:*"]
[[host]]
name = "send"
addrs = ["10.0.0.2"]
component = "tcp-send"
args = ["10.0.0.1:5000", "4194304"]
allow = ["tcp-connect=10.0.0.1:5000"]
start = "100ms"
"#;
    let scenario = format!(
        "{scenario}{}{}{}",
        clock_watch("10.0.0.3", 8),
        pause("sink", "1s", "4s"),
        pause("watch", "2500ms", "6500ms")
    );
    let path = temp_scenario("pause.toml", &scenario);
    let trace = temp_scenario("pause.jsonl", "");
    let (code, out, err) = sim(&[&path, "--quiet", "--trace", &trace]);
    assert_eq!(code, 0, "{err}");
    // The trace says which pause entries stop and which go on.
    let json = std::fs::read_to_string(&trace).unwrap();
    let pauses: Vec<&str> = json
        .lines()
        .filter(|l| l.contains("\"kind\":\"pause\""))
        .map(|l| l.split("\"stopped\":").nth(1).unwrap_or("?"))
        .collect();
    assert_eq!(pauses, ["true}", "true}", "false}", "false}"], "{json}");
    let text = out.join("\n");
    // In the transcript, at their times.
    line(&out, "sink", "stopped");
    assert!(
        text.contains("[   1.000000] sink   pause  stopped"),
        "{text}"
    );
    assert!(
        text.contains("[   4.000000] sink   pause  going on"),
        "{text}"
    );
    // The stream outlived the pause: 4 MiB at 1 MiB/s would take about
    // 4 s; the sink read nothing for 3 of them, yet all came, in order.
    let done = line(&out, "sink", "received 4194304 bytes");
    assert!(done.contains("in order"), "{done}");
    let at: f64 = done
        .trim_start_matches('[')
        .split(']')
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        at > 5.0,
        "the stream ended at {at} s, as if the sink never stopped:\n{text}"
    );
    // The watcher's sleep from 2 s, due at 3 s, ended when it went on,
    // and the transcript says it went on before what it then did.
    line(&out, "watch", "at 6.500 s a 1 s sleep took 4.500 s");
    let at = |pattern: &str| {
        out.iter()
            .position(|l| l.contains("] watch ") && l.contains(pattern))
            .unwrap_or_else(|| panic!("no {pattern:?} of watch in:\n{text}"))
    };
    assert!(at("going on") < at("sleep took"), "{text}");
    assert_eq!(
        out.iter().filter(|l| l.contains("sleep took")).count(),
        1,
        "{text}"
    );
}

/// A guest's time limit runs from its start whatever pauses come, and
/// ends it at its time even while it is stopped, as a kill would.
#[test]
fn a_guests_time_limit_ends_it_even_while_it_is_paused() {
    let scenario = r#"[[host]]
name = "w"
addrs = ["10.0.0.1"]
component = "clock-watch"
args = ["20"]
timeout = "5s"
[[pause]]
host = "w"
at = "3s"
resume = "30s"
"#;
    let path = temp_scenario("paused-timeout.toml", scenario);
    let (code, out, err) = sim(&[&path]);
    assert_eq!(code, 1, "{err}");
    line(&out, "w", "stopped");
    let end = line(&out, "w", "longer than its time limit (5s)");
    assert!(end.starts_with("[   5.000000]"), "{end}");
    assert!(!out.iter().any(|l| l.contains("going on")), "{out:?}");
}

/// A skew never restored holds to the end, and across a crash: the guest
/// started again reads its host's clock as still set off.
#[test]
fn a_skewed_clock_stays_off_across_a_crash_and_without_a_restore() {
    let scenario = r#"seed = 1
[[host]]
name = "watch"
addrs = ["10.0.0.1"]
component = "clock-watch"
args = ["3"]
[[crash]]
host = "watch"
at = "2500ms"
restart = "4s"
[[clock]]
host = "watch"
at = "1500ms"
offset = "-1h"
"#;
    let path = temp_scenario("skew.toml", scenario);
    let (code, out, err) = sim(&[&path]);
    assert_eq!(code, 0, "{err}");
    let reads: Vec<f64> = out
        .iter()
        .filter_map(|l| l.split("wall clock reads ").nth(1))
        .map(|r| r.split(' ').next().unwrap().parse().unwrap())
        .collect();
    let epoch = wasock_host::runtime::DEFAULT_EPOCH_SECS as f64;
    // The first life at 0 s on true time; the second at 4 s, an hour
    // behind.
    assert_eq!(reads, [epoch, epoch + 4.0 - 3600.0], "{}", out.join("\n"));
    line(&out, "watch", "stepped -3600.000 s, to earlier");
    line(&out, "watch", "wall clock set 3600.000 s behind true time");
    assert!(!out.iter().any(|l| l.contains("back on true time")));
}

/// A nemesis isolates and crashes the two hosts at random for the first
/// 30 s: the faults it drew are in the transcript as scheduled ones are,
/// stderr says how many, the client still gets its answers once they
/// stop, the same seed repeats the run byte for byte and another seed
/// draws other faults.
#[test]
fn a_nemesis_draws_partitions_and_crashes_from_the_seed() {
    let scenario = |seed: u32| {
        temp_scenario(
            &format!("nemesis-{seed}.toml"),
            &format!(
                r#"
seed = {seed}
until = "5m"

[default-link]
latency = "50ms"

{echo_and_pinger}

[nemesis]
faults = ["isolate", "one-way", "crash"]
hosts = ["echo", "client"]
stop = "30s"
every = "3s"
lasting = "1s"
"#,
                echo_and_pinger = echo_and_pinger(200, "0s")
            ),
        )
    };
    let (code, out, err) = sim(&[&scenario(1)]);
    assert_eq!(code, 0, "{err}");
    let drawn = number_after(&err, "drew");
    assert!((5.0..=12.0).contains(&drawn), "{err}");
    let count = |pattern: &str| out.iter().filter(|l| l.contains(pattern)).count();
    let (started, healed) = (count("partition started: "), count("partition healed: "));
    let (crashed, restarted) = (count("host down (crash)"), count("host up (restart)"));
    assert!(started > 0 && crashed > 0, "{}", out.join("\n"));
    assert_eq!(
        (started, crashed),
        (healed, restarted),
        "{}",
        out.join("\n")
    );
    // A fault drawn for after the client's end never strikes.
    assert!(
        (5..=drawn as usize).contains(&(started + crashed)),
        "{}",
        out.join("\n")
    );
    assert!(
        out.iter()
            .any(|l| l.contains("] client ") && l.contains("replies ")),
        "{}",
        out.join("\n")
    );
    let (_, again, _) = sim(&[&scenario(1)]);
    assert_eq!(out, again);
    let (code, other, err) = sim(&[&scenario(2)]);
    assert_eq!(code, 0, "{err}");
    let faults = |lines: &[String]| -> Vec<String> {
        lines
            .iter()
            .filter(|l| l.contains("partition ") || l.contains("(crash)"))
            .cloned()
            .collect()
    };
    assert_ne!(faults(&out), faults(&other));
}

/// Ctrl-C on a run that would not end by itself (a guest computing for
/// ever, with no fuel limit): the guests are stopped, the transcript up
/// to there is printed, and the exit code is 130.
#[test]
fn an_interrupt_stops_the_run_and_prints_the_transcript_so_far() {
    let path = temp_scenario(
        "interrupted.toml",
        &format!(
            r#"
until = "1h"

[[host]]
name = "spinner"
addrs = ["10.0.0.1"]
component = "{spin}"
"#,
            spin = wasock_test_programs::SPIN
        ),
    );
    let dir = guest_dir();
    let sim = crate::common::Guest::spawn(&["sim", "--guest-dir", &dir, &path]);
    // The signal is caught once the thread that waits for it exists (its
    // handler is in place before the thread starts).
    let waiter = Instant::now();
    while !thread_named(sim.pid(), "sim-interrupt") {
        assert!(
            waiter.elapsed() < Duration::from_secs(30),
            "no sim-interrupt thread; stderr:\n{}",
            sim.stderr()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(500));
    // SAFETY: kill(2) on the child's pid; no memory is involved.
    unsafe { libc::kill(sim.pid() as libc::pid_t, libc::SIGINT) };
    let (code, out, err) = sim.finish();
    assert_eq!(code, 130, "{err}");
    assert!(err.contains("sim: interrupted at "), "{err}");
    line(&out, "spinner", "stopped");
}

/// Whether process `pid` has a thread named `name`.
fn thread_named(pid: u32, name: &str) -> bool {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return false;
    };
    tasks
        .flatten()
        .any(|t| std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim() == name))
}

/// Through the host's socket layer on the simulator: a connect to an
/// address no host has runs out its retries (timed-out, in virtual time),
/// a datagram to it is dropped for want of a route (the send succeeds, as
/// UDP's does), and IPv6 from a host without an IPv6 address is
/// network-unreachable.
#[test]
fn an_address_no_host_has_times_out_and_a_missing_family_is_unreachable() {
    let path = temp_scenario(
        "unreachable.toml",
        &format!(
            r#"
[[host]]
name = "a"
addrs = ["10.0.0.1"]
component = "{probe}"
args = ["tcp-connect", "10.9.9.9:80", "udp-new", "v4", "udp-send", "10.9.9.9:53",
        "tcp-connect-new", "[fd00::9]:80"]
allow = ["tcp-connect=10.9.9.9:80", "udp-send=10.9.9.9:53", "tcp-connect=[fd00::9]:80"]
"#,
            probe = wasock_test_programs::PROBE
        ),
    );
    let (code, out, err) = sim(&[&path]);
    assert_eq!(code, 0, "{err}");
    line(&out, "a", "tcp-connect 10.9.9.9:80: error timed-out");
    line(&out, "a", "10.9.9.9:53 dropped (no route)");
    line(&out, "a", "udp-send 10.9.9.9:53: ok");
    line(
        &out,
        "a",
        "tcp-connect-new [fd00::9]:80: error network-unreachable",
    );
}

/// A simulated host's denial points at its allow list in the scenario
/// (`sim` has no `--allow`), on a line naming the host; the failure reported
/// is the guest that ended badly, not the server still waiting for it.
#[test]
fn a_denial_points_at_the_hosts_allow_list_and_the_failure_at_its_guest() {
    let path = temp_scenario(
        "denied.toml",
        r#"
until = "5s"

[[host]]
name = "server"
addrs = ["10.0.0.1"]
component = "udp-sink"
args = ["10.0.0.1:7", "1", "60000"]
allow = ["udp-bind=10.0.0.1:7", "udp-recv=10.0.0.0/24:*"]

[[host]]
name = "client"
addrs = ["10.0.0.2"]
component = "udp-ping"
args = ["10.0.0.1:7", "5"]
"#,
    );
    let (code, out, err) = sim(&[&path]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.lines().any(|l| l.contains("host{name=client}")
            && l.contains("denied udp-send 10.0.0.1:7")
            && l.contains(&format!(
                "to permit it, add \"udp-send=10.0.0.1:7\" to host \"client\"'s allow list in {path}"
            ))),
        "{err}"
    );
    assert!(!err.contains("--allow"), "{err}");
    assert!(err.contains("error: host \"client\" failed"), "{err}");
    // The guest's own line says it in words, not as io::Error's Debug.
    let failed = line(
        &out,
        "client",
        "stderr Error: access denied by the host's policy or the system (access-denied)",
    );
    // The denial is in the transcript too, at its virtual time, before
    // what it caused.
    let denied = line(
        &out,
        "client",
        "deny   udp-send 10.0.0.1:7: no rule grants it",
    );
    let at = |l: &str| l[1..l.find(']').unwrap()].trim().parse::<f64>().unwrap();
    assert!(at(denied) <= at(failed), "{denied}\n{failed}");
    assert!(
        out.iter().position(|l| l == denied) < out.iter().position(|l| l == failed),
        "{out:?}"
    );
    line(&out, "server", "stopped");
}

#[test]
fn a_guest_that_traps_is_recorded_and_the_others_go_on() {
    let path = temp_scenario(
        "trap.toml",
        &format!(
            r#"
[[host]]
name = "bad"
addrs = ["10.0.0.9"]
component = "{forged}"

{echo_and_pinger}"#,
            forged = wasock_test_programs::MISUSE_FORGED_HANDLE,
            echo_and_pinger = echo_and_pinger(5, "1s")
        ),
    );
    let (code, out, err) = sim(&[&path]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("host \"bad\" failed") && err.contains("trapped"),
        "{err}"
    );
    assert!(line(&out, "bad", "end").contains("trapped"));
    line(&out, "client", "replies 5 of 5");
}

#[test]
fn a_guest_that_polls_in_a_loop_lets_virtual_time_pass() {
    // Virtual time moves only when every guest waits; a guest that never
    // waits, asking a non-blocking socket again and again, would hold it
    // still, and the datagram it asks for would never come. Each empty
    // answer costs it a virtual millisecond instead (the timer's tick).
    let path = temp_scenario(
        "spin.toml",
        r#"
until = "1m"
[default-link]
latency = "5ms"

[[host]]
name = "spinner"
addrs = ["10.0.0.1"]
component = "udp-spin"
args = ["10.0.0.1:9"]
allow = ["udp-bind=10.0.0.1:9", "udp-recv=10.0.0.2:*"]

[[host]]
name = "sender"
addrs = ["10.0.0.2"]
component = "udp-source"
args = ["10.0.0.1:9", "1"]
allow = ["udp-send=10.0.0.1:9"]
start = "10ms"
"#,
    );
    let (code, out, err) = sim(&[&path]);
    assert_eq!(code, 0, "{err}");
    let got = line(&out, "spinner", "received after");
    // Sent at 10 ms, 5 ms on the way: there at 15 ms, after 15 empty tries.
    assert!(got.starts_with("[   0.015000]"), "{got}");
    assert_eq!(number_after(got, "after"), 16.0, "{got}");
}

fn runner() -> &'static Runner {
    static RUNNER: OnceLock<Runner> = OnceLock::new();
    RUNNER.get_or_init(|| Runner::deterministic(&Runner::default_config()).unwrap())
}

fn component(path: &str) -> wasmtime::component::Component {
    runner().load(Path::new(path)).unwrap()
}

/// The library API, as a platform would use it from `cargo test`.
#[test]
fn the_library_runs_guests_on_a_seeded_network_and_gives_the_transcript() {
    let build = |seed| {
        let mut sim = Simulation::new(seed);
        sim.default_link(LinkConfig {
            latency: Duration::from_millis(40),
            loss: 0.1,
            ..LinkConfig::default()
        });
        sim.host(
            "server",
            &["10.9.0.1".parse().unwrap()],
            Some(
                SimGuest::new(component(wasock_test_programs::TCP_SINK))
                    .args(["10.9.0.1:80"])
                    .policy(allow(&["tcp-bind=10.9.0.1:80", "tcp-accept=10.9.0.0/24:*"])),
            ),
        );
        sim.host(
            "client",
            &["10.9.0.2".parse().unwrap()],
            Some(
                SimGuest::new(component(wasock_test_programs::TCP_SEND))
                    .args(["10.9.0.1:80", "1000000"])
                    .policy(allow(&["tcp-connect=10.9.0.1:80"]))
                    .start_at(Duration::from_millis(5)),
            ),
        );
        sim.partition(
            &["client"],
            &["server"],
            Duration::from_millis(500),
            Some(Duration::from_secs(20)),
        );
        sim
    };
    let run = build(1).run(runner(), Duration::from_secs(600)).unwrap();
    assert!(
        run.success(),
        "{:?}\n{}",
        run.first_failure(),
        run.transcript.render()
    );
    let server = run.transcript.stdout_of("server");
    assert!(
        server
            .iter()
            .any(|l| l.starts_with("received 1000000 bytes") && l.ends_with("in order")),
        "{server:?}"
    );
    // The partition held the stream for 19.5 s of virtual time.
    assert!(
        run.virtual_elapsed > Duration::from_secs(20),
        "{:?}",
        run.virtual_elapsed
    );
    assert!(matches!(run.outcomes[0].1, Outcome::Ended(_)));
    let again = build(1).run(runner(), Duration::from_secs(600)).unwrap();
    assert_eq!(run.transcript, again.transcript);
    assert_eq!(run.transcript.json_lines(), again.transcript.json_lines());
}

#[test]
fn a_wasi_0_3_guest_waits_in_virtual_time_and_repeats() {
    // WASI 0.3's async clocks on the simulator's clock: an hour's wait,
    // then two timers at once, all stamped in virtual time.
    let path = temp_scenario(
        "p3.toml",
        "seed = 1\nuntil = \"2h\"\n\n[[host]]\nname = \"p3\"\naddrs = [\"10.1.0.1\"]\ncomponent = \"p3_hello\"\nargs = [\"sleep\"]\n",
    );
    let (code, out, err) = sim(&[&path]);
    assert_eq!(code, 0, "{err}");
    let hello = line(&out, "p3", "hello from WASI 0.3");
    assert!(
        hello.starts_with("[3600.040000]")
            && hello.ends_with("timers 40ms and 10ms ended in the order 10ms, 40ms"),
        "{hello}"
    );
    let (_, again, _) = sim(&[&path]);
    assert_eq!(out, again, "the same scenario gave another transcript");
}

/// A guest that computes without ever waiting holds virtual time still:
/// the run says so (a warning each time, and `stalled`) instead of going
/// on without a word, and its fuel limit still ends it.
#[test]
fn a_guest_that_never_waits_is_reported_as_a_stall() {
    let mut sim = Simulation::new(1);
    sim.stall_warning(Duration::from_millis(40));
    // A guest that waits beside it is not the one named.
    sim.host(
        "sleeper",
        &["10.0.0.2".parse().unwrap()],
        Some(SimGuest::new(component(wasock_test_programs::SLEEPER)).daemon()),
    );
    sim.host(
        "spinner",
        &["10.0.0.1".parse().unwrap()],
        Some(SimGuest::new(component(wasock_test_programs::SPIN)).limits(
            wasock_host::runtime::Limits {
                fuel: Some(2_000_000_000),
                ..Default::default()
            },
        )),
    );
    let run = sim.run(runner(), Duration::from_secs(60)).unwrap();
    assert!(run.stalled, "wall {:?}", run.wall_elapsed);
    assert_eq!(run.stalled_host.as_deref(), Some("spinner"));
    let (host, why) = run.first_failure().expect("the spinner ran out of fuel");
    assert_eq!(host, "spinner");
    assert!(why.contains("fuel"), "{why}");
}

/// A guest's random source is a long stream, not a short cycle; hosts'
/// streams differ, and no seed gives one host another's stream.
#[test]
fn guests_draw_long_random_streams_of_their_own_per_host_and_seed() {
    let path = temp_scenario(
        "random.toml",
        "[[host]]\nname = \"a\"\naddrs = [\"10.0.0.1\"]\ncomponent = \"std_probe\"\nargs = [\"random\", \"100000\"]\n\
         [[host]]\nname = \"b\"\naddrs = [\"10.0.0.2\"]\ncomponent = \"std_probe\"\nargs = [\"random\", \"100000\"]\n",
    );
    let draws = |seed: &str| {
        let (code, out, err) = sim(&["--seed", seed, &path]);
        assert_eq!(code, 0, "{err}");
        ["a", "b"].map(|h| {
            let l = line(&out, h, "random 100000: ok");
            assert!(l.contains("100000 distinct"), "{l}");
            l.rsplit("first ").next().unwrap().to_string()
        })
    };
    let one = draws("1");
    assert_eq!(one, draws("1"), "the same seed repeats");
    assert_ne!(one[0], one[1], "hosts differ");
    for seed in ["2", "3"] {
        let other = draws(seed);
        for d in &other {
            assert!(
                !one.contains(d),
                "seed {seed} repeats a stream of seed 1: {d}"
            );
        }
    }
}

/// A clock set so far behind that it would read before 1970 is refused
/// before the run, saying how far the calendar goes back; so is a
/// nemesis whose skew could.
#[test]
fn a_clock_set_back_before_1970_is_refused() {
    let host = "[[host]]\nname = \"w\"\naddrs = [\"10.0.0.1\"]\ncomponent = \"clock-watch\"\n";
    for (extra, says) in [
        (
            "[[clock]]\nhost = \"w\"\nat = \"1s\"\noffset = \"-500000h\"\n",
            "host \"w\"'s clock: set 1800000000.000 s behind at 1s, it would read before 1970",
        ),
        (
            "[nemesis]\nfaults = [\"clock\"]\nskew = \"500000h\"\n",
            "the nemesis: a clock set up to 1800000000.000 s behind could read before 1970",
        ),
    ] {
        let path = temp_scenario("1970.toml", &format!("{host}{extra}"));
        let (code, out, err) = sim(&[&path]);
        assert_eq!(code, 1, "{err}");
        assert!(out.is_empty(), "it ran: {out:?}");
        assert!(err.contains(says), "{err}");
        assert!(
            err.contains("(the simulation's calendar starts 1767225600 s past"),
            "{err}"
        );
    }
}
