/* Winsock 2 as Windows documents it: one line per case, `CASE: ok` or
 * `CASE: WRONG got X want Y`, then `cases: N`; the exit status is 0 only
 * if every case matched. Each expected value is the one Windows' own
 * documentation gives (learn.microsoft.com: WSAStartup, WSAPoll, select,
 * setsockopt/getsockopt SOL_SOCKET options, shutdown, closesocket,
 * getaddrinfo, the Windows Sockets error codes).
 *
 * A plain Windows source: it builds with MinGW-w64
 * (x86_64-w64-mingw32-gcc winsock.c -lws2_32) as with any other Winsock
 * implementation. It uses 127.0.0.1 only, ports the system picks, no
 * threads, and bounds every wait it makes at 2 seconds. */
#ifndef _WIN32_WINNT
#define _WIN32_WINNT 0x0600 /* WSAPoll, getaddrinfo: Vista and later */
#endif
#include <winsock2.h>
#include <ws2tcpip.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int ncases, nwrong;

/* One case: `got` against `want`, both as text. */
static void check(const char *name, const char *got, const char *want) {
    ncases++;
    if (strcmp(got, want) == 0) {
        printf("%s: ok\n", name);
    } else {
        nwrong++;
        printf("%s: WRONG got %s want %s\n", name, got, want);
    }
    fflush(stdout);
}

/* A call that must fail with SOCKET_ERROR and the Winsock code `want`. */
static void check_fail(const char *name, int rc, int err, int want) {
    char got[64], exp[64];
    snprintf(got, sizeof got, "rc=%d err=%d", rc, err);
    snprintf(exp, sizeof exp, "rc=%d err=%d", SOCKET_ERROR, want);
    check(name, got, exp);
}

/* A call that returns a number: `rc` against `want`. */
static void check_int(const char *name, long rc, long want) {
    char got[32], exp[32];
    snprintf(got, sizeof got, "%ld", rc);
    snprintf(exp, sizeof exp, "%ld", want);
    check(name, got, exp);
}

/* ---- setup ------------------------------------------------------------ */

static struct sockaddr_in loopback(unsigned short port) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    return a;
}

/* The port `s` is bound to, or 0. */
static unsigned short port_of(SOCKET s) {
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    if (getsockname(s, (struct sockaddr *)&a, &len) != 0) {
        return 0;
    }
    return ntohs(a.sin_port);
}

/* A TCP socket bound to 127.0.0.1 on a port the system picks, or
 * INVALID_SOCKET. */
static SOCKET bound_socket(void) {
    SOCKET s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    struct sockaddr_in a = loopback(0);
    if (s != INVALID_SOCKET && bind(s, (struct sockaddr *)&a, sizeof a) != 0) {
        closesocket(s);
        s = INVALID_SOCKET;
    }
    return s;
}

/* A blocking TCP connection to 127.0.0.1:port, or INVALID_SOCKET. */
static SOCKET connect_to(unsigned short port) {
    SOCKET s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    struct sockaddr_in a = loopback(port);
    if (s != INVALID_SOCKET && connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
        closesocket(s);
        s = INVALID_SOCKET;
    }
    return s;
}

/* Whether `s` becomes readable within `sec` seconds (at most 2). */
static int readable_within(SOCKET s, long sec) {
    fd_set r;
    struct timeval tv;
    FD_ZERO(&r);
    FD_SET(s, &r);
    tv.tv_sec = sec;
    tv.tv_usec = 0;
    return select(0, &r, NULL, NULL, &tv) == 1 && FD_ISSET(s, &r);
}

/* Setup failed: say so as a case, and stop. */
static int give_up(const char *what) {
    char got[96];
    snprintf(got, sizeof got, "setup-failed(%s,err=%d)", what, WSAGetLastError());
    check("setup", got, "ok");
    printf("cases: %d\n", ncases);
    return 1;
}

/* ---- cases ------------------------------------------------------------ */

