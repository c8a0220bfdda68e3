/* setsockopt / getsockopt: each (level, optname) pair to one
 * `socket-option` case, with the C value shapes Linux uses (int flags,
 * seconds for the TCP keep-alive timings, `struct linger`,
 * `struct timeval` timeouts, `ip_mreq` / `ipv6_mreq` for groups). */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/time.h>

#include "internal.h"

typedef wasock_sockets_types_socket_option_t wsk_opt;

#define NS_PER_S 1000000000ull
#define NS_PER_US 1000ull

enum shape { INT_FLAG, INT_VALUE, SECONDS, LINGER, TIMEVAL };

struct opt_row {
    int level;
    int name;
    uint8_t tag; /* socket-option / option-name case */
    enum shape shape;
};

static const struct opt_row OPTS[] = {
    {SOL_SOCKET, SO_REUSEADDR, WASOCK_SOCKETS_TYPES_SOCKET_OPTION_REUSE_ADDRESS, INT_FLAG},
    {SOL_SOCKET, SO_KEEPALIVE, WASOCK_SOCKETS_TYPES_SOCKET_OPTION_KEEP_ALIVE, INT_FLAG},
    {SOL_SOCKET, SO_LINGER, WASOCK_SOCKETS_TYPES_SOCKET_OPTION_LINGER, LINGER},
    {SOL_SOCKET, SO_RCVBUF, WASOCK_SOCKETS_TYPES_SOCKET_OPTION_RECEIVE_BUFFER_SIZE, INT_VALUE},
    {SOL_SOCKET, SO_SNDBUF, WASOCK_SOCKETS_TYPES_SOCKET_OPTION_SEND_BUFFER_SIZE, INT_VALUE},
    {SOL_SOCKET, SO_RCVTIMEO, WASOCK_SOCKETS_TYPES_SOCKET_OPTION_RECEIVE_TIMEOUT, TIMEVAL},
    {SOL_SOCKET, SO_SNDTIMEO, WASOCK_SOCKETS_TYPES_SOCKET_OPTION_SEND_TIMEOUT, TIMEVAL},
    {SOL_SOCKET, SO_BROADCAST, WASOCK_SOCKETS_TYPES_SOCKET_OPTION_BROADCAST, INT_FLAG},
    {IPPROTO_TCP, TCP_NODELAY, WASOCK_SOCKETS_TYPES_SOCKET_OPTION_NO_DELAY, INT_FLAG},
    {IPPROTO_TCP, TCP_KEEPIDLE, WASOCK_SOCKETS_TYPES_SOCKET_OPTION_KEEP_ALIVE_IDLE, SECONDS},
    {IPPROTO_TCP, TCP_KEEPINTVL, WASOCK_SOCKETS_TYPES_SOCKET_OPTION_KEEP_ALIVE_INTERVAL, SECONDS},
    {IPPROTO_TCP, TCP_KEEPCNT, WASOCK_SOCKETS_TYPES_SOCKET_OPTION_KEEP_ALIVE_COUNT, INT_VALUE},
    {IPPROTO_IP, IP_TTL, WASOCK_SOCKETS_TYPES_SOCKET_OPTION_UNICAST_HOP_LIMIT, INT_VALUE},
    {IPPROTO_IP, IP_MULTICAST_TTL, WASOCK_SOCKETS_TYPES_SOCKET_OPTION_MULTICAST_HOP_LIMIT, INT_VALUE},
    {IPPROTO_IP, IP_MULTICAST_LOOP, WASOCK_SOCKETS_TYPES_SOCKET_OPTION_MULTICAST_LOOP, INT_FLAG},
    {IPPROTO_IPV6, IPV6_V6ONLY, WASOCK_SOCKETS_TYPES_SOCKET_OPTION_IPV6_ONLY, INT_FLAG},
    {IPPROTO_IPV6, IPV6_UNICAST_HOPS, WASOCK_SOCKETS_TYPES_SOCKET_OPTION_UNICAST_HOP_LIMIT, INT_VALUE},
    {IPPROTO_IPV6, IPV6_MULTICAST_HOPS, WASOCK_SOCKETS_TYPES_SOCKET_OPTION_MULTICAST_HOP_LIMIT, INT_VALUE},
    {IPPROTO_IPV6, IPV6_MULTICAST_LOOP, WASOCK_SOCKETS_TYPES_SOCKET_OPTION_MULTICAST_LOOP, INT_FLAG},
    {IPPROTO_IPV6, IPV6_MULTICAST_IF, WASOCK_SOCKETS_TYPES_SOCKET_OPTION_MULTICAST_INTERFACE, INT_VALUE},
};

