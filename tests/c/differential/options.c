/* Differential test, socket options: getsockopt and setsockopt at
 * SOL_SOCKET, IPPROTO_TCP, IPPROTO_IP and IPPROTO_IPV6 (defaults, set
 * then get), wrong values, lengths and levels, IPV6_V6ONLY after bind,
 * and SO_RCVTIMEO making a blocking recv give up. */
#include "common.h"

void options(void) {
    int t = socket(AF_INET, SOCK_STREAM, 0);
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    int one = 1;
    const char *before, *s;

    before = opt_str(t, SOL_SOCKET, SO_REUSEADDR);
    s = RC(setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one));
    say("opt-reuseaddr", "%s, set %s, get %s", before, s, opt_str(t, SOL_SOCKET, SO_REUSEADDR));

    before = opt_str(t, SOL_SOCKET, SO_KEEPALIVE);
    s = RC(setsockopt(t, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one));
    say("opt-keepalive", "%s, set %s, get %s", before, s, opt_str(t, SOL_SOCKET, SO_KEEPALIVE));

    before = opt_str(t, IPPROTO_TCP, TCP_NODELAY);
    s = RC(setsockopt(t, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one));
    say("opt-tcp-nodelay", "%s, set %s, get %s", before, s, opt_str(t, IPPROTO_TCP, TCP_NODELAY));

    int want = 65536;
    s = RC(setsockopt(t, SOL_SOCKET, SO_RCVBUF, &want, sizeof want));
    int rb = get_int_opt(t, SOL_SOCKET, SO_RCVBUF);
    say("opt-rcvbuf", "set %s, get %s", s, rb >= want ? ">=requested" : "<requested");

    say("opt-so-type", "%s %s", type_str(get_int_opt(t, SOL_SOCKET, SO_TYPE)),
        type_str(get_int_opt(u, SOL_SOCKET, SO_TYPE)));
    say("opt-so-error-fresh", "%s", opt_str(t, SOL_SOCKET, SO_ERROR));

    before = opt_str(t, IPPROTO_IP, IP_TTL);
    int ttl = 32;
    s = RC(setsockopt(t, IPPROTO_IP, IP_TTL, &ttl, sizeof ttl));
    say("opt-ip-ttl", "%s, set 32 %s, get %s", before, s, opt_str(t, IPPROTO_IP, IP_TTL));

    int bad_ttl = 256;
    say("opt-ip-ttl-256", "%s", RC(setsockopt(t, IPPROTO_IP, IP_TTL, &bad_ttl, sizeof bad_ttl)));

    say("opt-unknown", "%s", RC(setsockopt(t, SOL_SOCKET, 9999, &one, sizeof one)));
    s = RC(setsockopt(u, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one));
    say("opt-nodelay-on-udp", "set %s, get %s", s, opt_str(u, IPPROTO_TCP, TCP_NODELAY));
    say("opt-keepalive-on-udp", "%s",
        RC(setsockopt(u, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one)));
    say("opt-v6only-on-ipv4", "%s", RC(setsockopt(t, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one)));
    int h17 = 17;
    s = RC(setsockopt(t, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &h17, sizeof h17));
    say("opt-ipv6-level-on-ipv4", "set hops %s, get v6only %s", s,
        opt_str(t, IPPROTO_IPV6, IPV6_V6ONLY));
    unsigned char ttl1 = 33;
    s = RC(setsockopt(t, IPPROTO_IP, IP_TTL, &ttl1, 1));
    say("opt-ip-ttl-one-byte", "set %s, get %s", s, opt_str(t, IPPROTO_IP, IP_TTL));
    unsigned char small[4] = {0xee, 0xee, 0xee, 0xee};
    socklen_t slen = 1;
    s = RC(getsockopt(t, SOL_SOCKET, SO_KEEPALIVE, small, &slen));
    say("opt-get-short-length", "%s len=%u byte=%u next=%s", s, (unsigned)slen, small[0],
        small[1] == 0xee ? "untouched" : "written");
    struct linger lg;
    slen = sizeof(int);
    s = RC(getsockopt(t, SOL_SOCKET, SO_LINGER, &lg, &slen));
    say("opt-get-linger-short-length", "%s len=%s", s, slen == sizeof(int) ? "int" : "other");
    say("opt-int-short-length", "%s", RC(setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, 1)));
    say("opt-int-zero-length", "%s", RC(setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, 0)));
    say("opt-null-value", "%s", RC(setsockopt(t, SOL_SOCKET, SO_REUSEADDR, NULL, sizeof one)));

    int big = 65536;
    s = RC(setsockopt(t, SOL_SOCKET, SO_SNDBUF, &big, sizeof big));
    say("opt-sndbuf", "set %s, get %s", s,
        get_int_opt(t, SOL_SOCKET, SO_SNDBUF) >= big ? ">=requested" : "<requested");
    int idle = 30;
    s = RC(setsockopt(t, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle));
    say("opt-tcp-keepidle", "set 30 %s, get %s", s, opt_str(t, IPPROTO_TCP, TCP_KEEPIDLE));
    int cnt = 5;
    s = RC(setsockopt(t, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt));
    say("opt-tcp-keepcnt", "set 5 %s, get %s", s, opt_str(t, IPPROTO_TCP, TCP_KEEPCNT));
    int tp = get_int_opt(t, SOL_SOCKET, SO_PROTOCOL), up = get_int_opt(u, SOL_SOCKET, SO_PROTOCOL);
    say("opt-so-protocol", "%s %s", tp == IPPROTO_TCP ? "IPPROTO_TCP" : "other",
        up == IPPROTO_UDP ? "IPPROTO_UDP" : "other");
    say("opt-so-domain", "%s %s", family_str(get_int_opt(t, SOL_SOCKET, SO_DOMAIN)),
        family_str(get_int_opt(u, SOL_SOCKET, SO_DOMAIN)));
    say("opt-acceptconn-unlistened", "%s", opt_str(t, SOL_SOCKET, SO_ACCEPTCONN));
    struct linger lgd = {-1, -1};
    socklen_t lgl = sizeof lgd;
    s = RC(getsockopt(t, SOL_SOCKET, SO_LINGER, &lgd, &lgl));
    say("opt-linger-default", "%s {%d, %d}", s, lgd.l_onoff, lgd.l_linger);
    before = opt_str(u, SOL_SOCKET, SO_BROADCAST);
    s = RC(setsockopt(u, SOL_SOCKET, SO_BROADCAST, &one, sizeof one));
    say("opt-broadcast", "%s, set %s, get %s", before, s, opt_str(u, SOL_SOCKET, SO_BROADCAST));
    say("opt-multicast-defaults", "ttl %s loop %s", opt_str(u, IPPROTO_IP, IP_MULTICAST_TTL),
        opt_str(u, IPPROTO_IP, IP_MULTICAST_LOOP));
    struct timeval stv = {1, 500000}, sback = {-1, -1};
    s = RC(setsockopt(t, SOL_SOCKET, SO_SNDTIMEO, &stv, sizeof stv));
    socklen_t sl2 = sizeof sback;
    getsockopt(t, SOL_SOCKET, SO_SNDTIMEO, &sback, &sl2);
    say("opt-sndtimeo", "set %s, get %lds %ldus", s, (long)sback.tv_sec, (long)sback.tv_usec);
    struct timeval badtv = {0, 1000000};
    say("opt-rcvtimeo-bad-usec", "%s",
        RC(setsockopt(t, SOL_SOCKET, SO_RCVTIMEO, &badtv, sizeof badtv)));

    struct timeval tv = {-1, -1};
    socklen_t len = sizeof tv;
    s = RC(getsockopt(t, SOL_SOCKET, SO_RCVTIMEO, &tv, &len));
    say("opt-rcvtimeo-default", "%s %lds %ldus", s, (long)tv.tv_sec, (long)tv.tv_usec);

    int v6 = socket(AF_INET6, SOCK_STREAM, 0);
    before = opt_str(v6, IPPROTO_IPV6, IPV6_V6ONLY);
    s = RC(setsockopt(v6, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one));
    say("opt-ipv6-v6only", "%s, set %s, get %s", before, s, opt_str(v6, IPPROTO_IPV6, IPV6_V6ONLY));

    before = opt_str(v6, IPPROTO_IPV6, IPV6_UNICAST_HOPS);
    int hops = 17;
    s = RC(setsockopt(v6, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof hops));
    say("opt-ipv6-unicast-hops", "%s, set 17 %s, get %s", before, s,
        opt_str(v6, IPPROTO_IPV6, IPV6_UNICAST_HOPS));

    struct sockaddr_storage ss;
    socklen_t sl = loopback(AF_INET6, 0, &ss);
    bind(v6, (struct sockaddr *)&ss, sl);
    int zero = 0;
    say("opt-v6only-after-bind", "%s",
        RC(setsockopt(v6, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero)));
    close(v6);
    close(t);
    close(u);

    /* SO_RCVTIMEO: a blocking recv gives up after about 100 ms. */
    int c, a;
    if (pair(AF_INET, &c, &a) != 0) {
        SETUP_FAILED("opt-rcvtimeo");
        return;
    }
    tv = (struct timeval){0, 100000};
    s = RC(setsockopt(a, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
    struct timeval back = {-1, -1};
    len = sizeof back;
    getsockopt(a, SOL_SOCKET, SO_RCVTIMEO, &back, &len);
    say("opt-rcvtimeo-get", "set %s, get %lds %ldus", s, (long)back.tv_sec, (long)back.tv_usec);
    char buf[8];
    int64_t t0 = now_ms();
    const char *r = RC(recv(a, buf, sizeof buf, 0));
    int64_t dt = now_ms() - t0;
    say("opt-rcvtimeo-recv", "%s after %s", r,
        dt >= 80 && dt < 1500 ? "~100ms" : dt < 80 ? "<80ms" : ">=1500ms");
    close(a);
    close(c);
}
