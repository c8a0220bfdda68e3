//! The commands: lookup by name (any case), arity checks and Redis's error
//! wording, and each command's effect on the keyspace.

use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::reply::Out;
use crate::resp::{Args, parse_i64};
use crate::store::{Db, Ttl};
use crate::{admin, expire};

/// Once this many reply bytes are waiting, large replies go by reference
/// and the connection sends before reading the next command.
pub const FLUSH_AT: usize = 64 << 10;

/// What every connection shares: the keyspace and the counters.
#[derive(Debug)]
pub struct Server {
    /// The keyspace.
    pub db: RefCell<Db>,
    /// The listening address.
    pub addr: SocketAddr,
    /// When it started.
    pub started: Instant,
    /// Connections open now.
    pub clients: Cell<usize>,
    /// Connections accepted so far (`CONFIG RESETSTAT` starts again).
    pub connections: Cell<u64>,
    /// The last `CLIENT ID` given.
    pub next_id: Cell<u64>,
    /// Commands run so far.
    pub commands: Cell<u64>,
    /// Request bytes buffered beyond every connection's first buffer.
    pub buffered: Cell<usize>,
}

impl Server {
    /// A server on `addr` with an empty keyspace of `maxmemory` bytes.
    pub fn new(addr: SocketAddr, maxmemory: usize) -> Server {
        Server {
            db: RefCell::new(Db::new(maxmemory)),
            addr,
            started: Instant::now(),
            clients: Cell::new(0),
            connections: Cell::new(0),
            next_id: Cell::new(0),
            commands: Cell::new(0),
            buffered: Cell::new(0),
        }
    }
}

/// One connection's own state.
#[derive(Debug)]
pub struct Session {
    /// `CLIENT ID`.
    pub id: u64,
    /// `CLIENT SETNAME`.
    pub name: Option<Vec<u8>>,
    /// The peer.
    pub peer: SocketAddr,
    /// Set by `QUIT`: close once the replies are sent.
    pub quit: bool,
}

/// What a command runs with.
pub(crate) struct Cx<'a> {
    /// The shared state.
    pub server: &'a Server,
    /// The connection's.
    pub session: &'a mut Session,
    /// Where the reply goes.
    pub out: &'a mut Out,
}

impl Cx<'_> {
    pub(crate) fn db(&self) -> std::cell::RefMut<'_, Db> {
        self.server.db.borrow_mut()
    }
}

type Handler = fn(&mut Cx<'_>, Args<'_>);

/// A command: its name, Redis's arity (n: exactly n arguments with the
/// name; -n: at least n) and what it does.
struct Command {
    name: &'static str,
    arity: i32,
    run: Handler,
}

const fn cmd(name: &'static str, arity: i32, run: Handler) -> Command {
    Command { name, arity, run }
}

/// Every command, the busiest first (the lookup is a linear scan).
const COMMANDS: &[Command] = &[
    cmd("get", 2, get),
    cmd("set", -3, set),
    cmd("incr", 2, incr),
    cmd("ping", -1, admin::ping),
    cmd("mset", -3, mset),
    cmd("mget", -2, mget),
    cmd("del", -2, del),
    cmd("exists", -2, exists),
    cmd("expire", -3, expire::expire),
    cmd("pexpire", -3, expire::pexpire),
    cmd("ttl", 2, expire::ttl),
    cmd("pttl", 2, expire::pttl),
    cmd("persist", 2, expire::persist),
    cmd("incrby", 3, incrby),
    cmd("decr", 2, decr),
    cmd("decrby", 3, decrby),
    cmd("echo", 2, admin::echo),
    cmd("dbsize", 1, dbsize),
    cmd("flushall", -1, flush),
    cmd("flushdb", -1, flush),
    cmd("select", 2, admin::select),
    cmd("config", -2, admin::config),
    cmd("command", -1, admin::command),
    cmd("client", -2, admin::client),
    cmd("info", -1, admin::info),
    cmd("hello", -1, admin::hello),
    cmd("auth", -2, admin::auth),
    cmd("quit", -1, admin::quit),
];

/// The names of every command.
pub(crate) fn command_names() -> impl Iterator<Item = &'static str> {
    COMMANDS.iter().map(|c| c.name)
}

