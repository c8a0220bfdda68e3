/* Moving data: send, recv, sendto, recvfrom, sendmsg, recvmsg (and
 * read/write/readv/writev through fd.c). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "internal.h"

ssize_t wsk_readv(int fd, const struct iovec *iov, int n, int flags);
ssize_t wsk_writev(int fd, const struct iovec *iov, int n, int flags);

#define SEND_FLAGS_KNOWN (MSG_DONTWAIT | MSG_NOSIGNAL | MSG_DONTROUTE)
#define RECV_FLAGS_KNOWN (MSG_DONTWAIT | MSG_PEEK | MSG_WAITALL | MSG_TRUNC)
/* The longest datagram payload either family carries. */
#define MAX_DATAGRAM 65535
/* The piece a MSG_TRUNC receive on a stream drops at a time. */
#define DISCARD_PIECE (64 * 1024)

/* MSG_DONTWAIT on a blocking socket: non-blocking for this one call. */
static int dontwait_begin(struct wsk_socket *s, int flags) {
    if ((flags & MSG_DONTWAIT) == 0 || s->nonblocking) {
        return 0;
    }
    return wsk_set_nonblocking(s, true) == 0 ? 1 : -1;
}

static void dontwait_end(struct wsk_socket *s, int began) {
    if (began == 1) {
        int err = errno;
        wsk_set_nonblocking(s, false);
        errno = err;
    }
}

static wasock_sockets_types_send_flags_t send_flags(int flags) {
    return (flags & MSG_DONTROUTE) ? WASOCK_SOCKETS_TYPES_SEND_FLAGS_DONT_ROUTE : 0;
}

static wasock_sockets_types_recv_flags_t recv_flags(int flags) {
    wasock_sockets_types_recv_flags_t f = 0;
    if (flags & MSG_PEEK) {
        f |= WASOCK_SOCKETS_TYPES_RECV_FLAGS_PEEK;
    }
    if (flags & MSG_WAITALL) {
        f |= WASOCK_SOCKETS_TYPES_RECV_FLAGS_WAIT_ALL;
    }
    return f;
}

/* send/sendto, with `to` NULL for send. */
static ssize_t send_any(int fd, const void *buf, size_t len, int flags, const struct sockaddr *to,
                        socklen_t tolen) {
    struct wsk_socket *s = wsk_get(fd);
    if (s == NULL) {
        return -1;
    }
    /* MSG_MORE and MSG_EOR are hints on a stream, safe to ignore; on a
     * datagram socket MSG_MORE would join sends into one datagram. */
    int hints = s->type == SOCK_STREAM ? MSG_MORE | MSG_EOR : 0;
    if ((flags & ~(SEND_FLAGS_KNOWN | hints)) != 0) {
        return wsk_errno(EOPNOTSUPP);
    }
    if (buf == NULL && len > 0) {
        return wsk_errno(EFAULT);
    }
    /* A stream socket ignores the destination, as POSIX allows. */
    wsk_addr a;
    bool addressed = to != NULL && s->type == SOCK_DGRAM;
    if (addressed && wsk_from_sockaddr(to, tolen, s->family, &a) != 0) {
        return -1;
    }
    int began = dontwait_begin(s, flags);
    if (began < 0) {
        return -1;
    }
    wasock_sockets_list_u8_t data = {(uint8_t *)buf, len};
    uint64_t sent;
    wsk_code code;
    bool ok = addressed ? wasock_sockets_socket_method_socket_send_to(wsk_b(s), &data, &a,
                                                                      send_flags(flags), &sent, &code)
                        : wasock_sockets_socket_method_socket_send(wsk_b(s), &data,
                                                                   send_flags(flags), &sent, &code);
    if (!ok) {
        bool ended = s->type == SOCK_STREAM && s->state == WSK_ENDED;
        wsk_note_end(s, code);
        wsk_fail(code, WSK_OP_TRANSFER);
        /* A stream socket no longer connected (an error the program
         * took ended it) says EPIPE, as POSIX and Linux do; Winsock's
         * last error stays the host's code. */
        if (ended) {
            wsk_note_code(code, WSK_OP_TRANSFER, EPIPE);
            errno = EPIPE;
        }
    }
    dontwait_end(s, began);
    return ok ? (ssize_t)sent : -1;
}

ssize_t send(int fd, const void *buf, size_t len, int flags) {
    return send_any(fd, buf, len, flags, NULL, 0);
}

ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *to,
               socklen_t tolen) {
    return send_any(fd, buf, len, flags, to, tolen);
}