static const struct opt_row *find(int level, int name) {
    for (size_t i = 0; i < sizeof OPTS / sizeof OPTS[0]; i++) {
        if (OPTS[i].level == level && OPTS[i].name == name) {
            return &OPTS[i];
        }
    }
    return NULL;
}

/* Write the integer-valued payload of `v` into the union case `tag`. */
static void set_u64(wsk_opt *o, uint64_t v) {
    switch (o->tag) {
    case WASOCK_SOCKETS_TYPES_SOCKET_OPTION_REUSE_ADDRESS: o->val.reuse_address = v != 0; break;
    case WASOCK_SOCKETS_TYPES_SOCKET_OPTION_KEEP_ALIVE: o->val.keep_alive = v != 0; break;
    case WASOCK_SOCKETS_TYPES_SOCKET_OPTION_KEEP_ALIVE_IDLE: o->val.keep_alive_idle = v; break;
    case WASOCK_SOCKETS_TYPES_SOCKET_OPTION_KEEP_ALIVE_INTERVAL: o->val.keep_alive_interval = v; break;
    case WASOCK_SOCKETS_TYPES_SOCKET_OPTION_KEEP_ALIVE_COUNT: o->val.keep_alive_count = (uint32_t)v; break;
    case WASOCK_SOCKETS_TYPES_SOCKET_OPTION_NO_DELAY: o->val.no_delay = v != 0; break;
    case WASOCK_SOCKETS_TYPES_SOCKET_OPTION_RECEIVE_BUFFER_SIZE: o->val.receive_buffer_size = v; break;
    case WASOCK_SOCKETS_TYPES_SOCKET_OPTION_SEND_BUFFER_SIZE: o->val.send_buffer_size = v; break;
    case WASOCK_SOCKETS_TYPES_SOCKET_OPTION_UNICAST_HOP_LIMIT: o->val.unicast_hop_limit = (uint8_t)v; break;
    case WASOCK_SOCKETS_TYPES_SOCKET_OPTION_IPV6_ONLY: o->val.ipv6_only = v != 0; break;
    case WASOCK_SOCKETS_TYPES_SOCKET_OPTION_BROADCAST: o->val.broadcast = v != 0; break;
    case WASOCK_SOCKETS_TYPES_SOCKET_OPTION_MULTICAST_HOP_LIMIT: o->val.multicast_hop_limit = (uint8_t)v; break;
    case WASOCK_SOCKETS_TYPES_SOCKET_OPTION_MULTICAST_LOOP: o->val.multicast_loop = v != 0; break;
    case WASOCK_SOCKETS_TYPES_SOCKET_OPTION_MULTICAST_INTERFACE: o->val.multicast_interface = (uint32_t)v; break;
    }
}

static uint64_t get_u64(const wsk_opt *o) {
    switch (o->tag) {
    case WASOCK_SOCKETS_TYPES_SOCKET_OPTION_REUSE_ADDRESS: return o->val.reuse_address;
    case WASOCK_SOCKETS_TYPES_SOCKET_OPTION_KEEP_ALIVE: return o->val.keep_alive;
    case WASOCK_SOCKETS_TYPES_SOCKET_OPTION_KEEP_ALIVE_IDLE: return o->val.keep_alive_idle;
    case WASOCK_SOCKETS_TYPES_SOCKET_OPTION_KEEP_ALIVE_INTERVAL: return o->val.keep_alive_interval;
    case WASOCK_SOCKETS_TYPES_SOCKET_OPTION_KEEP_ALIVE_COUNT: return o->val.keep_alive_count;
    case WASOCK_SOCKETS_TYPES_SOCKET_OPTION_NO_DELAY: return o->val.no_delay;
    case WASOCK_SOCKETS_TYPES_SOCKET_OPTION_RECEIVE_BUFFER_SIZE: return o->val.receive_buffer_size;
    case WASOCK_SOCKETS_TYPES_SOCKET_OPTION_SEND_BUFFER_SIZE: return o->val.send_buffer_size;
    case WASOCK_SOCKETS_TYPES_SOCKET_OPTION_UNICAST_HOP_LIMIT: return o->val.unicast_hop_limit;
    case WASOCK_SOCKETS_TYPES_SOCKET_OPTION_IPV6_ONLY: return o->val.ipv6_only;
    case WASOCK_SOCKETS_TYPES_SOCKET_OPTION_BROADCAST: return o->val.broadcast;
    case WASOCK_SOCKETS_TYPES_SOCKET_OPTION_MULTICAST_HOP_LIMIT: return o->val.multicast_hop_limit;
    case WASOCK_SOCKETS_TYPES_SOCKET_OPTION_MULTICAST_LOOP: return o->val.multicast_loop;
    case WASOCK_SOCKETS_TYPES_SOCKET_OPTION_MULTICAST_INTERFACE: return o->val.multicast_interface;
    }
    return 0;
}

