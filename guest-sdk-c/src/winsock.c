/* The Winsock-only functions: start-up, the last-error pair,
 * closesocket, ioctlsocket, Winsock's select and WSAPoll, and the
 * Winsock meaning of connect, shutdown, setsockopt and getsockopt where
 * it differs from POSIX's. Everything else a Winsock source calls is the
 * BSD call of the same name. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/time.h>

#include "internal.h"
#include "wasock/wsa_errors.h"

int wsk_select(int nfds, fd_set *r, fd_set *w, fd_set *e, const struct timeval *tv, bool winsock);

/* The last wasock failure: the errno it set and its Winsock code. */
static int last_errno;
static int last_wsa;

void wsk_note_code(wsk_code code, enum wsk_op op, int err) {
    last_errno = err;
    last_wsa = wsk_wsa_of(code, op);
}

/* The Winsock code for an errno the library set without an error-code
 * (bad descriptors and arguments); any other errno is looked up in the
 * one error table (errors.c). */
static int wsa_of_errno(int err) {
    switch (err) {
    case 0: return 0;
    case EBADF: return WSAENOTSOCK; /* Winsock has no other descriptors */
    case ENOTSOCK: return WSAENOTSOCK;
    case EFAULT: return WSAEFAULT;
    case EINTR: return WSAEINTR;
    case ENOMEM: return WSAENOBUFS;
    case EPROTONOSUPPORT: return WSAEPROTONOSUPPORT;
    case EDOM: return WSAEINVAL;
    case ENOTTY: return WSAEINVAL;
    case EIO: return WSASYSCALLFAILURE;
    default: return wsk_wsa_of_errno(err);
    }
}

/* Layout of winsock2.h's WSADATA, repeated here because this file uses
 * the POSIX headers. */
struct wsa_data {
    uint16_t wVersion;
    uint16_t wHighVersion;
    char szDescription[257];
    char szSystemStatus[129];
    unsigned short iMaxSockets;
    unsigned short iMaxUdpDg;
    char *lpVendorInfo;
};

static int started;

int WSAStartup(uint16_t version, struct wsa_data *data) {
    if (data == NULL) {
        return WSAEFAULT;
    }
    /* As Ws2_32.dll: versions 1.0, 1.1, 2.0, 2.1 and 2.2 are served, and
     * wVersion is the one asked for, or the newest below it (WSAStartup,
     * Remarks); below 1.0 is WSAVERNOTSUPPORTED. */
    uint8_t major = version & 0xff, minor = version >> 8;
    if (major < 1) {
        return WSAVERNOTSUPPORTED;
    }
    memset(data, 0, sizeof *data);
    data->wVersion = major >= 3 ? 0x0202
                     : major == 2 ? (uint16_t)(2 | (minor > 2 ? 2 : minor) << 8)
                                  : (uint16_t)(1 | (minor > 1 ? 1 : minor) << 8);
    data->wHighVersion = 0x0202;
    snprintf(data->szDescription, sizeof data->szDescription, "wasock Windows Sockets 2.2");
    snprintf(data->szSystemStatus, sizeof data->szSystemStatus, "Running");
    started++;
    return 0;
}

bool wsk_winsock(void) { return started > 0; }

int WSACleanup(void) {
    if (started == 0) {
        last_errno = errno;
        last_wsa = WSANOTINITIALISED;
        return -1;
    }
    started--;
    return 0;
}

int WSAGetLastError(void) {
    if (errno == last_errno && last_wsa != 0) {
        return last_wsa;
    }
    return wsa_of_errno(errno);
}

void WSASetLastError(int err) {
    /* Remember the value as is; errno gets a stand-in so that a later
     * libc failure (which changes errno) is not masked. */
    errno = err == 0 ? 0 : EIO;
    last_errno = errno;
    last_wsa = err;
}

int closesocket(uintptr_t s) {
    if (wsk_get((int)s) == NULL) {
        return wsk_errno(ENOTSOCK);
    }
    return close((int)s);
}