/* The values Windows' headers give the names this program uses. */
static void header_values(void) {
    static const struct {
        const char *name;
        unsigned long value, want;
    } T[] = {
        {"FIONBIO", (unsigned long)FIONBIO, 0x8004667EUL},
        {"FIONREAD", (unsigned long)FIONREAD, 0x4004667FUL},
        {"POLLRDNORM", POLLRDNORM, 0x0100},
        {"POLLRDBAND", POLLRDBAND, 0x0200},
        {"POLLIN", POLLIN, 0x0300},
        {"POLLPRI", POLLPRI, 0x0400},
        {"POLLWRNORM", POLLWRNORM, 0x0010},
        {"POLLOUT", POLLOUT, 0x0010},
        {"POLLERR", POLLERR, 0x0001},
        {"POLLHUP", POLLHUP, 0x0002},
        {"POLLNVAL", POLLNVAL, 0x0004},
        {"SD_RECEIVE", SD_RECEIVE, 0},
        {"SD_SEND", SD_SEND, 1},
        {"SD_BOTH", SD_BOTH, 2},
        {"FD_SETSIZE", FD_SETSIZE, 64},
    };
    char got[96] = "all-match";
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++) {
        if (T[i].value != T[i].want) {
            snprintf(got, sizeof got, "%s=%#lx", T[i].name, T[i].value);
            break;
        }
    }
    if (strcmp(got, "all-match") == 0 && (SOCKET_ERROR != -1 || INVALID_SOCKET != (SOCKET)~(SOCKET)0)) {
        snprintf(got, sizeof got, "SOCKET_ERROR-or-INVALID_SOCKET");
    }
    check("header-values", got, "all-match");
}

/* The Windows Sockets error codes, as Windows numbers them. */
static void error_values(void) {
    static const struct {
        const char *name;
        int value, want;
    } T[] = {
        {"WSAEINVAL", WSAEINVAL, 10022},
        {"WSAEWOULDBLOCK", WSAEWOULDBLOCK, 10035},
        {"WSAENOTSOCK", WSAENOTSOCK, 10038},
        {"WSAENOTCONN", WSAENOTCONN, 10057},
        {"WSAETIMEDOUT", WSAETIMEDOUT, 10060},
        {"WSAECONNREFUSED", WSAECONNREFUSED, 10061},
        {"WSAVERNOTSUPPORTED", WSAVERNOTSUPPORTED, 10092},
        {"WSANOTINITIALISED", WSANOTINITIALISED, 10093},
        {"WSAHOST_NOT_FOUND", WSAHOST_NOT_FOUND, 11001},
    };
    char got[96] = "all-match";
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++) {
        if (T[i].value != T[i].want) {
            snprintf(got, sizeof got, "%s=%d", T[i].name, T[i].value);
            break;
        }
    }
    check("wsa-error-values", got, "all-match");
}

/* WSAStartup of `version`: its result and wVersion; a success is undone
 * with WSACleanup, keeping the count of started sessions as it was. */
static void startup_case(const char *name, WORD version, int want_rc, WORD want_version) {
    WSADATA d;
    char got[64], exp[64];
    int rc = WSAStartup(version, &d);
    if (rc == 0) {
        snprintf(got, sizeof got, "rc=0 wVersion=%#06x", d.wVersion);
        WSACleanup();
    } else {
        snprintf(got, sizeof got, "rc=%d", rc);
    }
    if (want_rc == 0) {
        snprintf(exp, sizeof exp, "rc=0 wVersion=%#06x", want_version);
    } else {
        snprintf(exp, sizeof exp, "rc=%d", want_rc);
    }
    check(name, got, exp);
}