/* An int option value. Linux takes a single byte for the IPPROTO_IP
 * ones (IP_TTL, IP_MULTICAST_TTL, IP_MULTICAST_LOOP) and wants a whole
 * int at every other level (EINVAL). */
static int read_int(int level, const void *val, socklen_t len, int *out) {
    if (val == NULL) {
        return wsk_errno(EFAULT);
    }
    if (len >= sizeof(int)) {
        memcpy(out, val, sizeof(int));
    } else if (len >= 1 && level == IPPROTO_IP) {
        *out = *(const unsigned char *)val;
    } else {
        return wsk_errno(EINVAL);
    }
    return 0;
}

/* Group membership: IP_ADD/DROP_MEMBERSHIP, IPV6_JOIN/LEAVE_GROUP. */
static int membership(struct wsk_socket *s, bool join, int level, const void *val, socklen_t len) {
    wasock_sockets_types_ip_address_t group;
    uint32_t index = 0;
    if (val == NULL) {
        return wsk_errno(EFAULT);
    }
    if (level == IPPROTO_IP) {
        if (len < sizeof(struct ip_mreq)) {
            return wsk_errno(EINVAL);
        }
        const struct ip_mreq *m = val;
        const uint8_t *b = (const uint8_t *)&m->imr_multiaddr.s_addr;
        group.tag = WASOCK_SOCKETS_TYPES_IP_ADDRESS_IPV4;
        group.val.ipv4 = (wasock_sockets_types_ipv4_address_t){b[0], b[1], b[2], b[3]};
        if (len >= sizeof(struct ip_mreqn)) {
            index = (uint32_t)((const struct ip_mreqn *)val)->imr_ifindex;
        }
    } else {
        if (len < sizeof(struct ipv6_mreq)) {
            return wsk_errno(EINVAL);
        }
        const struct ipv6_mreq *m = val;
        const uint8_t *b = m->ipv6mr_multiaddr.s6_addr;
        uint16_t g[8];
        for (int i = 0; i < 8; i++) {
            g[i] = (uint16_t)(b[2 * i] << 8 | b[2 * i + 1]);
        }
        group.tag = WASOCK_SOCKETS_TYPES_IP_ADDRESS_IPV6;
        group.val.ipv6 =
            (wasock_sockets_types_ipv6_address_t){g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7]};
        index = m->ipv6mr_interface;
    }
    wsk_code code;
    bool ok = join ? wasock_sockets_socket_method_socket_join_multicast_group(wsk_b(s), &group,
                                                                              index, &code)
                   : wasock_sockets_socket_method_socket_leave_multicast_group(wsk_b(s), &group,
                                                                               index, &code);
    return ok ? 0 : wsk_fail(code, WSK_OP_OTHER);
}

/* IP_MULTICAST_IF: Linux takes a `struct ip_mreqn` (an interface index)
 * or a `struct in_addr` (an interface's address). The interface names
 * interfaces by index only, so an address must be INADDR_ANY (the
 * system's choice); give an index with ip_mreqn. */