/* MSG_TRUNC on a stream socket (Linux): receive up to `len` bytes and
 * drop them, whatever the buffer; the count received. Received in
 * pieces of at most DISCARD_PIECE: with MSG_WAITALL, until `len` are
 * dropped (or the stream ends or fails). */
static ssize_t recv_discarding(int fd, size_t len, int flags) {
    if (len > SSIZE_MAX) {
        len = SSIZE_MAX; /* as Linux caps a count */
    }
    size_t piece = len < DISCARD_PIECE ? len : DISCARD_PIECE;
    char *tmp = malloc(piece ? piece : 1);
    if (tmp == NULL) {
        return wsk_errno(ENOMEM);
    }
    /* Piece after piece only while each comes whole: a short one means
     * the end, an error held back, a timeout or nothing more queued, and
     * the next call would take what belongs to the program's next one. A
     * peek drops nothing and takes one piece. */
    bool more = (flags & MSG_WAITALL) != 0 && (flags & MSG_PEEK) == 0;
    size_t dropped = 0;
    ssize_t got;
    size_t want;
    do {
        want = len - dropped < piece ? len - dropped : piece;
        got = recv(fd, tmp, want, flags);
        if (got > 0) {
            dropped += (size_t)got;
        }
    } while (more && got == (ssize_t)want && dropped < len);
    free(tmp);
    return dropped > 0 ? (ssize_t)dropped : got;
}

/* recv/recvfrom: `from` NULL for recv; `truncated` reports MSG_TRUNC. */
static ssize_t recv_any(int fd, void *buf, size_t len, int flags, struct sockaddr *from,
                        socklen_t *fromlen, bool *truncated) {
    struct wsk_socket *s = wsk_get(fd);
    if (s == NULL) {
        return -1;
    }
    if ((flags & ~RECV_FLAGS_KNOWN) != 0) {
        return wsk_errno(EOPNOTSUPP);
    }
    if (s->type == SOCK_STREAM && (flags & MSG_TRUNC) != 0) {
        if (from != NULL && fromlen != NULL) {
            *fromlen = 0; /* a stream socket names no sender */
        }
        return recv_discarding(fd, len, flags & ~MSG_TRUNC);
    }
    if (buf == NULL && len > 0) {
        return wsk_errno(EFAULT);
    }
    if (from != NULL && fromlen == NULL) {
        return wsk_errno(EFAULT);
    }
    if (s->type == SOCK_DGRAM && (flags & MSG_WAITALL) != 0) {
        flags &= ~MSG_WAITALL; /* Linux ignores it for datagrams */
    }
    /* MSG_TRUNC on a datagram socket returns the datagram's real length
     * (Linux): ask for the longest one and copy what fits into `buf`. */
    size_t ask = len;
    if (s->type == SOCK_DGRAM && (flags & MSG_TRUNC) != 0 && len < MAX_DATAGRAM) {
        ask = MAX_DATAGRAM;
    }
    int began = dontwait_begin(s, flags);
    if (began < 0) {
        return -1;
    }
    wsk_code code;
    ssize_t got = -1;
    if (s->type == SOCK_DGRAM && (from != NULL || truncated != NULL)) {
        wasock_sockets_types_datagram_t d;
        if (wasock_sockets_socket_method_socket_recv_from(wsk_b(s), ask, recv_flags(flags), &d,
                                                          &code)) {
            if (d.data.len > 0 && len > 0) {
                memcpy(buf, d.data.ptr, d.data.len < len ? d.data.len : len);
            }
            got = (ssize_t)d.data.len;
            if (truncated != NULL) {
                *truncated = d.truncated || d.data.len > len;
            }
            if (from != NULL) {
                wsk_to_sockaddr(&d.remote_address, from, fromlen);
            }
            wasock_sockets_types_datagram_free(&d);
        } else {
            wsk_fail(code, WSK_OP_TRANSFER);
        }
    } else {
        wasock_sockets_list_u8_t data;
        if (wasock_sockets_socket_method_socket_recv(wsk_b(s), ask, recv_flags(flags), &data,
                                                     &code)) {
            if (data.len > 0 && len > 0) {
                memcpy(buf, data.ptr, data.len < len ? data.len : len);
            }
            got = (ssize_t)data.len;
            wasock_sockets_list_u8_free(&data);
            if (from != NULL) {
                *fromlen = 0; /* a stream socket names no sender */
            }
        } else if (code == WASOCK_SOCKETS_TYPES_ERROR_CODE_SHUT_DOWN && s->type == SOCK_STREAM) {
            got = 0; /* POSIX: after shutdown(SHUT_RD), recv reads end of stream */
        } else if (s->type == SOCK_STREAM && s->state == WSK_ENDED && !wsk_winsock()) {
            got = 0; /* Linux: an error ended it, and the error was taken */
        } else {
            wsk_note_end(s, code);
            wsk_fail(code, WSK_OP_TRANSFER);
        }
    }
    dontwait_end(s, began);
    return got;
}