/* The FD_* macros on Winsock's fd_set, a count and an array. */
static void fd_set_macros(SOCKET x, SOCKET y) {
    fd_set s;
    char got[128];
    u_int zero, two, dup, one;
    int isset_x, cleared_x, kept_y, first_y;
    FD_ZERO(&s);
    zero = s.fd_count;
    FD_SET(x, &s);
    FD_SET(y, &s);
    two = s.fd_count;
    FD_SET(x, &s); /* already there: not added again */
    dup = s.fd_count;
    isset_x = FD_ISSET(x, &s) != 0;
    FD_CLR(x, &s);
    one = s.fd_count;
    cleared_x = FD_ISSET(x, &s) == 0;
    kept_y = FD_ISSET(y, &s) != 0;
    first_y = s.fd_array[0] == y;
    snprintf(got, sizeof got, "zero=%u set=%u dup=%u isset=%d clr=%u gone=%d kept=%d at0=%d", zero,
             two, dup, isset_x, one, cleared_x, kept_y, first_y);
    check("fd-set-macros", got, "zero=0 set=2 dup=2 isset=1 clr=1 gone=1 kept=1 at0=1");
}

int main(void) {
    WSADATA wsa;
    char got[128], exp[128];
    char buf[64];
    int rc, err;

    header_values();
    error_values();

    /* WSAStartup returns its error (it sets no last error); Ws2_32.dll
     * serves requests for 1.0, 1.1, 2.0, 2.1 and 2.2, answering in
     * wVersion the version the caller asked for (WSAStartup, Remarks). */
    rc = WSAStartup(MAKEWORD(2, 2), &wsa);
    snprintf(got, sizeof got, "rc=%d wVersion=%#06x wHighVersion=%#06x", rc,
             rc == 0 ? wsa.wVersion : 0, rc == 0 ? wsa.wHighVersion : 0);
    check("wsastartup-2.2", got, "rc=0 wVersion=0x0202 wHighVersion=0x0202");
    if (rc != 0) {
        return give_up("WSAStartup");
    }
    startup_case("wsastartup-1.0", MAKEWORD(1, 0), 0, MAKEWORD(1, 0));
    startup_case("wsastartup-2.0", MAKEWORD(2, 0), 0, MAKEWORD(2, 0));
    /* Lower than the lowest version served (1.0). */
    startup_case("wsastartup-0.2", MAKEWORD(0, 2), WSAVERNOTSUPPORTED, 0);

    SOCKET listener = bound_socket();
    unsigned short port = port_of(listener);
    if (listener == INVALID_SOCKET || port == 0 || listen(listener, 16) != 0) {
        return give_up("listener");
    }
    struct sockaddr_in to = loopback(port);

    /* ---- one connection, non-blocking --------------------------------- */
    SOCKET c1 = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    check("socket", c1 != INVALID_SOCKET ? "valid" : "INVALID_SOCKET", "valid");
    if (c1 == INVALID_SOCKET) {
        return give_up("socket");
    }
    u_long on = 1;
    check_int("ioctlsocket-fionbio", ioctlsocket(c1, FIONBIO, &on), 0);
    /* connect: "With a nonblocking socket, the connection attempt cannot
     * be completed immediately": SOCKET_ERROR, WSAEWOULDBLOCK. */
    rc = connect(c1, (struct sockaddr *)&to, sizeof to);
    err = WSAGetLastError();
    check_fail("connect-nonblocking", rc, err, WSAEWOULDBLOCK);
    {
        fd_set w;
        struct timeval tv = {2, 0};
        FD_ZERO(&w);
        FD_SET(c1, &w);
        rc = select(0, NULL, &w, NULL, &tv);
        snprintf(got, sizeof got, "rc=%d writable=%d", rc, FD_ISSET(c1, &w) != 0);
        check("select-connected-writable", got, "rc=1 writable=1");
    }
    SOCKET a1 = accept(listener, NULL, NULL);
    if (a1 == INVALID_SOCKET) {
        return give_up("accept");
    }
    rc = recv(c1, buf, sizeof buf, 0);
    err = WSAGetLastError();
    check_fail("recv-empty-nonblocking", rc, err, WSAEWOULDBLOCK);

    send(a1, "hello", 5, 0);
    readable_within(c1, 2);
    {
        u_long n = 0;
        rc = ioctlsocket(c1, FIONREAD, &n);
        snprintf(got, sizeof got, "rc=%d n=%lu", rc, n);
        check("ioctlsocket-fionread", got, "rc=0 n=5");
    }
    {
        /* Windows' flag values, not POSIX's (POLLIN 0x1 is Windows'
         * POLLERR). */
        WSAPOLLFD p;
        p.fd = c1;
        p.events = POLLRDNORM;
        p.revents = 0;
        rc = WSAPoll(&p, 1, 2000);
        snprintf(got, sizeof got, "rc=%d revents=%#06x", rc, (unsigned)(unsigned short)p.revents);
        check("wsapoll-pollrdnorm", got, "rc=1 revents=0x0100");
        p.events = POLLWRNORM;
        p.revents = 0;
        rc = WSAPoll(&p, 1, 2000);
        snprintf(got, sizeof got, "rc=%d revents=%#06x", rc, (unsigned)(unsigned short)p.revents);
        check("wsapoll-pollwrnorm", got, "rc=1 revents=0x0010");
        /* "If the POLLPRI flag is set on a socket for the Microsoft
         * Winsock provider, the WSAPoll function will fail" (WSAEINVAL). */
        p.events = POLLPRI;
        p.revents = 0;
        rc = WSAPoll(&p, 1, 0);
        err = WSAGetLastError();
        check_fail("wsapoll-pollpri", rc, err, WSAEINVAL);
    }
    {
        /* select: nfds is ignored; of three sockets only c1 has data, and
         * only c1 is left in the set. */
        fd_set r;
        struct timeval tv = {2, 0};
        FD_ZERO(&r);
        FD_SET(listener, &r);
        FD_SET(a1, &r);
        FD_SET(c1, &r);
        rc = select(0, &r, NULL, NULL, &tv);
        snprintf(got, sizeof got, "rc=%d fd_count=%u is_c1=%d", rc, r.fd_count, r.fd_array[0] == c1);
        check("select-nfds-0-readable", got, "rc=1 fd_count=1 is_c1=1");
    }
    check_int("recv-data", recv(c1, buf, sizeof buf, 0), 5);
    fd_set_macros(c1, a1);

    /* The peer closes (gracefully: it has nothing unread). WSAPoll:
     * "POLLRDNORM ... when a remote peer shuts down a send operation (a
     * TCP FIN was received)" and "POLLHUP ... when the remote peer
     * initiates a graceful disconnect". */
    closesocket(a1);
    {
        WSAPOLLFD p;
        p.fd = c1;
        p.events = POLLRDNORM;
        p.revents = 0;
        rc = WSAPoll(&p, 1, 2000);
        snprintf(got, sizeof got, "rc=%d revents=%#06x", rc, (unsigned)(unsigned short)p.revents);
        check("wsapoll-peer-closed", got, "rc=1 revents=0x0102");
    }
    check_int("recv-after-peer-closed", recv(c1, buf, sizeof buf, 0), 0);
    check_int("closesocket", closesocket(c1), 0);
    /* The socket just closed is no socket any more: closesocket says
     * WSAENOTSOCK, and a WSAPoll with no valid socket fails (WSAEINVAL:
     * "none of the sockets specified ... were valid"). */
    {
        WSAPOLLFD p;
        p.fd = c1;
        p.events = POLLRDNORM;
        p.revents = 0;
        rc = WSAPoll(&p, 1, 0);
        err = WSAGetLastError();
        check_fail("wsapoll-no-valid-socket", rc, err, WSAEINVAL);
    }
    rc = closesocket(c1);
    err = WSAGetLastError();
    check_fail("closesocket-twice", rc, err, WSAENOTSOCK);
    rc = closesocket((SOCKET)0x7ffffff3);
    err = WSAGetLastError();
    check_fail("closesocket-not-a-socket", rc, err, WSAENOTSOCK);

    /* ---- shutdown with Windows' SD_* values ------------------------------- */
    SOCKET c2 = connect_to(port);
    SOCKET a2 = c2 == INVALID_SOCKET ? INVALID_SOCKET : accept(listener, NULL, NULL);
    if (a2 == INVALID_SOCKET) {
        return give_up("second connection");
    }
    {
        /* SD_SEND: "subsequent calls to send are disallowed"; the peer
         * reads the end of the stream, and c2 still receives. */
        int peer = -2, mine = -2;
        rc = shutdown(c2, SD_SEND);
        if (readable_within(a2, 2)) {
            peer = recv(a2, buf, sizeof buf, 0);
        }
        send(a2, "x", 1, 0);
        if (readable_within(c2, 2)) {
            mine = recv(c2, buf, sizeof buf, 0);
        }
        snprintf(got, sizeof got, "rc=%d peer_recv=%d own_recv=%d", rc, peer, mine);
        check("shutdown-sd-send", got, "rc=0 peer_recv=0 own_recv=1");
        check_int("shutdown-sd-receive", shutdown(c2, SD_RECEIVE), 0);
    }
    closesocket(c2);
    closesocket(a2);

    /* ---- SO_RCVTIMEO / SO_SNDTIMEO: a DWORD of milliseconds ------------ */
    SOCKET c3 = connect_to(port);
    SOCKET a3 = c3 == INVALID_SOCKET ? INVALID_SOCKET : accept(listener, NULL, NULL);
    if (a3 == INVALID_SOCKET) {
        return give_up("third connection");
    }
    {
        DWORD ms = 300, back = 0;
        socklen_t len = sizeof back;
        rc = setsockopt(c3, SOL_SOCKET, SO_RCVTIMEO, (const char *)&ms, sizeof ms);
        err = WSAGetLastError();
        snprintf(got, sizeof got, "rc=%d err=%d", rc, rc == 0 ? 0 : err);
        check("so-rcvtimeo-dword-set", got, "rc=0 err=0");
        rc = getsockopt(c3, SOL_SOCKET, SO_RCVTIMEO, (char *)&back, &len);
        snprintf(got, sizeof got, "rc=%d value=%lu len=%d", rc, (unsigned long)back, (int)len);
        check("so-rcvtimeo-dword-get", got, "rc=0 value=300 len=4");
        /* A blocking recv with nothing to read gives up after the timeout:
         * SOCKET_ERROR, WSAETIMEDOUT. Only tried once the timeout reads
         * back as set, so that it cannot block for long. */
        if (back == 300) {
            rc = recv(c3, buf, sizeof buf, 0);
            err = WSAGetLastError();
            check_fail("recv-timeout", rc, err, WSAETIMEDOUT);
        } else {
            check("recv-timeout", "not-tried(timeout-not-set)", "rc=-1 err=10060");
        }
        ms = 1500;
        back = 0;
        len = sizeof back;
        rc = setsockopt(c3, SOL_SOCKET, SO_SNDTIMEO, (const char *)&ms, sizeof ms);
        if (rc == 0) {
            rc = getsockopt(c3, SOL_SOCKET, SO_SNDTIMEO, (char *)&back, &len);
        }
        snprintf(got, sizeof got, "rc=%d value=%lu len=%d", rc, (unsigned long)back, (int)len);
        check("so-sndtimeo-dword", got, "rc=0 value=1500 len=4");
    }
    closesocket(c3);
    closesocket(a3);

    /* ---- errors -------------------------------------------------------- */
    {
        /* A port bound but not listening refuses connections. */
        SOCKET closed = bound_socket();
        unsigned short closed_port = port_of(closed);
        struct sockaddr_in refuse = loopback(closed_port);
        SOCKET r = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
        rc = connect(r, (struct sockaddr *)&refuse, sizeof refuse);
        err = WSAGetLastError();
        check_fail("connect-refused", rc, err, WSAECONNREFUSED);
        closesocket(r);

        /* Non-blocking: select reports a failed connect in exceptfds, not
         * writefds ("If processing a connect call (nonblocking),
         * connection attempt failed"), and SO_ERROR holds the Winsock
         * code. Windows retries a refused SYN for about two seconds:
         * up to three waits of 2 s each. */
        SOCKET nb = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
        ioctlsocket(nb, FIONBIO, &on);
        rc = connect(nb, (struct sockaddr *)&refuse, sizeof refuse);
        err = WSAGetLastError();
        check_fail("connect-refused-nonblocking", rc, err, WSAEWOULDBLOCK);
        fd_set w, e;
        rc = 0;
        for (int tries = 0; tries < 3 && rc == 0; tries++) {
            struct timeval tv = {2, 0};
            FD_ZERO(&w);
            FD_ZERO(&e);
            FD_SET(nb, &w);
            FD_SET(nb, &e);
            rc = select(0, NULL, &w, &e, &tv);
        }
        snprintf(got, sizeof got, "rc=%d writefds=%d exceptfds=%d", rc, FD_ISSET(nb, &w) != 0,
                 FD_ISSET(nb, &e) != 0);
        check("select-connect-failed", got, "rc=1 writefds=0 exceptfds=1");
        int so_error = -1;
        socklen_t len = sizeof so_error;
        rc = getsockopt(nb, SOL_SOCKET, SO_ERROR, (char *)&so_error, &len);
        snprintf(got, sizeof got, "rc=%d so_error=%d", rc, so_error);
        snprintf(exp, sizeof exp, "rc=0 so_error=%d", WSAECONNREFUSED);
        check("so-error-connect-refused", got, exp);
        closesocket(nb);
        closesocket(closed);
    }
    {
        SOCKET u = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
        rc = send(u, "x", 1, 0);
        err = WSAGetLastError();
        check_fail("send-unconnected", rc, err, WSAENOTCONN);
        closesocket(u);
    }
    {
        /* bind: WSAEINVAL, "The socket is already bound to an address". */
        SOCKET b = bound_socket();
        struct sockaddr_in again = loopback(0);
        rc = bind(b, (struct sockaddr *)&again, sizeof again);
        err = WSAGetLastError();
        check_fail("bind-twice", rc, err, WSAEINVAL);
        closesocket(b);
    }
    WSASetLastError(1234);
    check_int("wsasetlasterror-1234", WSAGetLastError(), 1234);
    WSASetLastError(0);
    check_int("wsasetlasterror-0", WSAGetLastError(), 0);
    {
        /* getaddrinfo returns a Windows Sockets code (EAI_NONAME is
         * WSAHOST_NOT_FOUND there) and sets it as the last error. */
        struct addrinfo hints, *res = NULL;
        memset(&hints, 0, sizeof hints);
        hints.ai_family = AF_INET;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_NUMERICHOST;
        rc = getaddrinfo("no.such.name.invalid", "80", &hints, &res);
        err = WSAGetLastError();
        snprintf(got, sizeof got, "failed=%d eai_noname=%d err=%d", rc != 0, rc == EAI_NONAME, err);
        snprintf(exp, sizeof exp, "failed=1 eai_noname=1 err=%d", WSAHOST_NOT_FOUND);
        check("getaddrinfo-numerichost", got, exp);
        if (rc == 0) {
            freeaddrinfo(res);
        }
    }

    closesocket(listener);
    check_int("wsacleanup", WSACleanup(), 0);
    /* One WSACleanup per successful WSAStartup: one more fails. */
    rc = WSACleanup();
    err = WSAGetLastError();
    check_fail("wsacleanup-not-started", rc, err, WSANOTINITIALISED);

    printf("cases: %d\n", ncases);
    return nwrong == 0 ? 0 : 1;
}
