//! Parsing sizes (`64MiB`) and durations (`30s`) for limit flags.

use std::time::Duration;

/// `t` split where its number (digits and `.`) ends: the number, and
/// what follows it (a unit, and for durations more numbers).
pub(crate) fn number_and_rest(t: &str) -> (&str, &str) {
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    t.split_at(split)
}

/// A size: a number with an optional unit `B`, `K`/`KiB`, `M`/`MiB`,
/// `G`/`GiB` (powers of 1024).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let (num, unit) = number_and_rest(s.trim());
    if num.contains('.') {
        return Err(format!(
            "`{s}`: a size is a whole number of its unit; write e.g. 1536KiB for 1.5MiB"
        ));
    }
    let n: u64 = num.parse().map_err(|_| {
        format!("`{s}` is not a size: expected a number with an optional unit, e.g. 64MiB")
    })?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        other => {
            return Err(format!(
                "unknown size unit `{other}` in `{s}`: use B, KiB, MiB or GiB"
            ));
        }
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("`{s}` is too large"))
}

/// A duration: numbers with units `us`, `ms`, `s`, `m` or `h`, one after
/// another (`1m30s`), each number whole or with a fraction (`1.5s`).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let mut rest = s.trim();
    if rest.is_empty() {
        return Err("a duration is empty: write e.g. 30s or 500ms".into());
    }
    let mut nanos: u128 = 0;
    while !rest.is_empty() {
        let (num, after) = number_and_rest(rest);
        let (whole, frac) = num.split_once('.').unwrap_or((num, ""));
        if num.is_empty() || num == "." || frac.contains('.') {
            return Err(format!(
                "`{s}` is not a duration: expected a number and a unit, e.g. 30s, 1.5s, 1m30s or 500ms"
            ));
        }
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_len);
        let per: u128 = match unit.trim() {
            "us" | "µs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "" => return Err(format!("`{s}` has no unit: write e.g. {num}s or {num}ms")),
            other => {
                return Err(format!(
                    "unknown duration unit `{other}` in `{s}`: use us, ms, s, m or h (e.g. 1m30s)"
                ));
            }
        };
        let whole: u128 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| format!("`{s}` is too long"))?
        };
        // The fraction's digits, to nanoseconds of this unit (digits past
        // a nanosecond are dropped).
        let mut part: u128 = 0;
        let mut scale: u128 = 1;
        for d in frac.chars().take(15) {
            part = part * 10 + u128::from(d.to_digit(10).unwrap_or(0));
            scale *= 10;
        }
        nanos = whole
            .checked_mul(per)
            .and_then(|n| n.checked_add(part * per / scale))
            .and_then(|n| nanos.checked_add(n))
            .ok_or_else(|| format!("`{s}` is too long"))?;
        rest = next;
    }
    let nanos = u64::try_from(nanos).map_err(|_| format!("`{s}` is too long"))?;
    if nanos == 0 {
        return Err(format!("`{s}` is zero: a limit must be positive"));
    }
    Ok(Duration::from_nanos(nanos))
}

/// A positive count.
pub fn parse_count(s: &str) -> Result<u64, String> {
    match s.trim().parse::<u64>() {
        Ok(0) => Err(format!("`{s}` is zero: a limit must be positive")),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("`{s}` is not a whole number")),
    }
}

/// A positive size.
pub fn parse_positive_size(s: &str) -> Result<u64, String> {
    match parse_size(s)? {
        0 => Err(format!("`{s}` is zero: a limit must be positive")),
        n => Ok(n),
    }
}

/// A WebAssembly page: the least memory a guest with any memory needs.
const WASM_PAGE: u64 = 64 << 10;

/// A memory limit: a size of at least one WebAssembly page. Less could
/// run no guest that has a memory, and is most likely a unit left out
/// (`16` for `16MiB`).
pub fn parse_memory_size(s: &str) -> Result<u64, String> {
    let n = parse_positive_size(s)?;
    if n < WASM_PAGE {
        // A bare number small enough to be meant as MiB.
        let unit = if s.trim().chars().all(|c| c.is_ascii_digit()) && n <= 4096 {
            format!(
                "; a number without a unit is bytes: did you mean {}MiB?",
                s.trim()
            )
        } else {
            String::new()
        };
        return Err(format!(
            "`{s}` is {n} bytes, less than one WebAssembly page (64KiB){unit}"
        ));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_memory_limit_below_a_page_suggests_the_unit() {
        assert_eq!(parse_memory_size("16MiB"), Ok(16 << 20));
        assert_eq!(parse_memory_size("64KiB"), Ok(64 << 10));
        let e = parse_memory_size("16").unwrap_err();
        assert!(
            e.contains("16 bytes") && e.contains("did you mean 16MiB?"),
            "{e}"
        );
        let e = parse_memory_size("1KiB").unwrap_err();
        assert!(
            e.contains("less than one WebAssembly page") && !e.contains("did you mean"),
            "{e}"
        );
    }

    #[test]
    fn sizes_durations_and_counts() {
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("512"), Ok(512));
        assert_eq!(parse_size("2g"), Ok(2 << 30));
        assert!(
            parse_size("12XB")
                .unwrap_err()
                .contains("unknown size unit")
        );
        assert!(parse_size("lots").is_err());
        assert!(parse_size("99999999999999999999G").is_err());
        assert_eq!(parse_duration("1500ms"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("30").unwrap_err().contains("no unit"));
        assert!(parse_duration("0s").is_err());
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration(".25h"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("500us"), Ok(Duration::from_micros(500)));
        assert!(
            parse_size("1.5MiB")
                .unwrap_err()
                .contains("a whole number of its unit")
        );
        assert_eq!(
            parse_duration("1h 2ms"),
            Ok(Duration::from_millis(3_600_002))
        );
        assert!(parse_duration("1.2.3s").is_err());
        assert!(parse_duration("1m30").unwrap_err().contains("no unit"));
        assert!(
            parse_duration("5d")
                .unwrap_err()
                .contains("unknown duration unit `d`")
        );
        assert!(parse_duration("").is_err());
        assert!(
            parse_duration("99999999999h")
                .unwrap_err()
                .contains("too long")
        );
        assert!(parse_count("0").is_err());
        assert!(parse_count("-3").is_err());
        assert!(parse_positive_size("0MiB").is_err());
    }
}