ssize_t recv(int fd, void *buf, size_t len, int flags) {
    return recv_any(fd, buf, len, flags, NULL, NULL, NULL);
}

ssize_t recvfrom(int fd, void *restrict buf, size_t len, int flags, struct sockaddr *restrict from,
                 socklen_t *restrict fromlen) {
    return recv_any(fd, buf, len, flags, from, fromlen, NULL);
}

/* The total length of a message's buffers, checked as Linux checks it:
 * a count below 0 or over IOV_MAX is EMSGSIZE, a total past SSIZE_MAX
 * EINVAL, a missing array EFAULT. */
static ssize_t msg_total(const struct msghdr *msg) {
    if (msg->msg_iovlen < 0 || msg->msg_iovlen > IOV_MAX) {
        return wsk_errno(EMSGSIZE);
    }
    return wsk_iov_total(msg->msg_iov, (int)msg->msg_iovlen);
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags) {
    if (msg == NULL) {
        return wsk_errno(EFAULT);
    }
    struct wsk_socket *s = wsk_get(fd);
    if (s == NULL) {
        return -1;
    }
    if (msg->msg_controllen != 0) {
        return wsk_errno(EOPNOTSUPP); /* no ancillary data */
    }
    ssize_t checked = msg_total(msg);
    if (checked < 0) {
        return -1;
    }
    if (msg->msg_name == NULL && msg->msg_iovlen <= 1) {
        return wsk_writev(fd, msg->msg_iov, (int)msg->msg_iovlen, flags);
    }
    size_t total = (size_t)checked;
    char *tmp = malloc(total ? total : 1);
    if (tmp == NULL) {
        return wsk_errno(ENOMEM);
    }
    size_t off = 0;
    for (size_t i = 0; i < (size_t)msg->msg_iovlen; i++) {
        memcpy(tmp + off, msg->msg_iov[i].iov_base, msg->msg_iov[i].iov_len);
        off += msg->msg_iov[i].iov_len;
    }
    ssize_t sent = send_any(fd, tmp, total, flags, msg->msg_name, msg->msg_namelen);
    free(tmp);
    return sent;
}

ssize_t recvmsg(int fd, struct msghdr *msg, int flags) {
    if (msg == NULL || (msg->msg_iovlen > 0 && msg->msg_iov == NULL)) {
        return wsk_errno(EFAULT);
    }
    struct wsk_socket *s = wsk_get(fd);
    if (s == NULL) {
        return -1;
    }
    ssize_t checked = msg_total(msg);
    if (checked < 0) {
        return -1;
    }
    size_t total = (size_t)checked;
    /* MSG_TRUNC on a stream drops the bytes: the buffers stay as they
     * were (Linux), and nothing is gathered. */
    bool dropped = s->type == SOCK_STREAM && (flags & MSG_TRUNC) != 0;
    char *tmp = dropped ? NULL : malloc(total ? total : 1);
    if (tmp == NULL && !dropped) {
        return wsk_errno(ENOMEM);
    }
    bool truncated = false;
    socklen_t namelen = msg->msg_namelen;
    ssize_t got = recv_any(fd, tmp, total, flags, msg->msg_name, msg->msg_name ? &namelen : NULL,
                           s->type == SOCK_DGRAM ? &truncated : NULL);
    if (got >= 0 && dropped) {
        msg->msg_namelen = 0;
        msg->msg_controllen = 0;
        msg->msg_flags = 0;
    } else if (got >= 0) {
        size_t off = 0;
        for (size_t i = 0; i < (size_t)msg->msg_iovlen && off < (size_t)got; i++) {
            size_t take = msg->msg_iov[i].iov_len;
            if (take > (size_t)got - off) {
                take = (size_t)got - off;
            }
            memcpy(msg->msg_iov[i].iov_base, tmp + off, take);
            off += take;
        }
        msg->msg_namelen = msg->msg_name ? namelen : 0;
        msg->msg_controllen = 0;
        msg->msg_flags = truncated ? MSG_TRUNC : 0;
    }
    free(tmp);
    return got;
}
