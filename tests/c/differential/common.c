/* Differential test, shared helpers: the output side (one line per case,
 * errno and EAI_* codes by name, results, received bytes, poll events,
 * addresses and ports formatted so that nothing varies between runs or
 * between glibc and wasi-libc) and the setup side (loopback addresses,
 * bound and listening sockets, connected pairs, bounded waits, option
 * reads). Declared, with the RC/GOT/SETUP_FAILED macros, in common.h. */
#include "common.h"

int cases;

long rc_tmp;

/* ---- output ---------------------------------------------------------- */

/* Print one case line. */
void say(const char *name, const char *fmt, ...) {
    va_list ap;
    printf("%s: ", name);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
    cases++;
}

/* errno by name: the numbers differ between glibc and wasi-libc. A table
 * rather than a switch, because some names share a value on one side
 * (EAGAIN/EWOULDBLOCK, EOPNOTSUPP/ENOTSUP); the first name wins. */
const char *ename(int e) {
    static const struct {
        int value;
        const char *name;
    } T[] = {
        {0, "0"},
        {EAGAIN, "EAGAIN"},
        {EACCES, "EACCES"},
        {EADDRINUSE, "EADDRINUSE"},
        {EADDRNOTAVAIL, "EADDRNOTAVAIL"},
        {EAFNOSUPPORT, "EAFNOSUPPORT"},
        {ENAMETOOLONG, "ENAMETOOLONG"},
        {EALREADY, "EALREADY"},
        {EBADF, "EBADF"},
        {ECONNABORTED, "ECONNABORTED"},
        {ECONNREFUSED, "ECONNREFUSED"},
        {ECONNRESET, "ECONNRESET"},
        {EDESTADDRREQ, "EDESTADDRREQ"},
        {EDOM, "EDOM"},
        {EFAULT, "EFAULT"},
        {EHOSTUNREACH, "EHOSTUNREACH"},
        {EINPROGRESS, "EINPROGRESS"},
        {EINTR, "EINTR"},
        {EINVAL, "EINVAL"},
        {EIO, "EIO"},
        {EISCONN, "EISCONN"},
        {EMFILE, "EMFILE"},
        {EMSGSIZE, "EMSGSIZE"},
        {ENETDOWN, "ENETDOWN"},
        {ENETUNREACH, "ENETUNREACH"},
        {ENOBUFS, "ENOBUFS"},
        {ENOENT, "ENOENT"},
        {ENOMEM, "ENOMEM"},
        {ENOPROTOOPT, "ENOPROTOOPT"},
        {ENOSPC, "ENOSPC"},
        {ENOSYS, "ENOSYS"},
        {ENOTCONN, "ENOTCONN"},
        {ENOTSOCK, "ENOTSOCK"},
        {ENOTTY, "ENOTTY"},
        {EOPNOTSUPP, "EOPNOTSUPP"},
        {ENOTSUP, "ENOTSUP"},
        {EOVERFLOW, "EOVERFLOW"},
        {EPERM, "EPERM"},
        {EPIPE, "EPIPE"},
        {EPROTONOSUPPORT, "EPROTONOSUPPORT"},
        {EPROTOTYPE, "EPROTOTYPE"},
        {ERANGE, "ERANGE"},
        {ETIMEDOUT, "ETIMEDOUT"},
    };
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++) {
        if (T[i].value == e) {
            return T[i].name;
        }
    }
    return "E-unknown";
}

/* getaddrinfo/getnameinfo codes by name, independent of gai_strerror. */
const char *eainame(int e) {
    static const struct {
        int value;
        const char *name;
    } T[] = {
        {0, "0"},
        {EAI_BADFLAGS, "EAI_BADFLAGS"},
        {EAI_NONAME, "EAI_NONAME"},
        {EAI_AGAIN, "EAI_AGAIN"},
        {EAI_FAIL, "EAI_FAIL"},
        {EAI_NODATA, "EAI_NODATA"},
        {EAI_FAMILY, "EAI_FAMILY"},
        {EAI_SOCKTYPE, "EAI_SOCKTYPE"},
        {EAI_SERVICE, "EAI_SERVICE"},
        {EAI_MEMORY, "EAI_MEMORY"},
        {EAI_SYSTEM, "EAI_SYSTEM"},
        {EAI_OVERFLOW, "EAI_OVERFLOW"},
    };
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++) {
        if (T[i].value == e) {
            return T[i].name;
        }
    }
    return "EAI-unknown";
}

