//! The connection and server commands: what clients such as `redis-cli`
//! and `redis-benchmark` send besides reading and writing keys.

use crate::commands::{Cx, NOT_INTEGER, command_names, is, unknown_subcommand, wrong_arity};
use crate::resp::{Args, parse_i64};

/// `PING [message]`.
pub(crate) fn ping(cx: &mut Cx<'_>, a: Args<'_>) {
    match a.len() {
        1 => cx.out.simple("PONG"),
        2 => cx.out.bulk(a.get(1)),
        _ => wrong_arity(cx.out, "ping"),
    }
}

/// `ECHO message`.
pub(crate) fn echo(cx: &mut Cx<'_>, a: Args<'_>) {
    cx.out.bulk(a.get(1));
}

/// `SELECT index`: only database 0 exists.
pub(crate) fn select(cx: &mut Cx<'_>, a: Args<'_>) {
    match parse_i64(a.get(1)) {
        None => cx.out.error(NOT_INTEGER),
        Some(0) => cx.out.ok(),
        Some(_) => cx.out.error("ERR DB index is out of range"),
    }
}

/// Whether `name` matches the glob `pattern` (`*` and `?`), ignoring case;
/// in time linear in the product of their lengths, whatever the pattern.
fn glob(pattern: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    // The last `*` seen, and where in `name` it was tried up to.
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, n));
                p += 1;
            }
            Some(&c) if c == b'?' || c.eq_ignore_ascii_case(&name[n]) => {
                p += 1;
                n += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    star = Some((sp, sn + 1));
                    p = sp + 1;
                    n = sn + 1;
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// `CONFIG GET pattern...` (the few settings clients ask about) and `CONFIG RESETSTAT`.
pub(crate) fn config(cx: &mut Cx<'_>, a: Args<'_>) {
    let sub = a.get(1);
    if is(sub, "GET") {
        if a.len() < 3 {
            wrong_arity(cx.out, "config|get");
            return;
        }
        let maxmemory = cx.db().maxmemory().to_string();
        let port = cx.server.addr.port().to_string();
        let known: [(&str, &str); 5] = [
            ("save", ""),
            ("appendonly", "no"),
            ("maxmemory", &maxmemory),
            ("databases", "1"),
            ("port", &port),
        ];
        let hits: Vec<&(&str, &str)> = known
            .iter()
            .filter(|(name, _)| a.iter_from(2).any(|p| glob(p, name.as_bytes())))
            .collect();
        cx.out.array(hits.len() * 2);
        for (name, value) in hits {
            cx.out.bulk(name.as_bytes());
            cx.out.bulk(value.as_bytes());
        }
    } else if is(sub, "RESETSTAT") && a.len() == 2 {
        cx.server.commands.set(0);
        cx.server.connections.set(0);
        cx.out.ok();
    } else {
        unknown_subcommand(cx.out, "CONFIG", sub);
    }
}

/// `COMMAND`, `COMMAND COUNT`, `COMMAND LIST`.
pub(crate) fn command(cx: &mut Cx<'_>, a: Args<'_>) {
    if a.len() == 1 {
        // No per-command details to give; clients then use their own.
        cx.out.array(0);
        return;
    }
    let sub = a.get(1);
    if is(sub, "COUNT") && a.len() == 2 {
        cx.out.int(command_names().count() as i64);
    } else if is(sub, "LIST") && a.len() == 2 {
        cx.out.array(command_names().count());
        for name in command_names() {
            cx.out.bulk(name.as_bytes());
        }
    } else {
        // Including DOCS: redis-cli then falls back to its built-in help.
        unknown_subcommand(cx.out, "COMMAND", sub);
    }
}

fn client_line(cx: &Cx<'_>) -> Vec<u8> {
    let mut line = format!(
        "id={} addr={} laddr={} name=",
        cx.session.id, cx.session.peer, cx.server.addr
    )
    .into_bytes();
    line.extend_from_slice(cx.session.name.as_deref().unwrap_or_default());
    line.extend_from_slice(b" db=0 resp=2\n");
    line
}

/// `CLIENT ID | GETNAME | SETNAME name | SETINFO attr value | LIST | INFO`.
pub(crate) fn client(cx: &mut Cx<'_>, a: Args<'_>) {
    let sub = a.get(1);
    if is(sub, "ID") && a.len() == 2 {
        cx.out.int(cx.session.id as i64);
    } else if is(sub, "GETNAME") && a.len() == 2 {
        match &cx.session.name {
            Some(n) => cx.out.bulk(n),
            None => cx.out.nil(),
        }
    } else if is(sub, "SETNAME") && a.len() == 3 {
        let name = a.get(2);
        if name.iter().any(|&b| !(b'!'..=b'~').contains(&b)) {
            cx.out
                .error("ERR Client names cannot contain spaces, newlines or special characters.");
            return;
        }
        cx.session.name = (!name.is_empty()).then(|| name.to_vec());
        cx.out.ok();
    } else if is(sub, "SETINFO") && a.len() == 4 {
        cx.out.ok();
    } else if (is(sub, "LIST") || is(sub, "INFO")) && a.len() == 2 {
        let line = client_line(cx);
        cx.out.bulk(&line);
    } else if ["ID", "GETNAME", "SETNAME", "SETINFO", "LIST", "INFO"]
        .iter()
        .any(|s| is(sub, s))
    {
        let name = format!("client|{}", String::from_utf8_lossy(sub).to_lowercase());
        wrong_arity(cx.out, &name);
    } else {
        unknown_subcommand(cx.out, "CLIENT", sub);
    }
}

/// `INFO [section...]`: server, clients, memory, stats and keyspace.
pub(crate) fn info(cx: &mut Cx<'_>, a: Args<'_>) {
    let s = cx.server;
    let db = s.db.borrow();
    let sections: [(&str, String); 5] = [
        (
            "server",
            format!(
                "redis_version:7.0.0\r\nredis_mode:standalone\r\nos:wasm32-wasip2 (wasock)\r\narch_bits:32\r\nmultiplexing_api:wasock-poll\r\ntcp_port:{}\r\nuptime_in_seconds:{}\r\n",
                s.addr.port(),
                s.started.elapsed().as_secs()
            ),
        ),
        (
            "clients",
            format!("connected_clients:{}\r\n", s.clients.get()),
        ),
        (
            "memory",
            format!(
                "used_memory:{}\r\nmaxmemory:{}\r\nmaxmemory_policy:noeviction\r\n",
                db.used(),
                db.maxmemory()
            ),
        ),
        (
            "stats",
            format!(
                "total_connections_received:{}\r\ntotal_commands_processed:{}\r\nexpired_keys:{}\r\n",
                s.connections.get(),
                s.commands.get(),
                db.expired()
            ),
        ),
        (
            "keyspace",
            if db.len() > 0 {
                format!(
                    "db0:keys={},expires={},avg_ttl=0\r\n",
                    db.len(),
                    db.with_ttl()
                )
            } else {
                String::new()
            },
        ),
    ];
    drop(db);
    let all = a.len() == 1
        || a.iter_from(1)
            .any(|w| is(w, "all") || is(w, "default") || is(w, "everything"));
    let mut text = String::new();
    for (name, body) in &sections {
        if all || a.iter_from(1).any(|w| is(w, name)) {
            if !text.is_empty() {
                text.push_str("\r\n");
            }
            let title = format!("{}{}", name[..1].to_uppercase(), &name[1..]);
            text.push_str(&format!("# {title}\r\n{body}"));
        }
    }
    cx.out.bulk(text.as_bytes());
}

/// `HELLO [2 [SETNAME name]]`: RESP2 only.
pub(crate) fn hello(cx: &mut Cx<'_>, a: Args<'_>) {
    if a.len() >= 2 {
        match parse_i64(a.get(1)) {
            None => {
                cx.out
                    .error("ERR Protocol version is not an integer or out of range");
                return;
            }
            Some(2) => {}
            Some(_) => {
                cx.out.error("NOPROTO unsupported protocol version");
                return;
            }
        }
    }
    let mut i = 2;
    while i < a.len() {
        if is(a.get(i), "SETNAME") && i + 1 < a.len() {
            cx.session.name = Some(a.get(i + 1).to_vec());
            i += 2;
        } else {
            let mut msg = b"ERR Syntax error in HELLO option '".to_vec();
            msg.extend_from_slice(a.get(i));
            msg.push(b'\'');
            cx.out.error_bytes(&msg);
            return;
        }
    }
    cx.out.array(14);
    for (k, v) in [("server", "redis"), ("version", "7.0.0")] {
        cx.out.bulk(k.as_bytes());
        cx.out.bulk(v.as_bytes());
    }
    cx.out.bulk(b"proto");
    cx.out.int(2);
    cx.out.bulk(b"id");
    cx.out.int(cx.session.id as i64);
    for (k, v) in [("mode", "standalone"), ("role", "master")] {
        cx.out.bulk(k.as_bytes());
        cx.out.bulk(v.as_bytes());
    }
    cx.out.bulk(b"modules");
    cx.out.array(0);
}

/// `AUTH`: there are no passwords to check.
pub(crate) fn auth(cx: &mut Cx<'_>, _a: Args<'_>) {
    cx.out.error(
        "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
    );
}

/// `QUIT`: `+OK`, then the connection is closed.
pub(crate) fn quit(cx: &mut Cx<'_>, _a: Args<'_>) {
    cx.session.quit = true;
    cx.out.ok();
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn globs() {
        assert!(glob(b"max*", b"maxmemory"));
        assert!(glob(b"SAVE", b"save"));
        assert!(!glob(b"max?", b"maxmemory"));
        assert!(glob(b"*", b""));
        assert!(glob(b"*o*y", b"appendonly"));
        assert!(glob(&[b'*'; 10_000], b"x"));
        assert!(!glob(b"*a*a*a*a*a*a*a*a*a*b", b"aaaaaaaaaaaaaaaaaaaa"));
    }
}
