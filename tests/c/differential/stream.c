/* Differential test, stream sockets: the connection sequence step by
 * step (IPv4 here; ipv6.c runs it over ::1), data through send/recv and
 * their flags, read/write, readv/writev, sendmsg/recvmsg, FIONREAD, bad
 * buffers, shutdown in each direction, addresses on a connected socket,
 * an IPv6 socket reaching an IPv4 listener, fresh sockets' readiness and
 * flags, SO_LINGER {1, 0} resets, and connects nobody accepts. */
#include "common.h"

/* The connection sequence, step by step: listener address, non-blocking
 * connect, the listener's pending-connection readiness, accept and the
 * peer address it gives, POLLOUT on the connector, SO_ERROR, and both
 * sides' names. */
void stream_connect_sequence(int fam, const char *prefix) {
    char name[64];
    struct sockaddr_storage lss, css, peer, ss;
    socklen_t llen, len;
    int l = listener(fam, &lss, &llen);
    snprintf(name, sizeof name, "%s-listener", prefix);
    if (l < 0) {
        SETUP_FAILED(name);
        return;
    }
    unsigned lport = port_of(&lss);
    say(name, "%s %s %s", family_str(lss.ss_family), addr_str(&lss), port_str(&lss, 0, NULL));

    int c = socket(fam, SOCK_STREAM, 0);
    set_nonblocking(c, true);
    snprintf(name, sizeof name, "%s-nb-connect", prefix);
    say(name, "%s", RC(connect(c, (struct sockaddr *)&lss, llen)));

    snprintf(name, sizeof name, "%s-poll-listener-pending", prefix);
    struct pollfd p = {l, POLLIN, 0};
    const char *n = RC(poll(&p, 1, WAIT_MS));
    say(name, "%s %s", n, ev_str(p.revents));

    len = sizeof peer;
    memset(&peer, 0, sizeof peer);
    int a = accept(l, (struct sockaddr *)&peer, &len);
    int accept_errno = errno;
    len = sizeof css;
    getsockname(c, (struct sockaddr *)&css, &len);
    snprintf(name, sizeof name, "%s-accept-peer", prefix);
    if (a < 0) {
        say(name, "-1 %s", ename(accept_errno));
    } else {
        say(name, "ok len=%s %s %s", len == (fam == AF_INET ? sizeof(struct sockaddr_in)
                                                            : sizeof(struct sockaddr_in6))
                                         ? "full"
                                         : "short",
            addr_str(&peer), port_str(&peer, port_of(&css), "connector"));
    }

    snprintf(name, sizeof name, "%s-connect-pollout", prefix);
    p = (struct pollfd){c, POLLOUT, 0};
    n = RC(poll(&p, 1, WAIT_MS));
    say(name, "%s %s", n, ev_str(p.revents));

    snprintf(name, sizeof name, "%s-connect-so-error", prefix);
    int err = -1;
    len = sizeof err;
    n = RC(getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &len));
    say(name, "%s %s", n, err < 0 ? "?" : ename(err));

    snprintf(name, sizeof name, "%s-getpeername", prefix);
    len = sizeof ss;
    n = RC(getpeername(c, (struct sockaddr *)&ss, &len));
    say(name, "%s %s %s", n, addr_str(&ss), port_str(&ss, lport, "listener"));

    snprintf(name, sizeof name, "%s-accepted-getsockname", prefix);
    len = sizeof ss;
    n = RC(getsockname(a, (struct sockaddr *)&ss, &len));
    say(name, "%s %s %s", n, addr_str(&ss), port_str(&ss, lport, "listener"));

    /* Linux reports the finished non-blocking connect once more (0)
     * before EISCONN. */
    snprintf(name, sizeof name, "%s-connect-again", prefix);
    set_nonblocking(c, false);
    n = RC(connect(c, (struct sockaddr *)&lss, llen));
    say(name, "%s then %s", n, RC(connect(c, (struct sockaddr *)&lss, llen)));

    snprintf(name, sizeof name, "%s-send-recv", prefix);
    char buf[64] = {0};
    n = RC(send(c, "hello", 5, 0));
    say(name, "send %s, recv %s", n, GOT(recv_ready(a, buf, sizeof buf, 0), buf));
    close(a);
    close(c);
    close(l);
}

