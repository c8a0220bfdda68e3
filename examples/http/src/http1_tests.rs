//! Unit tests of `http1.rs`: parsing, chunk sizes, dates, the pattern.

use super::*;

fn parse_all(buf: &[u8]) -> Parsed {
    parse(buf, &mut 0)
}

fn head(buf: &[u8]) -> Head {
    match parse_all(buf) {
        Parsed::Head(h) => h,
        other => panic!("{other:?} for {:?}", String::from_utf8_lossy(buf)),
    }
}

#[test]
fn a_simple_get_parses_and_routes() {
    let h = head(b"\r\nGET /bytes/12?x=1 HTTP/1.1\r\nHost: a\r\n\r\nnext");
    assert_eq!(h.route, Route::Bytes(12));
    assert_eq!(h.len, 41);
    assert!(h.keep_alive && !h.http10);
    assert_eq!(h.framing, Framing::None);
    let h = head(b"GET http://a:80/echo HTTP/1.0\nConnection: keep-alive\n\n");
    assert_eq!(h.route, Route::MethodNotAllowed("POST"));
    assert!(h.keep_alive && h.http10);
}

#[test]
fn a_head_is_found_when_it_arrives_a_byte_at_a_time() {
    let full = b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n";
    let mut scanned = 0;
    for n in 0..full.len() {
        assert_eq!(parse(&full[..n], &mut scanned), Parsed::Partial, "{n}");
    }
    match parse(full, &mut scanned) {
        Parsed::Head(h) => assert_eq!(h.framing, Framing::Length(5)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn malformed_heads_are_rejected() {
    for (req, want) in [
        (&b"GARBAGE\r\n\r\n"[..], 400),
        (b"GET / HTTP/1.1\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: a\r\nNo colon\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400),
        (b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
        (b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        (
            b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            400,
        ),
        (
            b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n",
            400,
        ),
        (
            b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
            400,
        ),
        (
            b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            501,
        ),
        (
            b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
            400,
        ),
        (b"GET / HTTP/1.1\r\nHost: a\r\nExpect: magic\r\n\r\n", 417),
    ] {
        assert_eq!(
            parse_all(req),
            Parsed::Reject(Status(want)),
            "{:?}",
            String::from_utf8_lossy(req)
        );
    }
}

#[test]
fn garbage_is_rejected_before_its_head_ends() {
    assert_eq!(
        parse_all(b"\x16\x03\x01\x02\x00"),
        Parsed::Reject(Status::BAD_REQUEST)
    );
    assert_eq!(
        parse_all(b"GET /a\x01"),
        Parsed::Reject(Status::BAD_REQUEST)
    );
    assert_eq!(parse_all(b"GET /a HTTP/1.1\r\nHost"), Parsed::Partial);
    assert_eq!(parse_all(b"GE"), Parsed::Partial);
}

#[test]
fn a_huge_content_length_is_a_length_not_an_error() {
    let h =
        head(b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n");
    assert_eq!(h.framing, Framing::Length(u64::MAX));
}

#[test]
fn chunk_sizes() {
    assert_eq!(chunk_size(b"1a"), Some(26));
    assert_eq!(chunk_size(b"0;name=value"), Some(0));
    assert_eq!(chunk_size(b"FF ; x"), Some(255));
    assert_eq!(chunk_size(b""), None);
    assert_eq!(chunk_size(b"xyz"), None);
    assert_eq!(chunk_size(b"10000000000000000"), None);
}

#[test]
fn dates_are_imf_fixdates() {
    assert_eq!(&http_date(784_111_777), b"Sun, 06 Nov 1994 08:49:37 GMT");
    assert_eq!(&http_date(951_782_400), b"Tue, 29 Feb 2000 00:00:00 GMT");
    assert_eq!(&http_date(1_767_225_599), b"Wed, 31 Dec 2025 23:59:59 GMT");
}

#[test]
fn the_pattern_continues_across_chunks() {
    let a = pattern(0, PATTERN_CHUNK);
    let b = pattern(PATTERN_CHUNK as u64, 3);
    assert_eq!(a[25], b'z');
    assert_eq!(b[0], b'a' + (PATTERN_CHUNK % 26) as u8);
}