static int multicast_if_v4(struct wsk_socket *s, const void *val, socklen_t len) {
    if (val == NULL) {
        return wsk_errno(EFAULT);
    }
    uint32_t index;
    if (len >= sizeof(struct ip_mreqn)) {
        const struct ip_mreqn *m = val;
        if (m->imr_ifindex == 0 && m->imr_address.s_addr != htonl(INADDR_ANY)) {
            return wsk_errno(EADDRNOTAVAIL);
        }
        index = (uint32_t)m->imr_ifindex;
    } else if (len >= sizeof(struct in_addr)) {
        if (((const struct in_addr *)val)->s_addr != htonl(INADDR_ANY)) {
            return wsk_errno(EADDRNOTAVAIL);
        }
        index = 0;
    } else {
        return wsk_errno(EINVAL);
    }
    wsk_opt o = {.tag = WASOCK_SOCKETS_TYPES_SOCKET_OPTION_MULTICAST_INTERFACE};
    o.val.multicast_interface = index;
    wsk_code code;
    if (!wasock_sockets_socket_method_socket_set_option(wsk_b(s), &o, &code)) {
        return wsk_fail(code, WSK_OP_OTHER);
    }
    return 0;
}

int setsockopt(int fd, int level, int name, const void *val, socklen_t len) {
    struct wsk_socket *s = wsk_get(fd);
    if (s == NULL) {
        return -1;
    }
    /* An IPv4 socket has no IPv6 level (Linux: ENOPROTOOPT). */
    if (level == IPPROTO_IPV6 && s->family == AF_INET) {
        return wsk_errno(ENOPROTOOPT);
    }
    if ((level == IPPROTO_IP && (name == IP_ADD_MEMBERSHIP || name == IP_DROP_MEMBERSHIP)) ||
        (level == IPPROTO_IPV6 && (name == IPV6_JOIN_GROUP || name == IPV6_LEAVE_GROUP))) {
        return membership(s, name == IP_ADD_MEMBERSHIP || name == IPV6_JOIN_GROUP, level, val, len);
    }
    if (level == IPPROTO_IP && name == IP_MULTICAST_IF) {
        return multicast_if_v4(s, val, len);
    }
    const struct opt_row *r = find(level, name);
    if (r == NULL) {
        return wsk_errno(ENOPROTOOPT);
    }
    wsk_opt o;
    memset(&o, 0, sizeof o);
    o.tag = r->tag;
    if (r->shape == LINGER) {
        if (val == NULL) {
            return wsk_errno(EFAULT);
        }
        if (len < sizeof(struct linger)) {
            return wsk_errno(EINVAL);
        }
        const struct linger *l = val;
        o.val.linger.is_some = l->l_onoff != 0;
        o.val.linger.val = (uint64_t)(l->l_linger < 0 ? 0 : l->l_linger) * NS_PER_S;
    } else if (r->shape == TIMEVAL) {
        if (val == NULL) {
            return wsk_errno(EFAULT);
        }
        if (len < sizeof(struct timeval)) {
            return wsk_errno(EINVAL);
        }
        const struct timeval *tv = val;
        if (tv->tv_sec < 0 || tv->tv_usec < 0 || tv->tv_usec >= 1000000) {
            return wsk_errno(EDOM);
        }
        /* Longer than a duration holds (584 years): wait forever, as
         * Linux does with a timeout past what it can count. */
        bool forever = (uint64_t)tv->tv_sec >= UINT64_MAX / NS_PER_S - 1;
        uint64_t ns = forever ? 0
                              : (uint64_t)tv->tv_sec * NS_PER_S + (uint64_t)tv->tv_usec * NS_PER_US;
        wasock_sockets_types_option_duration_t d = {ns != 0, ns};
        if (r->tag == WASOCK_SOCKETS_TYPES_SOCKET_OPTION_RECEIVE_TIMEOUT) {
            o.val.receive_timeout = d;
        } else {
            o.val.send_timeout = d;
        }
    } else {
        int v;
        if (read_int(level, val, len, &v) != 0) {
            return -1;
        }
        if (r->shape == SECONDS) {
            if (v < 1) {
                return wsk_errno(EINVAL);
            }
            set_u64(&o, (uint64_t)v * NS_PER_S);
        } else if (r->shape == INT_VALUE) {
            /* -1 asks for the route default of a hop limit, as on Linux. */
            bool hops = r->tag == WASOCK_SOCKETS_TYPES_SOCKET_OPTION_UNICAST_HOP_LIMIT ||
                        r->tag == WASOCK_SOCKETS_TYPES_SOCKET_OPTION_MULTICAST_HOP_LIMIT;
            if (hops && v == -1) {
                v = r->tag == WASOCK_SOCKETS_TYPES_SOCKET_OPTION_UNICAST_HOP_LIMIT ? 64 : 1;
            }
            if (v < 0 || (hops && v > 255)) {
                return wsk_errno(EINVAL);
            }
            set_u64(&o, (uint64_t)v);
        } else {
            set_u64(&o, v != 0);
        }
    }
    wsk_code code;
    if (!wasock_sockets_socket_method_socket_set_option(wsk_b(s), &o, &code)) {
        return wsk_fail(code, WSK_OP_OTHER);
    }
    return 0;
}