void stream_data(void) {
    int c, a;
    char buf[64], b2[64];
    if (pair(AF_INET, &c, &a) != 0) {
        SETUP_FAILED("tcp-data");
        return;
    }
    const char *s;

    /* MSG_PEEK leaves the data for the next recv. */
    s = RC(send(c, "peek", 4, 0));
    memset(buf, 0, sizeof buf);
    const char *peeked = GOT(recv_ready(a, buf, sizeof buf, MSG_PEEK), buf);
    memset(b2, 0, sizeof b2);
    say("tcp-msg-peek", "send %s, peek %s, then %s", s, peeked, GOT(recv(a, b2, sizeof b2, 0), b2));

    /* MSG_WAITALL gathers two sends into one full read. */
    const char *s1 = RC(send(c, "abc", 3, 0));
    const char *s2 = RC(send(c, "defgh", 5, 0));
    memset(buf, 0, sizeof buf);
    say("tcp-msg-waitall", "send %s+%s, recv %s", s1, s2,
        GOT(recv_ready(a, buf, 8, MSG_WAITALL), buf));

    /* read and write on a socket descriptor. */
    s = RC(write(c, "write", 5));
    memset(buf, 0, sizeof buf);
    wait_fd(a, POLLIN, WAIT_MS);
    say("tcp-write-read", "write %s, read %s", s, GOT(read(a, buf, sizeof buf), buf));

    /* writev of two pieces, readv into two pieces. */
    struct iovec wv[2] = {{(void *)"ab", 2}, {(void *)"cdef", 4}};
    s = RC(writev(c, wv, 2));
    char r1[3] = {0}, r2[16] = {0};
    struct iovec rv[2] = {{r1, sizeof r1}, {r2, sizeof r2}};
    wait_fd(a, POLLIN, WAIT_MS);
    long got = readv(a, rv, 2);
    say("tcp-writev-readv", "writev %s, readv %s: \"%.3s\"+\"%.16s\"", s, rc_str(got, errno), r1,
        r2);

    /* sendmsg and recvmsg with two iovecs each. */
    struct iovec sv[2] = {{(void *)"foo", 3}, {(void *)"barbaz", 6}};
    struct msghdr sm;
    memset(&sm, 0, sizeof sm);
    sm.msg_iov = sv;
    sm.msg_iovlen = 2;
    s = RC(sendmsg(c, &sm, 0));
    char m1[4] = {0}, m2[16] = {0};
    struct iovec mv[2] = {{m1, sizeof m1}, {m2, sizeof m2}};
    struct msghdr rm;
    memset(&rm, 0, sizeof rm);
    rm.msg_iov = mv;
    rm.msg_iovlen = 2;
    rm.msg_flags = -1;
    wait_fd(a, POLLIN, WAIT_MS);
    got = recvmsg(a, &rm, 0);
    say("tcp-sendmsg-recvmsg", "sendmsg %s, recvmsg %s: \"%.4s\"+\"%.16s\" flags=%s", s,
        rc_str(got, errno), m1, m2, rm.msg_flags == 0 ? "0" : "nonzero");

    /* FIONREAD counts the queued bytes. */
    s = RC(send(c, "7 bytes", 7, 0));
    wait_fd(a, POLLIN, WAIT_MS);
    int avail = -1;
    const char *io = RC(ioctl(a, FIONREAD, &avail));
    say("tcp-fionread", "send %s, ioctl %s, available %d", s, io, avail);
    recv(a, buf, sizeof buf, 0);

    /* A zero-length receive returns 0 at once. */
    say("tcp-recv-zero-length", "%s", RC(recv(a, buf, 0, MSG_DONTWAIT)));

    /* Bad buffers: NULL with a nonzero length. recv needs data queued to
     * get as far as the copy on Linux. */
    say("tcp-send-null-buffer", "%s", RC(send(c, NULL, 5, MSG_NOSIGNAL)));
    send(c, "queued", 6, 0);
    wait_fd(a, POLLIN, WAIT_MS);
    say("tcp-recv-null-buffer", "%s", RC(recv(a, NULL, 5, 0)));
    while (recv(a, buf, sizeof buf, MSG_DONTWAIT) > 0) {
    }

    /* shutdown with a bad `how`. */
    say("tcp-shutdown-bad-how", "%s", RC(shutdown(c, 99)));

    /* A larger transfer arrives intact. */
    enum { BIG = 32768 };
    char *big = malloc(BIG), *back = malloc(BIG);
    for (int i = 0; i < BIG; i++) {
        big[i] = (char)(i * 7 + i / 251);
    }
    s = RC(send(c, big, BIG, 0));
    memset(back, 0, BIG);
    got = recv_ready(a, back, BIG, MSG_WAITALL);
    say("tcp-32k-transfer", "send %s, recv %s, %s", s, rc_str(got, errno),
        got == BIG && memcmp(big, back, BIG) == 0 ? "intact" : "differs");
    free(big);
    free(back);

    /* Half close: SHUT_WR gives the peer EOF; the other direction works. */
    s = RC(shutdown(c, SHUT_WR));
    say("tcp-shutdown-wr-peer-eof", "shutdown %s, peer recv %s", s,
        RC(recv_ready(a, buf, sizeof buf, 0)));
    say("tcp-send-after-shutdown-wr", "%s", RC(send(c, "x", 1, MSG_NOSIGNAL)));
    s = RC(send(a, "back", 4, 0));
    memset(buf, 0, sizeof buf);
    say("tcp-half-closed-reverse", "send %s, recv %s", s,
        GOT(recv_ready(c, buf, sizeof buf, 0), buf));

    /* The peer closes: readiness, then recv reads the end of stream. */
    close(a);
    struct pollfd p = {c, POLLIN, 0};
    s = RC(poll(&p, 1, WAIT_MS));
    say("tcp-poll-after-peer-close", "%s %s", s, ev_str(p.revents));
    say("tcp-recv-after-peer-close", "%s", RC(recv(c, buf, sizeof buf, 0)));
    close(c);
}

