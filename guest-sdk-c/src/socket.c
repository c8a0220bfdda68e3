/* Creating, naming and connecting sockets: socket, bind, listen, accept,
 * accept4, connect, shutdown, getsockname, getpeername. */
#include <netinet/in.h>
#include <stdlib.h>

#include "internal.h"

int socket(int domain, int type, int protocol) {
    int flags = type & (SOCK_NONBLOCK | SOCK_CLOEXEC);
    int kind = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
    wasock_sockets_types_address_family_t family;
    wasock_sockets_types_socket_type_t wtype;
    if (domain == AF_INET) {
        family = WASOCK_SOCKETS_TYPES_ADDRESS_FAMILY_IPV4;
    } else if (domain == AF_INET6) {
        family = WASOCK_SOCKETS_TYPES_ADDRESS_FAMILY_IPV6;
    } else {
        return wsk_errno(EAFNOSUPPORT);
    }
    if (kind == SOCK_STREAM && (protocol == 0 || protocol == IPPROTO_TCP)) {
        wtype = WASOCK_SOCKETS_TYPES_SOCKET_TYPE_STREAM;
    } else if (kind == SOCK_DGRAM && (protocol == 0 || protocol == IPPROTO_UDP)) {
        wtype = WASOCK_SOCKETS_TYPES_SOCKET_TYPE_DATAGRAM;
    } else if (kind == SOCK_STREAM || kind == SOCK_DGRAM) {
        return wsk_errno(EPROTONOSUPPORT);
    } else {
        return wsk_errno(EINVAL);
    }
    wsk_own handle;
    wsk_code code;
    if (!wasock_sockets_socket_static_socket_open(family, wtype, &handle, &code)) {
        return wsk_fail(code, WSK_OP_OTHER);
    }
    return wsk_install(handle, domain, kind, flags);
}

int bind(int fd, const struct sockaddr *addr, socklen_t len) {
    struct wsk_socket *s = wsk_get(fd);
    wsk_addr a;
    wsk_code code;
    if (s == NULL || wsk_from_sockaddr(addr, len, s->family, &a) != 0) {
        return -1;
    }
    if (!wasock_sockets_socket_method_socket_bind(wsk_b(s), &a, &code)) {
        return wsk_fail(code, WSK_OP_OTHER);
    }
    return 0;
}

int listen(int fd, int backlog) {
    struct wsk_socket *s = wsk_get(fd);
    wsk_code code;
    if (s == NULL) {
        return -1;
    }
    uint32_t n = backlog <= 0 ? 0 : (uint32_t)backlog;
    if (!wasock_sockets_socket_method_socket_listen(wsk_b(s), n, &code)) {
        return wsk_fail(code, WSK_OP_OTHER);
    }
    s->listening = true;
    s->state = WSK_OPEN;
    return 0;
}

int accept4(int fd, struct sockaddr *restrict addr, socklen_t *restrict len, int flags) {
    struct wsk_socket *s = wsk_get(fd);
    if (s == NULL) {
        return -1;
    }
    if ((flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) != 0) {
        return wsk_errno(EINVAL);
    }
    /* Without an address to fill, the length is not looked at (Linux). */
    if (addr != NULL && len == NULL) {
        return wsk_errno(EFAULT);
    }
    wasock_sockets_socket_tuple2_own_socket_socket_address_t got;
    wsk_code code;
    if (!wasock_sockets_socket_method_socket_accept(wsk_b(s), &got, &code)) {
        return wsk_fail(code, WSK_OP_TRANSFER);
    }
    int nfd = wsk_install(got.f0, s->family, s->type, flags);
    if (nfd >= 0) {
        wsk_lookup(nfd)->state = WSK_OPEN;
    }
    if (nfd >= 0 && addr != NULL) {
        wsk_to_sockaddr(&got.f1, addr, len);
    }
    return nfd;
}

int accept(int fd, struct sockaddr *restrict addr, socklen_t *restrict len) {
    return accept4(fd, addr, len, 0);
}

/* Whether `code` says a stream connection (or its attempt) failed: the
 * peer refused or reset it, it was aborted (a keep-alive or
 * retransmission timeout: wit/types.wit `connection-aborted`), or its
 * destination became unreachable. */
static bool connection_failed(wsk_code code) {
    switch (code) {
    case WASOCK_SOCKETS_TYPES_ERROR_CODE_CONNECTION_RESET:
    case WASOCK_SOCKETS_TYPES_ERROR_CODE_CONNECTION_ABORTED:
    case WASOCK_SOCKETS_TYPES_ERROR_CODE_CONNECTION_REFUSED:
    case WASOCK_SOCKETS_TYPES_ERROR_CODE_HOST_UNREACHABLE:
    case WASOCK_SOCKETS_TYPES_ERROR_CODE_NETWORK_UNREACHABLE:
        return true;
    default:
        return false;
    }
}

