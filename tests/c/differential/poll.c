/* Differential test, poll and select: timeouts, readable and writable
 * sockets, several entries at once, bad descriptors, no entries at
 * all, and a listener with a pending connection. */
#include "common.h"

void poll_select(void) {
    int c, a;
    if (pair(AF_INET, &c, &a) != 0) {
        SETUP_FAILED("poll");
        return;
    }
    char buf[16];
    struct pollfd p = {a, POLLIN, 0};
    int64_t t0 = now_ms();
    const char *s = RC(poll(&p, 1, 100));
    int64_t dt = now_ms() - t0;
    say("poll-timeout", "%s %s after %s", s, ev_str(p.revents), dt >= 90 ? ">=90ms" : "<90ms");

    p = (struct pollfd){c, POLLOUT, 0};
    s = RC(poll(&p, 1, WAIT_MS));
    say("poll-writable", "%s %s", s, ev_str(p.revents));

    send(c, "x", 1, 0);
    p = (struct pollfd){a, POLLIN, 0};
    s = RC(poll(&p, 1, WAIT_MS));
    say("poll-readable", "%s %s", s, ev_str(p.revents));

    struct pollfd two[3] = {{a, POLLIN | POLLOUT, 0}, {-1, POLLIN, 0}, {c, POLLIN, 0}};
    s = RC(poll(two, 3, WAIT_MS));
    say("poll-three-entries", "%s %s / %s / %s", s, ev_str(two[0].revents), ev_str(two[1].revents),
        ev_str(two[2].revents));

    struct pollfd bad = {12345, POLLIN, 0};
    s = RC(poll(&bad, 1, 0));
    say("poll-bad-fd", "%s %s", s, ev_str(bad.revents));
    t0 = now_ms();
    s = RC(poll(NULL, 0, 50));
    dt = now_ms() - t0;
    say("poll-no-entries", "%s after %s", s, dt >= 40 ? ">=40ms" : "<40ms");
    struct pollfd mixed[2] = {{c, POLLOUT, 0}, {12345, POLLIN, 0}};
    s = RC(poll(mixed, 2, WAIT_MS));
    say("poll-socket-and-bad-fd", "%s %s / %s", s, ev_str(mixed[0].revents),
        ev_str(mixed[1].revents));

    /* select: readable, writable, timeout. */
    fd_set rs, ws;
    FD_ZERO(&rs);
    FD_SET(a, &rs);
    struct timeval tv = {2, 0};
    int maxfd = (a > c ? a : c) + 1;
    s = RC(select(maxfd, &rs, NULL, NULL, &tv));
    /* Linux writes the time left back: most of the 2 s here. */
    say("select-readable", "%s %s, time left %s", s, FD_ISSET(a, &rs) ? "set" : "clear",
        tv.tv_sec == 1 ? "1.x s" : "other");
    recv(a, buf, sizeof buf, 0);

    FD_ZERO(&rs);
    FD_SET(a, &rs);
    tv = (struct timeval){0, 100000};
    t0 = now_ms();
    s = RC(select(maxfd, &rs, NULL, NULL, &tv));
    dt = now_ms() - t0;
    say("select-timeout", "%s %s after %s, time left %s", s, FD_ISSET(a, &rs) ? "set" : "clear",
        dt >= 90 ? ">=90ms" : "<90ms", tv.tv_sec == 0 && tv.tv_usec == 0 ? "0" : "other");

    FD_ZERO(&rs);
    FD_SET(12345 % FD_SETSIZE, &rs);
    tv = (struct timeval){0, 0};
    say("select-bad-fd", "%s", RC(select(12345 % FD_SETSIZE + 1, &rs, NULL, NULL, &tv)));
    FD_ZERO(&rs);
    FD_SET(a, &rs);
    tv = (struct timeval){0, 1000000};
    say("select-usec-past-a-second", "%s", RC(select(maxfd, &rs, NULL, NULL, &tv)));

    FD_ZERO(&rs);
    FD_ZERO(&ws);
    FD_SET(a, &rs);
    FD_SET(c, &ws);
    tv = (struct timeval){2, 0};
    s = RC(select(maxfd, &rs, &ws, NULL, &tv));
    say("select-writable", "%s read %s write %s", s, FD_ISSET(a, &rs) ? "set" : "clear",
        FD_ISSET(c, &ws) ? "set" : "clear");

    /* The peer ends its side: readable (a read of 0), not hung up, as
     * Linux says; hung up once this side has ended its sending too. */
    shutdown(c, SHUT_WR);
    p = (struct pollfd){a, POLLIN, 0};
    s = RC(poll(&p, 1, WAIT_MS));
    say("poll-peer-ended-its-side", "%s %s", s, ev_str(p.revents));
    p = (struct pollfd){a, 0, 0};
    s = RC(poll(&p, 1, 0));
    say("poll-peer-ended-nothing-asked", "%s %s", s, ev_str(p.revents));
    p = (struct pollfd){a, POLLIN | POLLPRI | POLLRDHUP, 0};
    s = RC(poll(&p, 1, 0));
    say("poll-peer-ended-rdhup", "%s %s", s, ev_str(p.revents));
    p = (struct pollfd){a, POLLRDHUP, 0};
    s = RC(poll(&p, 1, 0));
    say("poll-peer-ended-rdhup-alone", "%s %s", s, ev_str(p.revents));
    shutdown(a, SHUT_WR);
    p = (struct pollfd){a, POLLIN, 0};
    s = RC(poll(&p, 1, WAIT_MS));
    say("poll-both-sides-ended", "%s %s", s, ev_str(p.revents));
    close(a);
    close(c);

    /* select on a listener with a pending connection. */
    struct sockaddr_storage ss;
    socklen_t len;
    int l = listener(AF_INET, &ss, &len);
    int k = socket(AF_INET, SOCK_STREAM, 0);
    set_nonblocking(k, true);
    connect(k, (struct sockaddr *)&ss, len);
    FD_ZERO(&rs);
    FD_SET(l, &rs);
    tv = (struct timeval){2, 0};
    s = RC(select((l > k ? l : k) + 1, &rs, NULL, NULL, &tv));
    say("select-listener-pending", "%s %s", s, FD_ISSET(l, &rs) ? "set" : "clear");
    close(k);
    close(l);
}