/* Addresses on a stream socket, SHUT_RD, and both directions shut. */
void stream_more(void) {
    int c, a;
    char buf[32];
    if (pair(AF_INET, &c, &a) != 0) {
        SETUP_FAILED("tcp-more");
        return;
    }
    struct sockaddr_storage ss, from;
    socklen_t len = sizeof ss;
    getsockname(a, (struct sockaddr *)&ss, &len);

    /* sendto on a connected stream socket ignores the address. */
    const char *s = RC(sendto(c, "to", 2, 0, (struct sockaddr *)&ss, len));
    memset(buf, 0, sizeof buf);
    memset(&from, 0x55, sizeof from);
    socklen_t flen = sizeof from;
    wait_fd(a, POLLIN, WAIT_MS);
    const char *r = GOT(recvfrom(a, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen), buf);
    say("tcp-sendto-recvfrom", "sendto %s, recvfrom %s fromlen=%u", s, r, (unsigned)flen);

    /* MSG_TRUNC on a stream drops what it receives (Linux). */
    send(c, "skip-this-part:BODY", 19, 0);
    wait_fd(a, POLLIN, WAIT_MS);
    const char *skipped = RC(recv(a, NULL, 15, MSG_TRUNC));
    memset(buf, 0, sizeof buf);
    say("tcp-recv-msg-trunc", "skipped %s, then %s", skipped,
        GOT(recv(a, buf, sizeof buf, 0), buf));
    /* A peek with it drops nothing. */
    send(c, "peek", 4, 0);
    wait_fd(a, POLLIN, WAIT_MS);
    const char *peeked = RC(recv(a, NULL, 100, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT));
    memset(buf, 0, sizeof buf);
    say("tcp-recv-peek-trunc", "peeked %s, then %s", peeked, GOT(recv(a, buf, sizeof buf, 0), buf));
    /* The same through recvmsg: the buffers stay as they were. */
    send(c, "dropKEPT", 8, 0);
    wait_fd(a, POLLIN, WAIT_MS);
    char held[5] = "....";
    struct iovec hv = {held, 4};
    struct msghdr hm;
    memset(&hm, 0, sizeof hm);
    hm.msg_iov = &hv;
    hm.msg_iovlen = 1;
    const char *dropped = RC(recvmsg(a, &hm, MSG_TRUNC));
    memset(buf, 0, sizeof buf);
    say("tcp-recvmsg-msg-trunc", "dropped %s, buffer %s, then %s", dropped, held,
        GOT(recv(a, buf, sizeof buf, 0), buf));

    send(c, "nm", 2, 0);
    struct iovec iov = {buf, sizeof buf};
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_name = &from;
    m.msg_namelen = sizeof from;
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    wait_fd(a, POLLIN, WAIT_MS);
    long got = recvmsg(a, &m, 0);
    say("tcp-recvmsg-name", "%s namelen=%u", rc_str(got, errno), (unsigned)m.msg_namelen);

    /* getsockname truncates to a short length and reports the full one. */
    struct sockaddr_in small;
    memset(&small, 0, sizeof small);
    len = 4;
    s = RC(getsockname(c, (struct sockaddr *)&small, &len));
    say("getsockname-short-length", "%s len=%s family=%s", s,
        len == sizeof(struct sockaddr_in) ? "full" : "other", family_str(small.sin_family));

    /* MSG_MORE is a hint that more follows. */
    s = RC(send(c, "m", 1, MSG_MORE));
    const char *s2 = RC(send(c, "ore", 3, 0));
    memset(buf, 0, sizeof buf);
    wait_fd(a, POLLIN, WAIT_MS);
    r = GOT(recv(a, buf, 4, MSG_WAITALL), buf);
    say("tcp-send-msg-more", "send %s+%s, recv %s", s, s2, r);

    /* SHUT_RD: recv reads the end of stream. */
    s = RC(shutdown(a, SHUT_RD));
    say("tcp-shutdown-rd-recv", "shutdown %s, recv %s", s,
        RC(recv(a, buf, sizeof buf, MSG_DONTWAIT)));
    s = RC(shutdown(a, SHUT_RDWR));
    struct pollfd p = {a, POLLIN | POLLOUT, 0};
    r = RC(poll(&p, 1, WAIT_MS));
    say("tcp-poll-after-shutdown-rdwr", "shutdown %s, poll %s %s", s, r, ev_str(p.revents));
    close(a);
    close(c);

    /* An IPv6 socket reaches an IPv4 listener through a mapped address. */
    socklen_t llen;
    int l = listener(AF_INET, &ss, &llen);
    struct sockaddr_in6 m6;
    memset(&m6, 0, sizeof m6);
    m6.sin6_family = AF_INET6;
    m6.sin6_port = htons((unsigned short)port_of(&ss));
    inet_pton(AF_INET6, "::ffff:127.0.0.1", &m6.sin6_addr);
    int k = socket(AF_INET6, SOCK_STREAM, 0);
    s = RC(connect(k, (struct sockaddr *)&m6, sizeof m6));
    wait_fd(l, POLLIN, WAIT_MS);
    flen = sizeof from;
    memset(&from, 0, sizeof from);
    int acc = accept(l, (struct sockaddr *)&from, &flen);
    r = acc < 0 ? rc_str(-1, errno) : addr_str(&from);
    struct sockaddr_storage pn;
    len = sizeof pn;
    memset(&pn, 0, sizeof pn);
    getpeername(k, (struct sockaddr *)&pn, &len);
    say("tcp6-v4-mapped", "connect %s, accepted from %s, peer %s %s", s, r, addr_str(&pn),
        port_str(&pn, port_of(&ss), "listener"));
    if (acc >= 0) {
        close(acc);
    }
    /* No address wanted: the length pointer is not looked at. */
    int k2 = socket(AF_INET6, SOCK_STREAM, 0);
    connect(k2, (struct sockaddr *)&m6, sizeof m6);
    wait_fd(l, POLLIN, WAIT_MS);
    flen = sizeof from;
    int acc2 = accept(l, NULL, &flen);
    say("accept-null-address-with-length", "%s", acc2 >= 0 ? "ok" : rc_str(-1, errno));
    if (acc2 >= 0) {
        close(acc2);
    }
    close(k2);
    close(k);
    close(l);

    /* A fresh, unconnected stream socket. */
    k = socket(AF_INET, SOCK_STREAM, 0);
    p = (struct pollfd){k, POLLIN | POLLOUT, 0};
    s = RC(poll(&p, 1, 0));
    say("poll-fresh-tcp-socket", "%s %s", s, ev_str(p.revents));
    p = (struct pollfd){k, 0, 0};
    s = RC(poll(&p, 1, 0));
    say("poll-fresh-tcp-socket-no-events", "%s %s", s, ev_str(p.revents));
    int acc_fl = fcntl(k, F_GETFL);
    say("fcntl-getfl-accmode", "%s",
        acc_fl < 0 ? rc_str(-1, errno) : (acc_fl & O_ACCMODE) == O_RDWR ? "O_RDWR" : "other");
    close(k);
    k = socket(AF_INET, SOCK_DGRAM, 0);
    p = (struct pollfd){k, POLLIN | POLLOUT, 0};
    s = RC(poll(&p, 1, 0));
    say("poll-fresh-udp-socket", "%s %s", s, ev_str(p.revents));
    close(k);

    /* SOCK_CLOEXEC is kept. */
    k = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int fdfl = fcntl(k, F_GETFD);
    say("socket-sock-cloexec", "%s",
        fdfl < 0 ? rc_str(-1, errno) : fdfl & FD_CLOEXEC ? "FD_CLOEXEC" : "0");
    close(k);
}