int connect(int fd, const struct sockaddr *addr, socklen_t len) {
    struct wsk_socket *s = wsk_get(fd);
    wsk_code code;
    if (s == NULL) {
        return -1;
    }
    /* connect(AF_UNSPEC) dissolves a datagram socket's default peer. */
    if (addr != NULL && len >= sizeof(sa_family_t) && addr->sa_family == AF_UNSPEC) {
        if (!wasock_sockets_socket_method_socket_disconnect(wsk_b(s), &code)) {
            return wsk_fail(code, WSK_OP_OTHER);
        }
        return 0;
    }
    wsk_addr a;
    if (wsk_from_sockaddr(addr, len, s->family, &a) != 0) {
        return -1;
    }
    bool ok = wasock_sockets_socket_method_socket_connect(wsk_b(s), &a, &code);
    if (s->type == SOCK_STREAM) {
        if (ok || code == WASOCK_SOCKETS_TYPES_ERROR_CODE_IN_PROGRESS ||
            code == WASOCK_SOCKETS_TYPES_ERROR_CODE_TIMED_OUT) {
            /* A blocking connect that ran out its send timeout goes on
             * connecting (wit/socket.wit `connect`). */
            s->state = WSK_OPEN;
        } else if (connection_failed(code)) {
            /* Linux disconnects a socket whose connect() reports the
             * attempt's failure: it may connect again. Other errors (a
             * bad address, a listener) leave the socket as it was. */
            s->state = WSK_FRESH;
        }
    }
    return ok ? 0 : wsk_fail(code, WSK_OP_CONNECT);
}

void wsk_note_end(struct wsk_socket *s, wsk_code code) {
    if (s->type == SOCK_STREAM && connection_failed(code)) {
        s->state = WSK_ENDED;
    }
}

int wsk_take_error(struct wsk_socket *s, wsk_code *pending, bool *some) {
    wasock_sockets_socket_option_error_code_t got;
    wsk_code code;
    if (!wasock_sockets_socket_method_socket_take_error(wsk_b(s), &got, &code)) {
        return wsk_fail(code, WSK_OP_OTHER);
    }
    *some = got.is_some;
    *pending = got.val;
    /* On Linux every error a TCP socket keeps for SO_ERROR ended its
     * connection (or its connect). */
    if (got.is_some && s->type == SOCK_STREAM) {
        s->state = WSK_ENDED;
    }
    return 0;
}

int shutdown(int fd, int how) {
    struct wsk_socket *s = wsk_get(fd);
    wsk_code code;
    if (s == NULL) {
        return -1;
    }
    wasock_sockets_types_shutdown_how_t h;
    if (how == SHUT_RD) {
        h = WASOCK_SOCKETS_TYPES_SHUTDOWN_HOW_RECEIVE;
    } else if (how == SHUT_WR) {
        h = WASOCK_SOCKETS_TYPES_SHUTDOWN_HOW_SEND;
    } else if (how == SHUT_RDWR) {
        h = WASOCK_SOCKETS_TYPES_SHUTDOWN_HOW_BOTH;
    } else {
        return wsk_errno(EINVAL);
    }
    if (!wasock_sockets_socket_method_socket_shutdown(wsk_b(s), h, &code)) {
        return wsk_fail(code, WSK_OP_OTHER);
    }
    s->send_shut |= how != SHUT_RD;
    return 0;
}

int getsockname(int fd, struct sockaddr *restrict addr, socklen_t *restrict len) {
    struct wsk_socket *s = wsk_get(fd);
    wsk_addr a;
    wsk_code code;
    if (s == NULL) {
        return -1;
    }
    if (addr == NULL || len == NULL) {
        return wsk_errno(EFAULT);
    }
    if (!wasock_sockets_socket_method_socket_local_address(wsk_b(s), &a, &code)) {
        /* POSIX: an unbound socket has the unspecified address, port 0. */
        if (code != WASOCK_SOCKETS_TYPES_ERROR_CODE_INVALID_ARGUMENT) {
            return wsk_fail(code, WSK_OP_OTHER);
        }
        if (s->family == AF_INET) {
            a.tag = WASOCK_SOCKETS_TYPES_SOCKET_ADDRESS_IPV4;
            a.val.ipv4 = (wasock_sockets_types_ipv4_socket_address_t){0};
        } else {
            a.tag = WASOCK_SOCKETS_TYPES_SOCKET_ADDRESS_IPV6;
            a.val.ipv6 = (wasock_sockets_types_ipv6_socket_address_t){0};
        }
    }
    return wsk_to_sockaddr(&a, addr, len);
}

int getpeername(int fd, struct sockaddr *restrict addr, socklen_t *restrict len) {
    struct wsk_socket *s = wsk_get(fd);
    wsk_addr a;
    wsk_code code;
    if (s == NULL) {
        return -1;
    }
    if (addr == NULL || len == NULL) {
        return wsk_errno(EFAULT);
    }
    if (!wasock_sockets_socket_method_socket_remote_address(wsk_b(s), &a, &code)) {
        return wsk_fail(code, WSK_OP_OTHER);
    }
    return wsk_to_sockaddr(&a, addr, len);
}

int socketpair(int domain, int type, int protocol, int fds[2]) {
    (void)domain, (void)type, (void)protocol, (void)fds;
    /* No AF_UNIX in the Internet domain wasock serves. */
    return wsk_errno(EOPNOTSUPP);
}
