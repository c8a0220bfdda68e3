/* Differential test, IPv6: the stream connection sequence over ::1
 * (stream.c's), datagrams over ::1, and connects to an address of the
 * other family. */
#include "common.h"

void ipv6(void) {
    stream_connect_sequence(AF_INET6, "tcp6");

    struct sockaddr_storage as, bs, from;
    socklen_t alen, blen, flen;
    char buf[32] = {0};
    int a = bound(AF_INET6, SOCK_DGRAM, &as, &alen);
    int b = bound(AF_INET6, SOCK_DGRAM, &bs, &blen);
    if (a < 0 || b < 0) {
        SETUP_FAILED("udp6");
        return;
    }
    say("udp6-bind", "%s %s %s", family_str(as.ss_family), addr_str(&as), port_str(&as, 0, NULL));
    const char *s = RC(sendto(b, "six6", 4, 0, (struct sockaddr *)&as, alen));
    wait_fd(a, POLLIN, WAIT_MS);
    flen = sizeof from;
    memset(&from, 0, sizeof from);
    const char *r = GOT(recvfrom(a, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen), buf);
    say("udp6-sendto-recvfrom", "sendto %s, recvfrom %s from %s %s len=%s", s, r, addr_str(&from),
        port_str(&from, port_of(&bs), "sender"),
        flen == sizeof(struct sockaddr_in6) ? "full" : "other");

    s = RC(connect(a, (struct sockaddr *)&bs, blen));
    const char *s2 = RC(send(a, "back", 4, 0));
    memset(buf, 0, sizeof buf);
    say("udp6-connected-send", "connect %s, send %s, peer recv %s", s, s2,
        GOT(recv_ready(b, buf, sizeof buf, 0), buf));

    struct sockaddr_storage v4;
    socklen_t v4len = loopback(AF_INET, 9, &v4);
    int t = socket(AF_INET6, SOCK_STREAM, 0);
    say("tcp6-connect-ipv4-address", "%s", RC(connect(t, (struct sockaddr *)&v4, v4len)));
    close(t);
    t = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_storage v6;
    socklen_t v6len = loopback(AF_INET6, 9, &v6);
    say("tcp4-connect-ipv6-address", "%s", RC(connect(t, (struct sockaddr *)&v6, v6len)));
    close(t);
    close(a);
    close(b);
}