/* A stream socket closed both ways by an error the program has taken:
 * what poll, recv and send say (Linux: POLLHUP even to an entry asking
 * for nothing, end of stream, EPIPE). */
static void closed_both_ways(const char *name, int fd) {
    char buf[8];
    struct pollfd p = {fd, POLLIN | POLLOUT | POLLRDHUP, 0};
    const char *s = RC(poll(&p, 1, 0));
    struct pollfd q = {fd, 0, 0};
    const char *t = RC(poll(&q, 1, WAIT_MS));
    const char *r = RC(recv(fd, buf, sizeof buf, 0));
    const char *peek = RC(recv(fd, buf, sizeof buf, MSG_PEEK));
    say(name, "poll %s %s, no events %s %s, recv %s, peek %s, send %s", s, ev_str(p.revents), t,
        ev_str(q.revents), r, peek, RC(send(fd, "x", 1, MSG_NOSIGNAL)));
}

/* SO_LINGER {1, 0}: close resets, the peer's recv fails ECONNRESET. */
void stream_linger_reset(void) {
    int c, a;
    if (pair(AF_INET, &c, &a) != 0) {
        SETUP_FAILED("tcp-linger-zero");
        return;
    }
    struct linger lg = {1, 0}, back = {-1, -1};
    const char *s = RC(setsockopt(a, SOL_SOCKET, SO_LINGER, &lg, sizeof lg));
    socklen_t len = sizeof back;
    const char *g = RC(getsockopt(a, SOL_SOCKET, SO_LINGER, &back, &len));
    say("tcp-linger-zero", "set %s, get %s {%d, %d}", s, g, back.l_onoff != 0, back.l_linger);
    close(a);
    char buf[8];
    int ev = wait_fd(c, POLLIN, WAIT_MS);
    say("tcp-recv-after-reset", "ready=%s, recv %s", ev ? "yes" : "no",
        RC(recv(c, buf, sizeof buf, 0)));
    closed_both_ways("tcp-after-reset-taken", c);
    close(c);
}