/* winsock2.h routes a Winsock source's connect, shutdown, setsockopt
 * and getsockopt here, where Windows gives them another meaning than
 * POSIX; POSIX sources call the POSIX functions directly. */

/* connect, noting a non-blocking connect under way for Winsock's
 * select (poll.c), which reports its failure in exceptfds. */
int __wasock_wsa_connect(int fd, const struct sockaddr *addr, socklen_t len) {
    int rc = connect(fd, addr, len);
    int err = errno;
    struct wsk_socket *s = wsk_lookup(fd);
    if (s != NULL && (rc == 0 || err != EALREADY)) {
        s->connecting = rc != 0 && err == EINPROGRESS;
    }
    errno = err;
    return rc;
}

/* shutdown with Windows' SD_RECEIVE 0, SD_SEND 1, SD_BOTH 2 (wasi-libc
 * numbers SHUT_RD, SHUT_WR, SHUT_RDWR 1, 2, 3). */
int __wasock_wsa_shutdown(int fd, int how) {
    static const int HOW[3] = {SHUT_RD, SHUT_WR, SHUT_RDWR};
    if (wsk_get(fd) == NULL) {
        return -1;
    }
    if (how < 0 || how > 2) {
        return wsk_errno(EINVAL);
    }
    return shutdown(fd, HOW[how]);
}

/* SO_RCVTIMEO and SO_SNDTIMEO are a DWORD of milliseconds on Windows (0:
 * no timeout), where POSIX takes a struct timeval. */
static bool wsa_timeout(int level, int name) {
    return level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO);
}

int __wasock_wsa_setsockopt(int fd, int level, int name, const void *val, socklen_t len) {
    if (!wsa_timeout(level, name)) {
        return setsockopt(fd, level, name, val, len);
    }
    if (wsk_get(fd) == NULL) {
        return -1;
    }
    uint32_t ms;
    if (val == NULL || len < sizeof ms) {
        return wsk_errno(EFAULT); /* WSAEFAULT: optlen too small */
    }
    memcpy(&ms, val, sizeof ms);
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    return setsockopt(fd, level, name, &tv, sizeof tv);
}

/* getsockopt: the timeouts as a DWORD of milliseconds, and SO_ERROR as
 * a Windows Sockets code (WSAECONNREFUSED, not ECONNREFUSED). */
