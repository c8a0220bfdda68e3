/* Differential test, datagram sockets over IPv4: sendto and recvfrom,
 * record boundaries, FIONREAD, truncation (recvmsg's MSG_TRUNC, short
 * buffers, the MSG_TRUNC flag), empty and oversized datagrams, sendmsg
 * to an address, connect and the filter it sets, connect(AF_UNSPEC),
 * the stream-only calls, unbound sockets, and a closed peer port
 * turning into ECONNREFUSED. */
#include "common.h"

void datagram(void) {
    struct sockaddr_storage as, bs, cs, from;
    socklen_t alen, blen, clen, flen;
    char buf[64];
    int a = bound(AF_INET, SOCK_DGRAM, &as, &alen);
    int b = bound(AF_INET, SOCK_DGRAM, &bs, &blen);
    int c = bound(AF_INET, SOCK_DGRAM, &cs, &clen);
    if (a < 0 || b < 0 || c < 0) {
        SETUP_FAILED("udp");
        return;
    }
    unsigned aport = port_of(&as), bport = port_of(&bs);
    say("udp-bind", "%s %s %s", family_str(as.ss_family), addr_str(&as), port_str(&as, 0, NULL));

    const char *s = RC(sendto(b, "dgram", 5, 0, (struct sockaddr *)&as, alen));
    wait_fd(a, POLLIN, WAIT_MS);
    flen = sizeof from;
    memset(buf, 0, sizeof buf);
    memset(&from, 0, sizeof from);
    const char *r = GOT(recvfrom(a, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen), buf);
    say("udp-sendto-recvfrom", "sendto %s, recvfrom %s from %s %s", s, r, addr_str(&from),
        port_str(&from, bport, "sender"));

    /* Record boundaries. */
    sendto(b, "one", 3, 0, (struct sockaddr *)&as, alen);
    sendto(b, "two!", 4, 0, (struct sockaddr *)&as, alen);
    memset(buf, 0, sizeof buf);
    r = GOT(recv_ready(a, buf, sizeof buf, 0), buf);
    char b2[64] = {0};
    say("udp-boundaries", "%s, %s", r, GOT(recv_ready(a, b2, sizeof b2, 0), b2));

    /* FIONREAD: the size of the next datagram. */
    sendto(b, "sixsix", 6, 0, (struct sockaddr *)&as, alen);
    sendto(b, "x", 1, 0, (struct sockaddr *)&as, alen);
    wait_fd(a, POLLIN, WAIT_MS);
    int avail = -1;
    s = RC(ioctl(a, FIONREAD, &avail));
    say("udp-fionread", "%s available %d", s, avail);
    recv(a, buf, sizeof buf, 0);
    recv_ready(a, buf, sizeof buf, 0);

    /* A long datagram into a short buffer: recvmsg reports MSG_TRUNC. */
    sendto(b, "0123456789", 10, 0, (struct sockaddr *)&as, alen);
    char t1[2] = {0}, t2[2] = {0};
    struct iovec iov[2] = {{t1, 2}, {t2, 2}};
    struct msghdr m;
    memset(&m, 0, sizeof m);
    memset(&from, 0, sizeof from);
    m.msg_name = &from;
    m.msg_namelen = sizeof from;
    m.msg_iov = iov;
    m.msg_iovlen = 2;
    wait_fd(a, POLLIN, WAIT_MS);
    long got = recvmsg(a, &m, 0);
    say("udp-recvmsg-trunc", "%s \"%.2s\"+\"%.2s\" flags=%s from %s %s", rc_str(got, errno), t1, t2,
        m.msg_flags & MSG_TRUNC ? "MSG_TRUNC" : m.msg_flags == 0 ? "0" : "other",
        addr_str(&from), port_str(&from, bport, "sender"));

    /* recv with a short buffer discards the rest of the datagram. */
    sendto(b, "abcdefgh", 8, 0, (struct sockaddr *)&as, alen);
    memset(buf, 0, sizeof buf);
    r = GOT(recv_ready(a, buf, 3, 0), buf);
    say("udp-recv-short-discards", "%s, then %s", r, RC(recv(a, buf, sizeof buf, MSG_DONTWAIT)));

    /* MSG_WAITALL on a datagram socket. */
    sendto(b, "wa", 2, 0, (struct sockaddr *)&as, alen);
    memset(buf, 0, sizeof buf);
    say("udp-recv-waitall", "%s", GOT(recv_ready(a, buf, sizeof buf, MSG_WAITALL), buf));

    /* An empty datagram. */
    s = RC(sendto(b, "", 0, 0, (struct sockaddr *)&as, alen));
    wait_fd(a, POLLIN, WAIT_MS);
    flen = sizeof from;
    memset(&from, 0, sizeof from);
    r = RC(recvfrom(a, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from, &flen));
    say("udp-empty-datagram", "sendto %s, recvfrom %s from %s", s, r,
        port_str(&from, bport, "sender"));

    /* sendmsg to an address, gathering two iovecs. */
    struct iovec sv[2] = {{(void *)"ga", 2}, {(void *)"ther", 4}};
    struct msghdr sm;
    memset(&sm, 0, sizeof sm);
    sm.msg_name = &as;
    sm.msg_namelen = alen;
    sm.msg_iov = sv;
    sm.msg_iovlen = 2;
    s = RC(sendmsg(b, &sm, 0));
    memset(buf, 0, sizeof buf);
    say("udp-sendmsg-name", "sendmsg %s, recv %s", s, GOT(recv_ready(a, buf, sizeof buf, 0), buf));

    /* MSG_PEEK, and MSG_TRUNC asking for the real length. */
    sendto(b, "peekaboo", 8, 0, (struct sockaddr *)&as, alen);
    memset(buf, 0, sizeof buf);
    r = GOT(recv_ready(a, buf, 4, MSG_PEEK), buf);
    memset(b2, 0, sizeof b2);
    say("udp-msg-peek", "peek %s, then %s", r, GOT(recv(a, b2, sizeof b2, 0), b2));
    sendto(b, "0123456789", 10, 0, (struct sockaddr *)&as, alen);
    memset(buf, 0, sizeof buf);
    r = RC(recv_ready(a, buf, 4, MSG_TRUNC));
    say("udp-recv-msg-trunc-flag", "%s, buffer \"%.4s\"", r, buf);

    /* Datagrams over the IPv4 maximum payload. */
    char *huge = calloc(1, 70000);
    say("udp-sendto-65508", "%s", RC(sendto(b, huge, 65508, 0, (struct sockaddr *)&as, alen)));
    say("udp-sendto-70000", "%s", RC(sendto(b, huge, 70000, 0, (struct sockaddr *)&as, alen)));
    s = RC(sendto(b, huge, 65507, 0, (struct sockaddr *)&as, alen));
    char *hb = calloc(1, 70000);
    say("udp-sendto-65507", "sendto %s, recv %s", s, RC(recv_ready(a, hb, 70000, 0)));
    free(huge);
    free(hb);

    /* send without a peer. */
    say("udp-send-no-peer", "%s", RC(send(b, "x", 1, 0)));

    /* connect, then send and recv; datagrams from others are filtered. */
    s = RC(connect(a, (struct sockaddr *)&bs, blen));
    const char *s2 = RC(connect(b, (struct sockaddr *)&as, alen));
    struct sockaddr_storage peer;
    socklen_t plen = sizeof peer;
    getpeername(a, (struct sockaddr *)&peer, &plen);
    say("udp-connect", "%s %s, getpeername %s %s", s, s2, addr_str(&peer),
        port_str(&peer, bport, "peer"));
    s = RC(send(b, "conn", 4, 0));
    memset(buf, 0, sizeof buf);
    say("udp-connected-send-recv", "send %s, recv %s", s,
        GOT(recv_ready(a, buf, sizeof buf, 0), buf));

    sendto(c, "other", 5, 0, (struct sockaddr *)&as, alen);
    send(b, "peer", 4, 0);
    memset(buf, 0, sizeof buf);
    r = GOT(recv_ready(a, buf, sizeof buf, 0), buf);
    say("udp-connected-filters", "%s, then %s", r, RC(recv(a, buf, sizeof buf, MSG_DONTWAIT)));

    long sent = sendto(a, "y", 1, 0, (struct sockaddr *)&bs, blen);
    say("udp-sendto-while-connected", "%s", rc_str(sent, errno));
    if (sent > 0) {
        recv_ready(b, buf, sizeof buf, 0);
    }

    /* connect(AF_UNSPEC) dissolves the peer. */
    struct sockaddr unspec;
    memset(&unspec, 0, sizeof unspec);
    unspec.sa_family = AF_UNSPEC;
    s = RC(connect(a, &unspec, sizeof unspec));
    plen = sizeof peer;
    r = RC(getpeername(a, (struct sockaddr *)&peer, &plen));
    say("udp-disconnect", "connect(AF_UNSPEC) %s, getpeername %s", s, r);
    plen = sizeof peer;
    getsockname(a, (struct sockaddr *)&peer, &plen);
    say("udp-disconnect-local-address", "%s %s", addr_str(&peer), port_str(&peer, aport, "bound"));
    say("udp-send-after-disconnect", "%s", RC(send(a, "x", 1, 0)));

    say("udp-shutdown-unconnected", "%s", RC(shutdown(c, SHUT_RDWR)));
    say("udp-listen", "%s", RC(listen(c, 1)));
    say("udp-accept", "%s", RC(accept(c, NULL, NULL)));
    close(a);
    close(b);
    close(c);

    /* recvfrom on a socket that was never bound. */
    int d = socket(AF_INET, SOCK_DGRAM, 0);
    flen = sizeof from;
    say("udp-recvfrom-unbound", "%s",
        RC(recvfrom(d, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from, &flen)));
    say("udp-send-unbound-no-peer", "%s", RC(send(d, "x", 1, 0)));
    struct sockaddr_storage zs;
    socklen_t zlen = loopback(AF_INET, 0, &zs);
    /* A connected socket whose peer port is closed: ICMP port
     * unreachable turns into ECONNREFUSED on a later call. */
    struct sockaddr_storage gone;
    socklen_t glen;
    int g = bound(AF_INET, SOCK_DGRAM, &gone, &glen);
    close(g);
    int e = socket(AF_INET, SOCK_DGRAM, 0);
    s = RC(connect(e, (struct sockaddr *)&gone, glen));
    const char *s3 = RC(send(e, "x", 1, 0));
    int ev = wait_fd(e, POLLIN, WAIT_MS);
    say("udp-connected-refused", "connect %s, send %s, %s, recv %s", s, s3,
        ev & (POLLIN | POLLERR) ? "ready" : "not-ready",
        RC(recv(e, buf, sizeof buf, MSG_DONTWAIT)));
    close(e);
    say("udp-sendto-port-0", "%s", RC(sendto(d, "x", 1, 0, (struct sockaddr *)&zs, zlen)));
    close(d);
}