/* Copy an option value out. POSIX: a value longer than *len is
 * silently truncated, and *len says how much was stored. */
static int put_value(void *val, socklen_t *len, const void *v, size_t size) {
    size_t n = *len < size ? *len : size;
    memcpy(val, v, n);
    *len = (socklen_t)n;
    return 0;
}

static int write_int(void *val, socklen_t *len, int v) {
    return put_value(val, len, &v, sizeof v);
}

int getsockopt(int fd, int level, int name, void *restrict val, socklen_t *restrict len) {
    struct wsk_socket *s = wsk_get(fd);
    if (s == NULL) {
        return -1;
    }
    if (val == NULL || len == NULL) {
        return wsk_errno(EFAULT);
    }
    wsk_code code;
    if (level == SOL_SOCKET && name == SO_ERROR) {
        wsk_code pending;
        bool some;
        if (wsk_take_error(s, &pending, &some) != 0) {
            return -1;
        }
        return write_int(val, len, some ? wsk_errno_of(pending, WSK_OP_CONNECT) : 0);
    }
    if (level == SOL_SOCKET && name == SO_TYPE) {
        return write_int(val, len, s->type);
    }
    if (level == SOL_SOCKET && name == SO_DOMAIN) {
        return write_int(val, len, s->family);
    }
    if (level == SOL_SOCKET && name == SO_PROTOCOL) {
        return write_int(val, len, s->type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP);
    }
    if (level == SOL_SOCKET && name == SO_ACCEPTCONN) {
        return write_int(val, len, s->listening);
    }
    /* An IPv4 socket asked at a level it lacks: Linux's ip_getsockopt
     * answers EOPNOTSUPP (where setsockopt says ENOPROTOOPT). */
    if (s->family == AF_INET &&
        (level == IPPROTO_IPV6 || (level == IPPROTO_TCP && s->type == SOCK_DGRAM))) {
        return wsk_errno(EOPNOTSUPP);
    }
    if (level == IPPROTO_IP && name == IP_MULTICAST_IF) {
        /* Linux answers the interface address set, INADDR_ANY when an
         * index was given; only indexes can be given here. */
        wsk_opt o;
        if (!wasock_sockets_socket_method_socket_get_option(
                wsk_b(s), WASOCK_SOCKETS_TYPES_OPTION_NAME_MULTICAST_INTERFACE, &o, &code)) {
            return wsk_fail(code, WSK_OP_OTHER);
        }
        struct in_addr any = {htonl(INADDR_ANY)};
        return put_value(val, len, &any, sizeof any);
    }
    const struct opt_row *r = find(level, name);
    if (r == NULL) {
        return wsk_errno(ENOPROTOOPT);
    }
    wsk_opt o;
    if (!wasock_sockets_socket_method_socket_get_option(wsk_b(s), r->tag, &o, &code)) {
        return wsk_fail(code, WSK_OP_OTHER);
    }
    if (r->shape == LINGER) {
        struct linger l = {o.val.linger.is_some, (int)(o.val.linger.val / NS_PER_S)};
        return put_value(val, len, &l, sizeof l);
    }
    if (r->shape == TIMEVAL) {
        wasock_sockets_types_option_duration_t d =
            r->tag == WASOCK_SOCKETS_TYPES_SOCKET_OPTION_RECEIVE_TIMEOUT ? o.val.receive_timeout
                                                                         : o.val.send_timeout;
        uint64_t ns = d.is_some ? d.val : 0;
        struct timeval tv = {(time_t)(ns / NS_PER_S), (suseconds_t)((ns % NS_PER_S) / NS_PER_US)};
        return put_value(val, len, &tv, sizeof tv);
    }
    uint64_t v = get_u64(&o);
    if (r->shape == SECONDS) {
        v /= NS_PER_S;
    }
    return write_int(val, len, v > INT32_MAX ? INT32_MAX : (int)v);
}
