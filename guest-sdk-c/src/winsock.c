/* The Winsock-only functions: start-up, the last-error pair,
 * closesocket, ioctlsocket, Winsock's select and WSAPoll. Everything
 * else a Winsock source calls is the BSD call of the same name. */
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/select.h>

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

static int wsa_of_errno(int err) {
    switch (err) {
    case 0: return 0;
    case EBADF: return WSAENOTSOCK; /* Winsock has no other descriptors */
    case ENOTSOCK: return WSAENOTSOCK;
    case EFAULT: return WSAEFAULT;
    case EINTR: return WSAEINTR;
    case EINVAL: return WSAEINVAL;
    case EMFILE: return WSAEMFILE;
    case ENOMEM: return WSAENOBUFS;
    case EAGAIN: return WSAEWOULDBLOCK;
    case EPROTONOSUPPORT: return WSAEPROTONOSUPPORT;
    case EAFNOSUPPORT: return WSAEAFNOSUPPORT;
    case EOPNOTSUPP: return WSAEOPNOTSUPP;
    case ENOPROTOOPT: return WSAENOPROTOOPT;
    case EDOM: return WSAEINVAL;
    case ENOTTY: return WSAEINVAL;
    default: return WSASYSCALLFAILURE;
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
    /* Versions 1.1 to 2.2 are served; 2.2 is the newest. */
    uint8_t major = version & 0xff, minor = version >> 8;
    if (major < 1 || (major == 1 && minor < 1)) {
        return WSAVERNOTSUPPORTED;
    }
    memset(data, 0, sizeof *data);
    data->wVersion = major >= 2 ? 0x0202 : version;
    data->wHighVersion = 0x0202;
    snprintf(data->szDescription, sizeof data->szDescription, "wasock Windows Sockets 2.2");
    snprintf(data->szSystemStatus, sizeof data->szSystemStatus, "Running");
    started++;
    return 0;
}

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
    short asked[n ? n : 1];
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
    int ready = poll(fds, n, timeout);
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
    return ready;
}
