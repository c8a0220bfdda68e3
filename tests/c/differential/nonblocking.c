/* Differential test, non-blocking mode: O_NONBLOCK set through fcntl,
 * FIONBIO and MSG_DONTWAIT and what F_GETFL says after each, the send
 * direction filled until it would block, accept on an empty queue, and
 * SOCK_NONBLOCK on socket and accept4. */
#include "common.h"

void nonblocking(void) {
    int c, a;
    char buf[16];
    if (pair(AF_INET, &c, &a) != 0) {
        SETUP_FAILED("nb");
        return;
    }
    int fl = fcntl(a, F_GETFL);
    say("nb-getfl-default", "%s", mode_str(fl));

    const char *s = RC(fcntl(a, F_SETFL, fl | O_NONBLOCK));
    say("nb-fcntl-recv", "setfl %s, recv %s", s, RC(recv(a, buf, sizeof buf, 0)));
    fl = fcntl(a, F_GETFL);
    say("nb-getfl-set", "%s", mode_str(fl));
    fcntl(a, F_SETFL, fl & ~O_NONBLOCK);

    int on = 1;
    s = RC(ioctl(a, FIONBIO, &on));
    const char *r = RC(recv(a, buf, sizeof buf, 0));
    fl = fcntl(a, F_GETFL);
    on = 0;
    const char *s2 = RC(ioctl(a, FIONBIO, &on));
    int fl2 = fcntl(a, F_GETFL);
    say("nb-fionbio", "on %s, recv %s, getfl %s, off %s, getfl %s", s, r, mode_str(fl), s2,
        mode_str(fl2));

    r = RC(recv(a, buf, sizeof buf, MSG_DONTWAIT));
    fl = fcntl(a, F_GETFL);
    say("nb-msg-dontwait", "recv %s, then %s", r, mode_str(fl));

    /* Fill the send direction until it would block. */
    set_nonblocking(c, true);
    enum { CHUNK = 65536 };
    char *chunk = calloc(1, CHUNK);
    long total = 0, n = 0;
    while (total < 64L * 1024 * 1024 && (n = send(c, chunk, CHUNK, 0)) > 0) {
        total += n;
    }
    int e = errno;
    say("nb-send-until-full", "%s after %s", n < 0 ? rc_str(-1, e) : "no error",
        total > 0 ? "bytes>0" : "0 bytes");
    struct pollfd p = {c, POLLOUT, 0};
    s = RC(poll(&p, 1, 0));
    say("nb-poll-full-not-writable", "%s %s", s, ev_str(p.revents));
    free(chunk);
    close(a);
    close(c);

    /* accept on an empty queue. */
    struct sockaddr_storage ss;
    socklen_t len;
    int l = listener(AF_INET, &ss, &len);
    set_nonblocking(l, true);
    say("nb-accept-empty", "%s", RC(accept(l, NULL, NULL)));

    /* accept4(SOCK_NONBLOCK) and socket(SOCK_NONBLOCK). */
    int k = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    fl = fcntl(k, F_GETFL);
    say("nb-socket-sock-nonblock", "%s", mode_str(fl));
    connect(k, (struct sockaddr *)&ss, len);
    wait_fd(l, POLLIN, WAIT_MS);
    int acc = accept4(l, NULL, NULL, SOCK_NONBLOCK);
    fl = acc < 0 ? 0 : fcntl(acc, F_GETFL);
    say("nb-accept4-sock-nonblock", "%s %s", acc < 0 ? rc_str(-1, errno) : "ok", mode_str(fl));
    if (acc >= 0) {
        close(acc);
    }
    close(k);
    close(l);
}
