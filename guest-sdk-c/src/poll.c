/* Waiting: poll and select over the interface's one `poll` call. A set
 * that holds only libc descriptors goes to libc; one that mixes sockets
 * with other descriptors (stdin, say) waits on the sockets in slices
 * and checks the others between them. */
#include <poll.h>
#include <stdlib.h>
#include <sys/select.h>
#include <time.h>

#include "internal.h"

int __real_poll(struct pollfd *fds, nfds_t n, int timeout);

/* The bits wasock's poll.h adds, which wasi-libc's poll does not know (it
 * fails the whole call for an entry asking only for them). */
#define ADDED_BITS (POLLPRI | POLLRDBAND | POLLWRBAND | POLLMSG | POLLRDHUP)

/* wasi-libc's poll over descriptors that are not sockets, without the
 * added bits (never reported for them), each entry's events kept. */
static int libc_poll(struct pollfd *fds, nfds_t n, int timeout) {
    short *asked = malloc((n ? n : 1) * sizeof *asked);
    if (asked == NULL) {
        return wsk_errno(ENOMEM);
    }
    for (nfds_t i = 0; i < n; i++) {
        asked[i] = fds[i].events;
        fds[i].events &= (short)~ADDED_BITS;
    }
    int ready = __real_poll(fds, n, timeout);
    for (nfds_t i = 0; i < n; i++) {
        fds[i].events = asked[i];
    }
    free(asked);
    return ready;
}

/* How long one slice waits when sockets and other descriptors mix. */
#define MIXED_SLICE_MS 10

static int64_t now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t now_ms(void) { return now_us() / 1000; }

typedef wasock_sockets_types_readiness_t wsk_ready;

/* A stream socket that is not open (never connected, or closed both
 * ways by an error the program took), as Linux's poll sees it: POLLHUP
 * whatever the entry asks, even nothing; a fresh socket is writable as
 * well, an ended one readable (its end) and writable (the EPIPE). */
static short closed_revents(const struct wsk_socket *s, short events) {
    short ready = POLLOUT | POLLWRNORM;
    if (s->state == WSK_ENDED) {
        ready |= POLLIN | POLLRDNORM | POLLRDHUP;
    }
    return (short)(POLLHUP | (events & ready));
}

/* Whether a stream socket's entry is ready without asking the host
 * (POSIX poll; Winsock's WSAPoll and select say what the host says). */
static bool ready_at_once(const struct wsk_socket *s) {
    return s->type == SOCK_STREAM && s->state != WSK_OPEN;
}

/* `s`'s readiness `r` as revents for `events`. wasock's hang-up includes
 * a peer that only ended its side, which comes with `readable` (the end
 * to read). Linux says POLLHUP only once the connection is closed both
 * ways (this side shut down its sending too, or an error ended it), or
 * was never open (closed_revents); a peer's end alone is POLLIN and a
 * read of 0 (and nothing to an entry that asks for nothing, whose
 * readable the host leaves out). Windows' WSAPoll (`winsock`) says
 * POLLHUP at the peer's graceful end. */
static short to_revents(const struct wsk_socket *s, wsk_ready r, short events, bool winsock) {
    if (!winsock && ready_at_once(s) && !(r & WASOCK_SOCKETS_TYPES_READINESS_ERROR)) {
        return closed_revents(s, events);
    }
    short out = 0;
    if (r & WASOCK_SOCKETS_TYPES_READINESS_READABLE) {
        out |= events & (POLLIN | POLLRDNORM);
    }
    if (r & WASOCK_SOCKETS_TYPES_READINESS_WRITABLE) {
        out |= events & (POLLOUT | POLLWRNORM);
    }
    if ((r & WASOCK_SOCKETS_TYPES_READINESS_HANG_UP) &&
        (winsock || s->send_shut || (r & WASOCK_SOCKETS_TYPES_READINESS_ERROR) ||
         (!(r & WASOCK_SOCKETS_TYPES_READINESS_READABLE) &&
          (events & (POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM))))) {
        out |= POLLHUP;
    }
    if (r & WASOCK_SOCKETS_TYPES_READINESS_ERROR) {
        out |= POLLERR;
    }
    /* wasock's hang-up is the peer's end (or a closed connection):
     * Linux's POLLRDHUP, for a stream. */
    if ((r & WASOCK_SOCKETS_TYPES_READINESS_HANG_UP) && s->type == SOCK_STREAM) {
        out |= events & POLLRDHUP;
    }
    return out;
}