/* shutdown on a listener: Linux stops it listening (SHUT_RDWR) and
 * resets the connection waiting in its queue; wasock refuses it (the
 * WIT's states table), listed in differential.expected. */
void stream_listener_shutdown(void) {
    struct sockaddr_storage ss;
    socklen_t len;
    int l = listener(AF_INET, &ss, &len);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    connect(c, (struct sockaddr *)&ss, len);
    const char *rdwr = RC(shutdown(l, SHUT_RDWR));
    struct pollfd p = {l, POLLIN, 0};
    const char *s = RC(poll(&p, 1, 0));
    int a = accept4(l, NULL, NULL, SOCK_NONBLOCK);
    const char *acc = a >= 0 ? "ok" : rc_str(-1, errno);
    if (a >= 0) {
        close(a);
    }
    char buf[4];
    wait_fd(c, POLLIN, 200);
    say("tcp-listener-shutdown", "SHUT_RDWR %s, poll %s %s, accept %s, queued peer's recv %s", rdwr,
        s, ev_str(p.revents), acc, RC(recv(c, buf, sizeof buf, MSG_DONTWAIT)));
    close(c);
    close(l);
}

/* connect to a port nobody listens on, blocking and non-blocking. */
void stream_refused(void) {
    struct sockaddr_storage ss;
    unsigned port = free_port(AF_INET);
    socklen_t len = loopback(AF_INET, port, &ss);
    socklen_t addr_len = len;
    int c = socket(AF_INET, SOCK_STREAM, 0);
    say("tcp-connect-refused", "%s", RC(connect(c, (struct sockaddr *)&ss, len)));
    close(c);

    c = socket(AF_INET, SOCK_STREAM, 0);
    set_nonblocking(c, true);
    const char *s = RC(connect(c, (struct sockaddr *)&ss, len));
    int ev = wait_fd(c, POLLOUT, WAIT_MS);
    int err = -1;
    len = sizeof err;
    const char *g = RC(getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &len));
    say("tcp-nb-connect-refused", "connect %s, %s, SO_ERROR %s %s", s,
        ev & (POLLOUT | POLLERR) ? "ready" : "not-ready", g, err < 0 ? "?" : ename(err));
    err = -1;
    len = sizeof err;
    getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &len);
    say("tcp-so-error-cleared", "%s", err < 0 ? "?" : ename(err));
    closed_both_ways("tcp-after-refusal-taken", c);
    close(c);

    /* A connect() that reports the refusal leaves the socket as new. */
    c = socket(AF_INET, SOCK_STREAM, 0);
    connect(c, (struct sockaddr *)&ss, addr_len);
    char buf[8];
    struct pollfd p = {c, POLLIN | POLLOUT, 0};
    s = RC(poll(&p, 1, 0));
    const char *r = RC(recv(c, buf, sizeof buf, 0));
    say("tcp-after-blocking-refusal", "poll %s %s, recv %s, send %s", s, ev_str(p.revents), r,
        RC(send(c, "x", 1, MSG_NOSIGNAL)));
    close(c);
}
