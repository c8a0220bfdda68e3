//! Expiry commands: EXPIRE and PEXPIRE (with NX, XX, GT and LT), TTL,
//! PTTL and PERSIST.

use crate::commands::{Cx, NOT_INTEGER, is};
use crate::resp::{Args, parse_i64};

/// `EXPIRE key seconds [NX | XX | GT | LT]`.
pub(crate) fn expire(cx: &mut Cx<'_>, a: Args<'_>) {
    expire_generic(cx, a, 1000, "expire");
}

/// `PEXPIRE key milliseconds [NX | XX | GT | LT]`.
pub(crate) fn pexpire(cx: &mut Cx<'_>, a: Args<'_>) {
    expire_generic(cx, a, 1, "pexpire");
}

/// EXPIRE / PEXPIRE key time [NX | XX | GT | LT].
fn expire_generic(cx: &mut Cx<'_>, a: Args<'_>, unit_ms: i64, name: &str) {
    let Some(v) = parse_i64(a.get(2)) else {
        cx.out.error(NOT_INTEGER);
        return;
    };
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for o in a.iter_from(3) {
        if is(o, "NX") {
            nx = true;
        } else if is(o, "XX") {
            xx = true;
        } else if is(o, "GT") {
            gt = true;
        } else if is(o, "LT") {
            lt = true;
        } else {
            let mut msg = b"ERR Unsupported option ".to_vec();
            msg.extend_from_slice(o);
            cx.out.error_bytes(&msg);
            return;
        }
    }
    if nx && (xx || gt || lt) {
        cx.out
            .error("ERR NX and XX, GT or LT options at the same time are not compatible");
        return;
    }
    if gt && lt {
        cx.out
            .error("ERR GT and LT options at the same time are not compatible");
        return;
    }
    let mut db = cx.server.db.borrow_mut();
    let now = db.now_ms();
    let Some(when) = v.checked_mul(unit_ms).and_then(|ms| now.checked_add(ms)) else {
        cx.out
            .error(&format!("ERR invalid expire time in '{name}' command"));
        return;
    };
    let key = a.get(1);
    let Some(current) = db.get(key).map(|e| e.expires) else {
        cx.out.int(0);
        return;
    };
    let refused = (nx && current.is_some())
        || (xx && current.is_none())
        || (gt && current.is_none_or(|c| when <= c))
        || (lt && current.is_some_and(|c| when >= c));
    if refused {
        cx.out.int(0);
        return;
    }
    if when <= now {
        db.remove(key);
    } else {
        db.set_expiry(key, Some(when));
    }
    cx.out.int(1);
}

/// The time left on `key` in ms: -2 without the key, -1 without an expiry.
fn ttl_ms(cx: &mut Cx<'_>, key: &[u8]) -> i64 {
    let mut db = cx.db();
    let now = db.now_ms();
    match db.get(key) {
        None => -2,
        Some(e) => e.expires.map_or(-1, |t| (t - now).max(0)),
    }
}

/// `TTL key`: seconds left, rounded; -1 without an expiry, -2 without the key.
pub(crate) fn ttl(cx: &mut Cx<'_>, a: Args<'_>) {
    let ms = ttl_ms(cx, a.get(1));
    cx.out.int(if ms < 0 { ms } else { (ms + 500) / 1000 });
}

/// `PTTL key`: milliseconds left.
pub(crate) fn pttl(cx: &mut Cx<'_>, a: Args<'_>) {
    let ms = ttl_ms(cx, a.get(1));
    cx.out.int(ms);
}

/// `PERSIST key`: drop its expiry.
pub(crate) fn persist(cx: &mut Cx<'_>, a: Args<'_>) {
    let mut db = cx.db();
    let had = db.get(a.get(1)).is_some_and(|e| e.expires.is_some());
    if had {
        db.set_expiry(a.get(1), None);
    }
    drop(db);
    cx.out.int(i64::from(had));
}