/* One wasock poll over the socket entries of `fds`; `timeout_ms` < 0
 * waits without limit. Fills revents of socket entries (and POLLNVAL of
 * closed ones); returns how many have some, or -1. */
static int poll_sockets(struct pollfd *fds, nfds_t n, int timeout_ms, bool winsock) {
    wasock_sockets_poll_poll_entry_t *entries = calloc(n ? n : 1, sizeof *entries);
    nfds_t *index = calloc(n ? n : 1, sizeof *index);
    if (entries == NULL || index == NULL) {
        free(entries);
        free(index);
        return wsk_errno(ENOMEM);
    }
    size_t count = 0;
    for (nfds_t i = 0; i < n; i++) {
        struct wsk_socket *s = wsk_lookup(fds[i].fd);
        if (s == NULL) {
            continue;
        }
        if (!winsock && ready_at_once(s)) {
            timeout_ms = 0;
        }
        wsk_ready interest = 0;
        if (fds[i].events & (POLLIN | POLLRDNORM)) {
            interest |= WASOCK_SOCKETS_TYPES_READINESS_READABLE;
        }
        if (fds[i].events & (POLLOUT | POLLWRNORM)) {
            interest |= WASOCK_SOCKETS_TYPES_READINESS_WRITABLE;
        }
        entries[count].socket = wsk_b(s);
        entries[count].interest = interest;
        index[count++] = i;
    }
    wasock_sockets_poll_list_poll_entry_t list = {entries, count};
    wasock_sockets_poll_list_readiness_t out;
    wsk_code code;
    uint64_t ns = timeout_ms < 0 ? 0 : (uint64_t)timeout_ms * 1000000ull;
    int ready = -1;
    if (count == 0 && timeout_ms < 0) {
        ready = 0; /* nothing to wait on; the caller decides */
    } else if (wasock_sockets_poll_poll(&list, timeout_ms < 0 ? NULL : &ns, &out, &code)) {
        ready = 0;
        for (size_t k = 0; k < out.len && k < count; k++) {
            struct pollfd *p = &fds[index[k]];
            p->revents |= to_revents(wsk_lookup(p->fd), out.ptr[k], p->events, winsock);
            if (p->revents != 0) {
                ready++;
            }
        }
        wasock_sockets_poll_list_readiness_free(&out);
    } else {
        wsk_fail(code, WSK_OP_OTHER);
    }
    free(entries);
    free(index);
    return ready;
}

/* Open neither as a socket nor in libc. POSIX reports such an entry as
 * POLLNVAL; wasi-libc's poll would fail the whole call with EBADF. */
static bool closed_fd(int fd) {
    int err = errno;
    bool closed = wsk_get(fd) == NULL && errno == EBADF;
    errno = err;
    return closed;
}

/* A set with closed descriptors: those get POLLNVAL, and the call
 * returns at once, after checking the `open` others without waiting. */
static int poll_with_closed(struct pollfd *fds, nfds_t n, size_t open, bool winsock) {
    struct pollfd *rest = calloc(n, sizeof *rest);
    if (rest == NULL) {
        return wsk_errno(ENOMEM);
    }
    for (nfds_t i = 0; i < n; i++) {
        rest[i] = fds[i];
        if (fds[i].fd >= 0 && closed_fd(fds[i].fd)) {
            rest[i].fd = -1;
        }
    }
    int ready = open > 0 ? wsk_poll(rest, n, 0, winsock) : 0;
    if (ready >= 0) {
        ready = 0;
        for (nfds_t i = 0; i < n; i++) {
            fds[i].revents = fds[i].fd >= 0 && rest[i].fd < 0 ? POLLNVAL : rest[i].revents;
            ready += fds[i].revents != 0;
        }
    }
    free(rest);
    return ready;
}