int __wasock_wsa_getsockopt(int fd, int level, int name, void *restrict val,
                            socklen_t *restrict len) {
    bool so_error = level == SOL_SOCKET && name == SO_ERROR;
    if (!wsa_timeout(level, name) && !so_error) {
        return getsockopt(fd, level, name, val, len);
    }
    struct wsk_socket *s = wsk_get(fd);
    if (s == NULL) {
        return -1;
    }
    uint32_t out;
    if (val == NULL || len == NULL || *len < sizeof out) {
        return wsk_errno(EFAULT); /* WSAEFAULT: optlen too small */
    }
    if (so_error) {
        wsk_code pending;
        bool some;
        if (wsk_take_error(s, &pending, &some) != 0) {
            return -1;
        }
        out = some ? (uint32_t)wsk_wsa_of(pending, WSK_OP_CONNECT) : 0;
    } else {
        struct timeval tv;
        socklen_t tvlen = sizeof tv;
        if (getsockopt(fd, level, name, &tv, &tvlen) != 0) {
            return -1;
        }
        uint64_t ms = (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
        out = ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
    }
    memcpy(val, &out, sizeof out);
    *len = sizeof out;
    return 0;
}

#define WS_FIONBIO 0x8004667EUL
#define WS_FIONREAD 0x4004667FUL

int ioctlsocket(uintptr_t s, long cmd, unsigned long *argp) {
    if (wsk_get((int)s) == NULL) {
        return wsk_errno(ENOTSOCK);
    }
    if (argp == NULL) {
        return wsk_errno(EFAULT);
    }
    int v = (int)*argp;
    if ((unsigned long)cmd == WS_FIONBIO) {
        return ioctl((int)s, FIONBIO, &v);
    }
    if ((unsigned long)cmd == WS_FIONREAD) {
        if (ioctl((int)s, FIONREAD, &v) != 0) {
            return -1;
        }
        *argp = (unsigned long)v;
        return 0;
    }
    return wsk_errno(EINVAL);
}

/* winsock2.h's fd_set: a count then the sockets, the layout of
 * wasi-libc's fd_set with a smaller capacity; select only shrinks it. */
_Static_assert(offsetof(fd_set, __fds) == sizeof(unsigned int), "fd_set layouts differ");

int __WSAFDIsSet(uintptr_t s, fd_set *set) {
    for (size_t i = 0; set != NULL && i < set->__nfds; i++) {
        if ((uintptr_t)(unsigned)set->__fds[i] == s) {
            return 1;
        }
    }
    return 0;
}

int __wasock_wsa_select(int nfds, fd_set *r, fd_set *w, fd_set *e, const struct timeval *tv) {
    return wsk_select(nfds, r, w, e, tv, true);
}

/* WSAPOLLFD has pollfd's layout; only the flag values differ. */
/* More entries than the host takes in one poll (wit/poll.wit). */
#define WSK_POLL_MAX 65536
#define WS_POLLRDNORM 0x0100
#define WS_POLLRDBAND 0x0200
#define WS_POLLPRI 0x0400
#define WS_POLLWRNORM 0x0010
#define WS_POLLWRBAND 0x0020
#define WS_POLLERR 0x0001
#define WS_POLLHUP 0x0002
#define WS_POLLNVAL 0x0004

int WSAPoll(struct pollfd *fds, unsigned long n, int timeout) {
    if (fds == NULL && n > 0) {
        return wsk_errno(EFAULT);
    }
    if (n > WSK_POLL_MAX) {
        return wsk_errno(EINVAL);
    }
    /* Windows fails the call (WSAEINVAL) for an event other than
     * POLLRDNORM, POLLRDBAND and POLLWRNORM (POLLPRI included: "not
     * supported by the Microsoft Winsock provider"), and when no entry
     * holds a valid socket. */
    unsigned long valid = 0;
    for (unsigned long i = 0; i < n; i++) {
        if (fds[i].events & ~(WS_POLLRDNORM | WS_POLLRDBAND | WS_POLLWRNORM)) {
            return wsk_errno(EINVAL);
        }
        valid += fds[i].fd >= 0 && wsk_lookup(fds[i].fd) != NULL;
    }
    if (valid == 0) {
        return wsk_errno(EINVAL);
    }
    /* The flags asked for, restored after: on the heap, since `n` may be
     * more than the guest's stack holds. */
    short *asked = malloc((n ? n : 1) * sizeof *asked);
    if (asked == NULL) {
        return wsk_errno(ENOMEM);
    }
    for (unsigned long i = 0; i < n; i++) {
        short ev = fds[i].events, out = 0;
        if (ev & (WS_POLLRDNORM | WS_POLLRDBAND)) {
            out |= POLLIN;
        }
        if (ev & (WS_POLLWRNORM | WS_POLLWRBAND)) {
            out |= POLLOUT;
        }
        asked[i] = ev;
        fds[i].events = out;
    }
    int ready = wsk_poll(fds, n, timeout, true);
    for (unsigned long i = 0; i < n; i++) {
        short re = fds[i].revents, out = 0;
        if (re & POLLIN) {
            out |= asked[i] & (WS_POLLRDNORM | WS_POLLRDBAND);
        }
        if (re & POLLOUT) {
            out |= WS_POLLWRNORM;
        }
        if (re & POLLERR) {
            out |= WS_POLLERR;
        }
        if (re & POLLHUP) {
            out |= WS_POLLHUP;
        }
        if (re & POLLNVAL) {
            out |= WS_POLLNVAL;
        }
        fds[i].events = asked[i];
        fds[i].revents = out;
    }
    free(asked);
    return ready;
}