/// Run one command, appending its reply to `out`.
pub fn execute(server: &Server, session: &mut Session, args: Args<'_>, out: &mut Out) {
    server.commands.set(server.commands.get() + 1);
    let name = args.get(0);
    let Some(cmd) = COMMANDS
        .iter()
        .find(|c| c.name.as_bytes().eq_ignore_ascii_case(name))
    else {
        unknown_command(args, out);
        return;
    };
    let n = args.len() as i32;
    if (cmd.arity > 0 && n != cmd.arity) || n < -cmd.arity {
        wrong_arity(out, cmd.name);
        return;
    }
    (cmd.run)(
        &mut Cx {
            server,
            session,
            out,
        },
        args,
    );
}

/// Redis's reply to a command it does not know: the name and the start of
/// the arguments, quoted.
fn unknown_command(args: Args<'_>, out: &mut Out) {
    let mut msg = b"ERR unknown command '".to_vec();
    msg.extend_from_slice(&args.get(0)[..args.get(0).len().min(128)]);
    msg.extend_from_slice(b"', with args beginning with: ");
    let mut shown = 0;
    for a in args.iter_from(1) {
        if shown >= 128 {
            break;
        }
        let take = a.len().min(128 - shown);
        msg.push(b'\'');
        msg.extend_from_slice(&a[..take]);
        msg.extend_from_slice(b"' ");
        shown += take + 3;
    }
    out.error_bytes(&msg);
}

pub(crate) fn wrong_arity(out: &mut Out, name: &str) {
    out.error(&format!(
        "ERR wrong number of arguments for '{name}' command"
    ));
}

pub(crate) fn unknown_subcommand(out: &mut Out, cmd: &str, sub: &[u8]) {
    let mut msg = b"ERR unknown subcommand '".to_vec();
    msg.extend_from_slice(&sub[..sub.len().min(128)]);
    msg.extend_from_slice(format!("'. Try {cmd} HELP.").as_bytes());
    out.error_bytes(&msg);
}

pub(crate) const NOT_INTEGER: &str = "ERR value is not an integer or out of range";
pub(crate) const SYNTAX: &str = "ERR syntax error";
const OOM: &str = "OOM command not allowed when used memory > 'maxmemory'.";

pub(crate) fn is(arg: &[u8], word: &str) -> bool {
    arg.eq_ignore_ascii_case(word.as_bytes())
}

fn get(cx: &mut Cx<'_>, a: Args<'_>) {
    let by_ref = cx.out.buf.len() > FLUSH_AT;
    match cx.server.db.borrow_mut().get(a.get(1)) {
        Some(e) => cx.out.value(&e.value, by_ref),
        None => cx.out.nil(),
    }
}

/// The expiry options of SET, as parsed.
#[derive(Clone, Copy)]
enum Unit {
    Seconds,
    Millis,
    UnixSeconds,
    UnixMillis,
}

/// An expiry time for `raw` in `unit` (ms on the store's clock), or the
/// error to reply.
fn deadline(db: &Db, raw: &[u8], unit: Unit, cmd: &str) -> Result<i64, String> {
    let v = parse_i64(raw).ok_or_else(|| NOT_INTEGER.to_string())?;
    let invalid = || format!("ERR invalid expire time in '{cmd}' command");
    if v <= 0 {
        return Err(invalid());
    }
    let ms = match unit {
        Unit::Seconds | Unit::UnixSeconds => v.checked_mul(1000).ok_or_else(invalid)?,
        Unit::Millis | Unit::UnixMillis => v,
    };
    match unit {
        Unit::Seconds | Unit::Millis => db.now_ms().checked_add(ms).ok_or_else(invalid),
        Unit::UnixSeconds | Unit::UnixMillis => {
            let wall = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
                .unwrap_or(0);
            Ok(db.now_ms().saturating_add(ms - wall))
        }
    }
}