/* A fresh buffer for one formatted value; eight live at once. */
static char *ring(void) {
    static char bufs[8][512];
    static int next;
    return bufs[next++ % 8];
}

/* `r` as a result: the number, or "-1 ENAME" with the errno `e`. */
const char *rc_str(long r, int e) {
    char *b = ring();
    if (r < 0) {
        snprintf(b, 512, "-1 %s", ename(e));
    } else {
        snprintf(b, 512, "%ld", r);
    }
    return b;
}

/* Received data: `5 bytes "hello"`, or "-1 ENAME". */
const char *bytes_str(long n, int e, const char *buf) {
    if (n < 0) {
        return rc_str(n, e);
    }
    char *b = ring();
    int k = snprintf(b, 512, "%ld bytes \"", n);
    for (long i = 0; i < n && k < 480; i++) {
        unsigned char c = (unsigned char)buf[i];
        k += snprintf(b + k, 512 - (size_t)k, c >= 32 && c < 127 && c != '"' ? "%c" : "\\x%02x", c);
    }
    snprintf(b + k, 512 - (size_t)k, "\"");
    return b;
}

/* poll revents by name. */
const char *ev_str(int r) {
    char *b = ring();
    b[0] = '\0';
    static const struct {
        int bit;
        const char *name;
    } T[] = {{POLLIN, "POLLIN"},   {POLLOUT, "POLLOUT"}, {POLLERR, "POLLERR"},
             {POLLHUP, "POLLHUP"}, {POLLNVAL, "POLLNVAL"}, {POLLRDHUP, "POLLRDHUP"},
             {POLLPRI, "POLLPRI"}};
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++) {
        if (r & T[i].bit) {
            strcat(b, b[0] ? "|" : "");
            strcat(b, T[i].name);
            r &= ~T[i].bit;
        }
    }
    if (r != 0) {
        strcat(b, b[0] ? "|other" : "other");
    }
    return b[0] ? b : "none";
}

/* An address without its port: "127.0.0.1", "::1". */
const char *addr_str(const struct sockaddr_storage *ss) {
    char *b = ring();
    const void *a = ss->ss_family == AF_INET
                        ? (const void *)&((const struct sockaddr_in *)ss)->sin_addr
                        : (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr;
    if (ss->ss_family != AF_INET && ss->ss_family != AF_INET6) {
        return "family?";
    }
    if (inet_ntop(ss->ss_family, a, b, 512) == NULL) {
        return "ntop-failed";
    }
    return b;
}

const char *family_str(int f) {
    return f == AF_INET     ? "AF_INET"
           : f == AF_INET6  ? "AF_INET6"
           : f == AF_UNSPEC ? "AF_UNSPEC"
                            : "AF_other";
}

const char *type_str(int t) {
    return t == SOCK_STREAM ? "SOCK_STREAM" : t == SOCK_DGRAM ? "SOCK_DGRAM" : "SOCK_other";
}

/* F_GETFL's answer: "O_NONBLOCK", "blocking" or "-1 ENAME". */
const char *mode_str(int fl) {
    return fl < 0 ? rc_str(-1, errno) : fl & O_NONBLOCK ? "O_NONBLOCK" : "blocking";
}

unsigned port_of(const struct sockaddr_storage *ss) {
    return ntohs(ss->ss_family == AF_INET ? ((const struct sockaddr_in *)ss)->sin_port
                                          : ((const struct sockaddr_in6 *)ss)->sin6_port);
}

/* "port>0" / "port=0", or "port=NAME" when it equals `want`. */
const char *port_str(const struct sockaddr_storage *ss, unsigned want, const char *name) {
    unsigned p = port_of(ss);
    if (name != NULL && p == want) {
        char *b = ring();
        snprintf(b, 512, "port=%s", name);
        return b;
    }
    return p == 0 ? "port=0" : name != NULL ? "port>0 (other)" : "port>0";
}

int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- setup helpers ---------------------------------------------------- */

/* The loopback address of `fam` with `port`. */
socklen_t loopback(int fam, unsigned port, struct sockaddr_storage *ss) {
    memset(ss, 0, sizeof *ss);
    if (fam == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)ss;
        in->sin_family = AF_INET;
        in->sin_port = htons((unsigned short)port);
        inet_pton(AF_INET, "127.0.0.1", &in->sin_addr);
        return sizeof *in;
    }
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons((unsigned short)port);
    inet_pton(AF_INET6, "::1", &in6->sin6_addr);
    return sizeof *in6;
}

