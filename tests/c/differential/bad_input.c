/* Differential test, bad input: bad and non-socket descriptors, NULL and
 * short addresses, the wrong family, calls in the wrong state (unbound,
 * unconnected, twice, on a listener, after close), and socket() with a
 * bad type, family or protocol. */
#include "common.h"

void bad_input(void) {
    char buf[8];
    struct sockaddr_storage ss;
    socklen_t len = loopback(AF_INET, 0, &ss);

    say("badfd-send", "%s", RC(send(12345, "x", 1, 0)));
    say("badfd-recv", "%s", RC(recv(12345, buf, sizeof buf, 0)));
    say("badfd-bind", "%s", RC(bind(12345, (struct sockaddr *)&ss, len)));
    say("badfd-close", "%s", RC(close(12345)));
    say("badfd-negative-getsockopt", "%s", opt_str(-1, SOL_SOCKET, SO_TYPE));

    say("notsock-send", "%s", RC(send(1, "x", 1, 0)));
    len = sizeof ss;
    say("notsock-getsockname", "%s", RC(getsockname(1, (struct sockaddr *)&ss, &len)));
    say("notsock-getsockopt", "%s", opt_str(1, SOL_SOCKET, SO_TYPE));

    int fd = socket(AF_INET, SOCK_STREAM, 0);
    say("bind-null-address", "%s", RC(bind(fd, NULL, sizeof(struct sockaddr_in))));
    len = loopback(AF_INET, 0, &ss);
    say("bind-short-length", "%s", RC(bind(fd, (struct sockaddr *)&ss, 4)));
    struct sockaddr_storage s6;
    socklen_t l6 = loopback(AF_INET6, 0, &s6);
    say("bind-wrong-family", "%s", RC(bind(fd, (struct sockaddr *)&s6, l6)));
    say("connect-null-address", "%s", RC(connect(fd, NULL, sizeof(struct sockaddr_in))));
    len = sizeof ss;
    memset(&ss, 0x55, sizeof ss);
    const char *g = RC(getsockname(fd, (struct sockaddr *)&ss, &len));
    say("getsockname-unbound", "%s %s %s", g, addr_str(&ss), port_str(&ss, 0, NULL));
    say("getpeername-unconnected", "%s", RC(getpeername(fd, (struct sockaddr *)&ss, &len)));
    say("send-unconnected-tcp", "%s", RC(send(fd, "x", 1, MSG_NOSIGNAL)));
    say("recv-unconnected-tcp", "%s", RC(recv(fd, buf, sizeof buf, MSG_DONTWAIT)));
    say("shutdown-unconnected-tcp", "%s", RC(shutdown(fd, SHUT_WR)));

    len = loopback(AF_INET, 0, &ss);
    const char *b1 = RC(bind(fd, (struct sockaddr *)&ss, len));
    say("bind-twice", "%s then %s", b1, RC(bind(fd, (struct sockaddr *)&ss, len)));
    say("accept-not-listening", "%s", RC(accept(fd, NULL, NULL)));
    const char *l1 = RC(listen(fd, 4));
    say("listen-twice", "%s then %s", l1, RC(listen(fd, 4)));
    say("opt-acceptconn-listener", "%s", opt_str(fd, SOL_SOCKET, SO_ACCEPTCONN));
    int avail = -1;
    say("fionread-listener", "%s", RC(ioctl(fd, FIONREAD, &avail)));
    struct pollfd lp = {fd, POLLIN | POLLOUT, 0};
    const char *pr = RC(poll(&lp, 1, 0));
    say("poll-idle-listener", "%s %s", pr, ev_str(lp.revents));
    len = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &len);
    int fd2 = socket(AF_INET, SOCK_STREAM, 0);
    say("bind-in-use", "%s", RC(bind(fd2, (struct sockaddr *)&ss, len)));
    close(fd2);
    say("connect-listening", "%s", RC(connect(fd, (struct sockaddr *)&ss, len)));
    say("send-on-listener", "%s", RC(send(fd, "x", 1, MSG_NOSIGNAL)));
    /* The failed connect and send left it listening. */
    int caller = socket(AF_INET, SOCK_STREAM, 0);
    connect(caller, (struct sockaddr *)&ss, len);
    lp = (struct pollfd){fd, POLLIN, 0};
    pr = RC(poll(&lp, 1, WAIT_MS));
    say("poll-listener-after-misuse", "%s %s", pr, ev_str(lp.revents));
    close(caller);
    close(fd);
    say("send-closed-fd", "%s", RC(send(fd, "x", 1, 0)));

    say("socket-bad-type", "%s", RC(socket(AF_INET, 12345, 0)));
    say("socket-bad-family", "%s", RC(socket(12345, SOCK_STREAM, 0)));
    say("socket-bad-protocol", "%s", RC(socket(AF_INET, SOCK_STREAM, IPPROTO_UDP)));
    int ok = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
    say("socket-explicit-protocol", "%s", ok >= 0 ? "ok" : rc_str(-1, errno));

    /* Buffer lists a program may get wrong: lengths that add up past
     * what a size holds, and counts out of range. */
    len = loopback(AF_INET, 0, &ss);
    char big[16];
    struct iovec wrap[2] = {{big, sizeof big}, {big, SIZE_MAX - 7}};
    struct msghdr m = {.msg_name = &ss, .msg_namelen = len, .msg_iov = wrap, .msg_iovlen = 2};
    say("sendmsg-lengths-overflow", "%s", RC(sendmsg(ok, &m, 0)));
    say("recvmsg-lengths-overflow", "%s", RC(recvmsg(ok, &m, MSG_DONTWAIT)));
    m.msg_iovlen = -1;
    say("sendmsg-negative-count", "%s", RC(sendmsg(ok, &m, 0)));
    m.msg_iovlen = IOV_MAX + 1;
    say("sendmsg-count-over-iov-max", "%s", RC(sendmsg(ok, &m, 0)));
    if (ok >= 0) {
        close(ok);
    }
}