int __wrap_poll(struct pollfd *fds, nfds_t n, int timeout) {
    return wsk_poll(fds, n, timeout, false);
}

int wsk_poll(struct pollfd *fds, nfds_t n, int timeout, bool winsock) {
    if (fds == NULL && n > 0) {
        return wsk_errno(EFAULT);
    }
    size_t sockets = 0, others = 0, closed = 0;
    for (nfds_t i = 0; i < n; i++) {
        fds[i].revents = 0;
        if (fds[i].fd < 0) {
            continue;
        }
        if (wsk_lookup(fds[i].fd) != NULL) {
            sockets++;
        } else if (closed_fd(fds[i].fd)) {
            closed++;
        } else {
            others++;
        }
    }
    if (closed > 0) {
        return poll_with_closed(fds, n, sockets + others, winsock);
    }
    if (sockets == 0) {
        return libc_poll(fds, n, timeout);
    }
    if (others == 0) {
        return poll_sockets(fds, n, timeout, winsock);
    }
    /* Mixed: libc's entries are checked without waiting, sockets wait a
     * slice, until something is ready or the timeout passes. */
    struct pollfd *theirs = calloc(n, sizeof *theirs);
    if (theirs == NULL) {
        return wsk_errno(ENOMEM);
    }
    int64_t deadline = timeout < 0 ? -1 : now_ms() + timeout;
    int ready;
    for (;;) {
        for (nfds_t i = 0; i < n; i++) {
            theirs[i] = fds[i];
            theirs[i].fd = wsk_lookup(fds[i].fd) != NULL ? -1 : fds[i].fd;
        }
        ready = libc_poll(theirs, n, 0);
        if (ready < 0) {
            break;
        }
        for (nfds_t i = 0; i < n; i++) {
            fds[i].revents = theirs[i].revents;
        }
        int64_t left = deadline < 0 ? MIXED_SLICE_MS : deadline - now_ms();
        int slice = ready > 0 ? 0 : (int)(left < MIXED_SLICE_MS ? (left < 0 ? 0 : left) : MIXED_SLICE_MS);
        int mine = poll_sockets(fds, n, slice, winsock);
        if (mine < 0) {
            ready = -1;
            break;
        }
        ready += mine;
        if (ready > 0 || (deadline >= 0 && now_ms() >= deadline)) {
            break;
        }
    }
    free(theirs);
    return ready;
}

