//! Inline commands (what `nc` or `telnet` users type): one line, split on
//! blanks, with Redis's quoting rules.

fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Split an inline command as Redis's `sdssplitargs` does, appending each
/// argument's bytes to `out` and its range to `ranges`; `Err` for
/// unbalanced quotes (or a closing quote followed by something).
pub fn split_args(s: &[u8], out: &mut Vec<u8>, ranges: &mut Vec<(usize, usize)>) -> Result<(), ()> {
    let mut p = 0;
    loop {
        while p < s.len() && is_blank(s[p]) {
            p += 1;
        }
        if p == s.len() {
            return Ok(());
        }
        let start = out.len();
        let (mut in_dq, mut in_sq) = (false, false);
        loop {
            let c = s.get(p).copied();
            if in_dq {
                let c = c.ok_or(())?;
                let next = s.get(p + 1).copied();
                if c == b'\\' && next == Some(b'x') {
                    match (
                        s.get(p + 2).and_then(|&b| hex(b)),
                        s.get(p + 3).and_then(|&b| hex(b)),
                    ) {
                        (Some(h), Some(l)) => {
                            out.push(h * 16 + l);
                            p += 3;
                        }
                        _ => out.push(c),
                    }
                } else if c == b'\\' && next.is_some() {
                    p += 1;
                    out.push(match s[p] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    });
                } else if c == b'"' {
                    // A closing quote must end the argument.
                    if s.get(p + 1).is_some_and(|&b| !is_blank(b)) {
                        return Err(());
                    }
                    p += 1;
                    break;
                } else {
                    out.push(c);
                }
            } else if in_sq {
                let c = c.ok_or(())?;
                if c == b'\\' && s.get(p + 1) == Some(&b'\'') {
                    p += 1;
                    out.push(b'\'');
                } else if c == b'\'' {
                    if s.get(p + 1).is_some_and(|&b| !is_blank(b)) {
                        return Err(());
                    }
                    p += 1;
                    break;
                } else {
                    out.push(c);
                }
            } else {
                match c {
                    None | Some(b' ' | b'\n' | b'\r' | b'\t') => break,
                    Some(b'"') => in_dq = true,
                    Some(b'\'') => in_sq = true,
                    Some(c) => out.push(c),
                }
            }
            p += 1;
        }
        ranges.push((start, out.len()));
    }
}