/* A socket bound to loopback port 0; its address read back into `ss`. */
int bound(int fam, int type, struct sockaddr_storage *ss, socklen_t *len) {
    int fd = socket(fam, type, 0);
    if (fd < 0) {
        return -1;
    }
    *len = loopback(fam, 0, ss);
    if (bind(fd, (struct sockaddr *)ss, *len) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    *len = sizeof *ss;
    getsockname(fd, (struct sockaddr *)ss, len);
    return fd;
}

/* A listening stream socket on loopback. */
int listener(int fam, struct sockaddr_storage *ss, socklen_t *len) {
    int fd = bound(fam, SOCK_STREAM, ss, len);
    if (fd >= 0 && listen(fd, 8) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* Wait at most `ms` for `events` on fd; the revents (0 on timeout). */
int wait_fd(int fd, short events, int ms) {
    struct pollfd p = {fd, events, 0};
    int n = poll(&p, 1, ms);
    return n > 0 ? p.revents : 0;
}

int set_nonblocking(int fd, bool on) {
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0) {
        return -1;
    }
    return fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
}

/* A connected stream pair: `c` connected, `a` accepted. Blocking both.
 * Returns 0, or -1 with nothing left open. */
int pair(int fam, int *c, int *a) {
    struct sockaddr_storage ss;
    socklen_t len;
    int l = listener(fam, &ss, &len);
    if (l < 0) {
        return -1;
    }
    *c = socket(fam, SOCK_STREAM, 0);
    *a = -1;
    if (*c >= 0 && set_nonblocking(*c, true) == 0 &&
        (connect(*c, (struct sockaddr *)&ss, len) == 0 || errno == EINPROGRESS) &&
        (wait_fd(l, POLLIN, WAIT_MS) & POLLIN)) {
        *a = accept(l, NULL, NULL);
    }
    close(l);
    /* A receive timeout on both ends, so that no blocking recv can hang
     * the run should data not come. */
    struct timeval tv = {WAIT_MS / 1000, 0};
    if (*a >= 0 && (wait_fd(*c, POLLOUT, WAIT_MS) & POLLOUT) && set_nonblocking(*c, false) == 0 &&
        setsockopt(*c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0 &&
        setsockopt(*a, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0) {
        return 0;
    }
    if (*a >= 0) {
        close(*a);
    }
    if (*c >= 0) {
        close(*c);
    }
    return -1;
}

/* A free loopback port: bind a socket to port 0, read the port, close it. */
unsigned free_port(int fam) {
    struct sockaddr_storage ss;
    socklen_t len;
    int fd = bound(fam, SOCK_STREAM, &ss, &len);
    if (fd < 0) {
        return 0;
    }
    close(fd);
    return port_of(&ss);
}

/* Receive what is there after waiting for it; blocking recv only once
 * poll says it will not block. */
long recv_ready(int fd, char *buf, size_t len, int flags) {
    if ((wait_fd(fd, POLLIN, WAIT_MS) & (POLLIN | POLLHUP | POLLERR)) == 0) {
        errno = ETIMEDOUT;
        return -1;
    }
    return recv(fd, buf, len, flags);
}

int get_int_opt(int fd, int level, int name) {
    int v = -12345;
    socklen_t len = sizeof v;
    if (getsockopt(fd, level, name, &v, &len) != 0) {
        return -12345;
    }
    return v;
}

/* An int option's value as text: the number or "-1 ENAME". */
const char *opt_str(int fd, int level, int name) {
    int v = 0;
    socklen_t len = sizeof v;
    int r = getsockopt(fd, level, name, &v, &len);
    return r != 0 ? rc_str(-1, errno) : rc_str(v, 0);
}