fn set(cx: &mut Cx<'_>, a: Args<'_>) {
    let (key, value) = (a.get(1), a.get(2));
    let (mut nx, mut xx, mut get, mut keep) = (false, false, false, false);
    let mut expire: Option<(Unit, &[u8])> = None;
    let mut i = 3;
    while i < a.len() {
        let o = a.get(i);
        let has_next = i + 1 < a.len();
        let unit = if is(o, "EX") {
            Some(Unit::Seconds)
        } else if is(o, "PX") {
            Some(Unit::Millis)
        } else if is(o, "EXAT") {
            Some(Unit::UnixSeconds)
        } else if is(o, "PXAT") {
            Some(Unit::UnixMillis)
        } else {
            None
        };
        if is(o, "NX") && !xx {
            nx = true;
        } else if is(o, "XX") && !nx {
            xx = true;
        } else if is(o, "GET") {
            get = true;
        } else if is(o, "KEEPTTL") && expire.is_none() {
            keep = true;
        } else if let Some(unit) = unit
            && !keep
            && expire.is_none()
            && has_next
        {
            expire = Some((unit, a.get(i + 1)));
            i += 1;
        } else {
            cx.out.error(SYNTAX);
            return;
        }
        i += 1;
    }
    let mut db = cx.server.db.borrow_mut();
    let ttl = match expire {
        Some((unit, raw)) => match deadline(&db, raw, unit, "set") {
            Ok(t) => Ttl::At(t),
            Err(e) => {
                cx.out.error(&e);
                return;
            }
        },
        None if keep => Ttl::Keep,
        None => Ttl::Clear,
    };
    if !db.fits(key.len() + value.len()) {
        cx.out.error(OOM);
        return;
    }
    let old = if nx || xx || get {
        Some(db.get(key).map(|e| e.value.clone()))
    } else {
        None
    };
    let exists = old.as_ref().is_some_and(Option::is_some);
    if (nx && exists) || (xx && !exists) {
        match old.flatten() {
            Some(v) if get => cx.out.value(&v, false),
            _ => cx.out.nil(),
        }
        return;
    }
    db.set(key, value, ttl);
    if get {
        match old.flatten() {
            Some(v) => cx.out.value(&v, false),
            None => cx.out.nil(),
        }
    } else {
        cx.out.ok();
    }
}

fn mset(cx: &mut Cx<'_>, a: Args<'_>) {
    if a.len().is_multiple_of(2) {
        wrong_arity(cx.out, "mset");
        return;
    }
    let mut db = cx.db();
    let bytes: usize = a.iter_from(1).map(<[u8]>::len).sum();
    if !db.fits(bytes) {
        drop(db);
        cx.out.error(OOM);
        return;
    }
    for i in (1..a.len()).step_by(2) {
        db.set(a.get(i), a.get(i + 1), Ttl::Clear);
    }
    drop(db);
    cx.out.ok();
}

fn mget(cx: &mut Cx<'_>, a: Args<'_>) {
    cx.out.array(a.len() - 1);
    let mut db = cx.server.db.borrow_mut();
    for key in a.iter_from(1) {
        // A reply past the threshold holds further values by reference:
        // bounded by the number of keys asked for, not their sizes.
        let by_ref = cx.out.buf.len() > FLUSH_AT;
        match db.get(key) {
            Some(e) => cx.out.value(&e.value, by_ref),
            None => cx.out.nil(),
        }
    }
}

fn del(cx: &mut Cx<'_>, a: Args<'_>) {
    let mut db = cx.db();
    let mut n = 0;
    for key in a.iter_from(1) {
        if db.contains(key) {
            db.remove(key);
            n += 1;
        }
    }
    drop(db);
    cx.out.int(n);
}

fn exists(cx: &mut Cx<'_>, a: Args<'_>) {
    let mut db = cx.db();
    let n = a.iter_from(1).filter(|k| db.contains(k)).count();
    drop(db);
    cx.out.int(n as i64);
}

fn incr_by(cx: &mut Cx<'_>, key: &[u8], delta: i64) {
    let mut db = cx.server.db.borrow_mut();
    let current = match db.get(key) {
        Some(e) => match parse_i64(&e.value) {
            Some(n) => n,
            None => {
                cx.out.error(NOT_INTEGER);
                return;
            }
        },
        None => {
            if !db.fits(key.len() + 20) {
                cx.out.error(OOM);
                return;
            }
            0
        }
    };
    let Some(new) = current.checked_add(delta) else {
        cx.out.error("ERR increment or decrement would overflow");
        return;
    };
    let mut text = Vec::with_capacity(20);
    crate::reply::push_int(&mut text, new);
    db.set(key, &text, Ttl::Keep);
    cx.out.int(new);
}

fn incr(cx: &mut Cx<'_>, a: Args<'_>) {
    incr_by(cx, a.get(1), 1);
}

fn decr(cx: &mut Cx<'_>, a: Args<'_>) {
    incr_by(cx, a.get(1), -1);
}

fn incrby(cx: &mut Cx<'_>, a: Args<'_>) {
    match parse_i64(a.get(2)) {
        Some(d) => incr_by(cx, a.get(1), d),
        None => cx.out.error(NOT_INTEGER),
    }
}

fn decrby(cx: &mut Cx<'_>, a: Args<'_>) {
    match parse_i64(a.get(2)) {
        Some(i64::MIN) => cx.out.error("ERR decrement would overflow"),
        Some(d) => incr_by(cx, a.get(1), -d),
        None => cx.out.error(NOT_INTEGER),
    }
}

