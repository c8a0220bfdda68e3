/* wasock C library: what its source files share. Not installed, not for programs. */
#ifndef WASOCK_C_INTERNAL_H
#define WASOCK_C_INTERNAL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "wasock_sockets.h"

typedef wasock_sockets_socket_own_socket_t wsk_own;
typedef wasock_sockets_socket_borrow_socket_t wsk_borrow;
typedef wasock_sockets_types_error_code_t wsk_code;
typedef wasock_sockets_types_socket_address_t wsk_addr;

/* Where a stream socket's connection stands, as Linux's answers to
 * poll, recv and send tell it (datagram sockets stay WSK_FRESH). */
enum wsk_stream_state {
    /* Never connected, or a connect() reported its failure (Linux then
     * disconnects the socket, and it may connect again): poll says
     * POLLHUP even to an entry that asks for nothing. */
    WSK_FRESH = 0,
    /* Connecting, connected, listening or accepted: readiness is the
     * host's. */
    WSK_OPEN,
    /* The connection ended in an error the program has taken (a reset
     * from recv or send, a failed non-blocking connect from SO_ERROR):
     * closed both ways, so recv reads its end (0), send says EPIPE and
     * poll says POLLHUP with whatever the entry asks for. */
    WSK_ENDED,
};

/* One open socket descriptor. */
struct wsk_socket {
    wsk_own handle;
    int family;       /* AF_INET or AF_INET6 */
    int type;         /* SOCK_STREAM or SOCK_DGRAM */
    bool nonblocking; /* mirrors the host's mode, so F_GETFL costs no call */
    bool cloexec;     /* FD_CLOEXEC: kept and reported, nothing else */
    bool listening;   /* listen() succeeded: SO_ACCEPTCONN */
    /* A Winsock source's non-blocking connect is under way: Winsock's
     * select reports its failure in exceptfds, not writefds (winsock.c). */
    bool connecting;
    /* shutdown() ended this side's sending: with the peer's end, the
     * connection is closed both ways (POLLHUP, poll.c). */
    bool send_shut;
    enum wsk_stream_state state;
    /* A libc descriptor that the preview-1 layer handed out with this
     * socket's number while the socket was open; held open so libc never
     * hands the number out twice, closed with the socket. -1 if none. */
    int shadow;
};

/* Which call failed, where POSIX gives one error-code two errnos. */
enum wsk_op { WSK_OP_OTHER, WSK_OP_CONNECT, WSK_OP_TRANSFER };

/* The socket behind `fd`, or NULL (errno untouched) if `fd` is no socket. */
struct wsk_socket *wsk_lookup(int fd);
/* As wsk_lookup, but a descriptor that is not a socket sets errno:
 * ENOTSOCK for an open libc descriptor, EBADF otherwise. */
struct wsk_socket *wsk_get(int fd);
/* Enter a new socket in the table with its SOCK_NONBLOCK/SOCK_CLOEXEC
 * `flags`: its descriptor, or -1 with errno. The handle is dropped (the
 * socket closed) on failure. */
int wsk_install(wsk_own handle, int family, int type, int flags);
/* A borrow of the socket's handle for one call. */
static inline wsk_borrow wsk_b(struct wsk_socket *s) {
    return wasock_sockets_socket_borrow_socket(s->handle);
}

/* Set errno (and the Winsock last error) for `code` as call kind `op`
 * reports it; returns -1. */
int wsk_fail(wsk_code code, enum wsk_op op);
/* Note what a failed call's error-code says of a stream socket's
 * connection: one that ended it (a reset, an abort, or any error a
 * pending connect reports) leaves the socket WSK_ENDED. */
void wsk_note_end(struct wsk_socket *s, wsk_code code);
/* SO_ERROR: take the socket's pending error into *pending (*some false
 * if none); returns 0, or -1 with errno. A stream socket whose pending
 * error is taken is WSK_ENDED. */
int wsk_take_error(struct wsk_socket *s, wsk_code *pending, bool *some);
/* Set errno to a plain POSIX value; returns -1. */
int wsk_errno(int err);
/* The POSIX errno for an error-code (`op` picks EAGAIN over ETIMEDOUT
 * for a send, receive or accept that ran out its timeout). */
int wsk_errno_of(wsk_code code, enum wsk_op op);

/* sockaddr <-> WIT address. `wsk_from_sockaddr` validates length and
 * family against the socket's and returns 0 or -1 with errno. */
int wsk_from_sockaddr(const struct sockaddr *sa, socklen_t len, int family, wsk_addr *out);
/* Writes at most *len bytes (truncating as POSIX does) and sets *len to
 * the full size. NULL `sa` is allowed when `len` is NULL too. */
int wsk_to_sockaddr(const wsk_addr *addr, struct sockaddr *sa, socklen_t *len);

/* Total length of `n` buffers (readv/writev/sendmsg/recvmsg), or -1. */
ssize_t wsk_iov_total(const struct iovec *iov, int n);

/* Flip the host's non-blocking mode for one call (MSG_DONTWAIT). */
int wsk_set_nonblocking(struct wsk_socket *s, bool on);

/* The Winsock error code for a wasock error-code, and the last one. */
int wsk_wsa_of(wsk_code code, enum wsk_op op);
void wsk_note_code(wsk_code code, enum wsk_op op, int err);
/* The first error-code whose errno (for most calls) is `err`, in the
 * table's order (the resolver's codes come last); false if none. */
bool wsk_code_of_errno(int err, wsk_code *code);
/* The Winsock code of the first error-code whose errno is `err`
 * (WSASYSCALLFAILURE if none). */
int wsk_wsa_of_errno(int err);

/* Whether the program is a Winsock source (it called WSAStartup): where
 * Windows and Linux differ, such a program gets Windows' answers. */
bool wsk_winsock(void);

/* The port (host order) of a service named in services.c's table, by
 * name or alias, or -1. */
int wsk_service_port(const char *name);

struct pollfd;
/* poll, with Windows' WSAPoll meaning of POLLHUP when `winsock` (poll.c). */
int wsk_poll(struct pollfd *fds, unsigned long n, int timeout, bool winsock);

#endif