/* select over poll. `winsock` ignores nfds, as Windows does. */
int wsk_select(int nfds, fd_set *r, fd_set *w, fd_set *e, const struct timeval *tv, bool winsock) {
    if (nfds < 0 || (tv != NULL && (tv->tv_sec < 0 || tv->tv_usec < 0))) {
        return wsk_errno(EINVAL);
    }
    size_t cap = (r ? r->__nfds : 0) + (w ? w->__nfds : 0) + (e ? e->__nfds : 0);
    struct pollfd *fds = calloc(cap ? cap : 1, sizeof *fds);
    if (fds == NULL) {
        return wsk_errno(ENOMEM);
    }
    nfds_t n = 0;
    fd_set *sets[3] = {r, w, e};
    short events[3] = {POLLIN, POLLOUT, 0};
    for (int k = 0; k < 3; k++) {
        for (size_t i = 0; sets[k] != NULL && i < sets[k]->__nfds; i++) {
            int fd = sets[k]->__fds[i];
            if (!winsock && fd >= nfds) {
                continue;
            }
            /* exceptfds can only hold a Winsock connect in progress (there
             * is no out-of-band data); waiting on anything else there would
             * wake at its hang-up or error and report nothing. */
            if (k == 2) {
                struct wsk_socket *s = wsk_lookup(fd);
                if (!winsock || s == NULL || !s->connecting) {
                    if (s == NULL && wsk_get(fd) == NULL && errno == EBADF) {
                        free(fds);
                        return winsock ? wsk_errno(ENOTSOCK) : -1;
                    }
                    continue;
                }
            }
            nfds_t j = 0;
            while (j < n && fds[j].fd != fd) {
                j++;
            }
            if (j == n) {
                fds[n++] = (struct pollfd){fd, 0, 0};
            }
            fds[j].events |= events[k];
        }
    }
    for (nfds_t j = 0; j < n; j++) {
        if (wsk_lookup(fds[j].fd) == NULL && wsk_get(fds[j].fd) == NULL && errno == EBADF) {
            free(fds);
            return winsock ? wsk_errno(ENOTSOCK) : -1;
        }
    }
    int timeout = -1;
    if (tv != NULL) {
        int64_t ms = (int64_t)tv->tv_sec * 1000 + (tv->tv_usec + 999) / 1000;
        timeout = ms > INT32_MAX ? INT32_MAX : (int)ms;
    }
    int ready = wsk_poll(fds, n, timeout, winsock);
    if (ready < 0) {
        free(fds);
        return -1;
    }
    int count = 0;
    for (int k = 0; k < 3; k++) {
        if (sets[k] == NULL) {
            continue;
        }
        size_t keep = 0;
        for (size_t i = 0; i < sets[k]->__nfds; i++) {
            int fd = sets[k]->__fds[i];
            nfds_t j = 0;
            while (j < n && fds[j].fd != fd) {
                j++;
            }
            short re = j < n ? fds[j].revents : 0;
            /* Winsock reports a non-blocking connect that failed in
             * exceptfds alone ("connection attempt failed"), where POSIX
             * has it writable. */
            struct wsk_socket *s = winsock ? wsk_lookup(fd) : NULL;
            bool failed = s != NULL && s->connecting && (re & POLLERR) != 0;
            bool hit = failed   ? k == 2
                       : k == 0 ? (re & (POLLIN | POLLHUP | POLLERR)) != 0
                       : k == 1 ? (re & (POLLOUT | POLLERR)) != 0
                                : false; /* exceptfds: out-of-band data, which wasock has not */
            if (hit) {
                sets[k]->__fds[keep++] = fd;
                count++;
            }
        }
        sets[k]->__nfds = keep;
    }
    /* A Winsock connect seen through (writable, no error) is done. */
    for (nfds_t j = 0; winsock && j < n; j++) {
        struct wsk_socket *s = wsk_lookup(fds[j].fd);
        if (s != NULL && s->connecting && (fds[j].revents & (POLLOUT | POLLERR)) == POLLOUT) {
            s->connecting = false;
        }
    }
    free(fds);
    return count;
}

int __wrap_select(int nfds, fd_set *restrict r, fd_set *restrict w, fd_set *restrict e,
                  struct timeval *restrict tv) {
    int64_t start = now_us();
    int ready = wsk_select(nfds, r, w, e, tv, false);
    /* Linux writes the time left back into the timeout (0 after one that
     * ran out), so a loop that sets it once keeps one deadline. Windows'
     * select leaves it alone (winsock.c). */
    /* (A timeout of over 30,000 years is left alone: no overflow.
     * Microseconds past a second count as Linux counts them.) */
    if (ready >= 0 && tv != NULL && tv->tv_sec < (time_t)1000000000000 &&
        tv->tv_usec < (suseconds_t)1000000000000) {
        int64_t left = (int64_t)tv->tv_sec * 1000000 + tv->tv_usec - (now_us() - start);
        if (ready == 0 || left < 0) {
            left = 0;
        }
        tv->tv_sec = (time_t)(left / 1000000);
        tv->tv_usec = (suseconds_t)(left % 1000000);
    }
    return ready;
}