fn dbsize(cx: &mut Cx<'_>, _a: Args<'_>) {
    let n = cx.db().len();
    cx.out.int(n as i64);
}

fn flush(cx: &mut Cx<'_>, a: Args<'_>) {
    if a.len() > 2 || (a.len() == 2 && !is(a.get(1), "ASYNC") && !is(a.get(1), "SYNC")) {
        cx.out.error(SYNTAX);
        return;
    }
    cx.db().flush();
    cx.out.ok();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resp::{Parser, Step};

    /// Run `input` (whole commands) and return the replies.
    fn run(server: &Server, input: &[u8]) -> String {
        let mut session = Session {
            id: 1,
            name: None,
            peer: "127.0.0.1:1".parse().unwrap(),
            quit: false,
        };
        let mut p = Parser::default();
        let mut out = Out::default();
        let mut at = 0;
        while at < input.len() {
            let Step::Done(n) = p.parse(&input[at..]).unwrap() else {
                panic!("incomplete");
            };
            let args = p.args(&input[at..at + n]);
            if !args.is_empty() {
                execute(server, &mut session, args, &mut out);
            }
            p.reset();
            at += n;
        }
        String::from_utf8(out.buf).unwrap()
    }

    fn server() -> Server {
        Server::new("127.0.0.1:6379".parse().unwrap(), 1 << 20)
    }

    #[test]
    fn strings_and_counters() {
        let s = server();
        assert_eq!(
            run(
                &s,
                b"SET a 1\r\nGET a\r\nINCR a\r\nincrby a 10\r\nGET nope\r\n"
            ),
            "+OK\r\n$1\r\n1\r\n:2\r\n:12\r\n$-1\r\n"
        );
        assert_eq!(
            run(
                &s,
                b"SET s x\r\nINCR s\r\nSET m 9223372036854775807\r\nINCR m\r\n"
            ),
            "+OK\r\n-ERR value is not an integer or out of range\r\n+OK\r\n-ERR increment or decrement would overflow\r\n"
        );
        assert_eq!(
            run(
                &s,
                b"MSET x 1 y 2\r\nMGET x nope y\r\nDEL x y nope\r\nEXISTS x a a\r\n"
            ),
            "+OK\r\n*3\r\n$1\r\n1\r\n$-1\r\n$1\r\n2\r\n:2\r\n:2\r\n"
        );
        assert_eq!(
            run(
                &s,
                b"SET a b NX\r\nSET n v XX\r\nSET n v NX GET\r\nSET n w GET\r\n"
            ),
            "$-1\r\n$-1\r\n$-1\r\n$1\r\nv\r\n"
        );
    }

    #[test]
    fn expiry() {
        let s = server();
        assert_eq!(
            run(&s, b"SET k v EX 100\r\nTTL k\r\nPERSIST k\r\nTTL k\r\nTTL nope\r\nEXPIRE k 50\r\nTTL k\r\nEXPIRE k -1\r\nGET k\r\n"),
            "+OK\r\n:100\r\n:1\r\n:-1\r\n:-2\r\n:1\r\n:50\r\n:1\r\n$-1\r\n"
        );
        assert_eq!(
            run(
                &s,
                b"SET k v EX 0\r\nSET k v EX x\r\nSET k v PX\r\nEXPIRE nope 5\r\n"
            ),
            "-ERR invalid expire time in 'set' command\r\n-ERR value is not an integer or out of range\r\n-ERR syntax error\r\n:0\r\n"
        );
    }

    #[test]
    fn errors_and_admin() {
        let s = server();
        assert_eq!(
            run(&s, b"FOO bar baz\r\nGET\r\nMSET a\r\nPING a b\r\n"),
            "-ERR unknown command 'FOO', with args beginning with: 'bar' 'baz' \r\n-ERR wrong number of arguments for 'get' command\r\n-ERR wrong number of arguments for 'mset' command\r\n-ERR wrong number of arguments for 'ping' command\r\n"
        );
        assert_eq!(
            run(
                &s,
                b"CONFIG GET save\r\nCONFIG GET appendonly\r\nSELECT 0\r\nSELECT 1\r\n"
            ),
            "*2\r\n$4\r\nsave\r\n$0\r\n\r\n*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n+OK\r\n-ERR DB index is out of range\r\n"
        );
        assert_eq!(run(&s, b"PING\r\nECHO hi\r\n"), "+PONG\r\n$2\r\nhi\r\n");
    }
}
