/* sockaddr_in / sockaddr_in6 <-> the interface's socket-address. */
#include <netinet/in.h>
#include <string.h>

#include "internal.h"

int wsk_from_sockaddr(const struct sockaddr *sa, socklen_t len, int family, wsk_addr *out) {
    if (sa == NULL) {
        return wsk_errno(EFAULT);
    }
    if (len < (socklen_t)sizeof(sa_family_t)) {
        return wsk_errno(EINVAL);
    }
    if (sa->sa_family != family) {
        return wsk_errno(len < (family == AF_INET ? sizeof(struct sockaddr_in)
                                                  : sizeof(struct sockaddr_in6))
                             ? EINVAL
                             : EAFNOSUPPORT);
    }
    if (family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        if (len < sizeof *in) {
            return wsk_errno(EINVAL);
        }
        const uint8_t *b = (const uint8_t *)&in->sin_addr.s_addr;
        out->tag = WASOCK_SOCKETS_TYPES_SOCKET_ADDRESS_IPV4;
        out->val.ipv4.port = ntohs(in->sin_port);
        out->val.ipv4.address = (wasock_sockets_types_ipv4_address_t){b[0], b[1], b[2], b[3]};
        return 0;
    }
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
    if (len < sizeof *in6) {
        return wsk_errno(EINVAL);
    }
    const uint8_t *b = in6->sin6_addr.s6_addr;
    uint16_t g[8];
    for (int i = 0; i < 8; i++) {
        g[i] = (uint16_t)(b[2 * i] << 8 | b[2 * i + 1]);
    }
    out->tag = WASOCK_SOCKETS_TYPES_SOCKET_ADDRESS_IPV6;
    out->val.ipv6.port = ntohs(in6->sin6_port);
    out->val.ipv6.flow_info = ntohl(in6->sin6_flowinfo);
    out->val.ipv6.scope_id = in6->sin6_scope_id;
    out->val.ipv6.address =
        (wasock_sockets_types_ipv6_address_t){g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7]};
    return 0;
}

int wsk_to_sockaddr(const wsk_addr *addr, struct sockaddr *sa, socklen_t *len) {
    if (len == NULL) {
        return sa == NULL ? 0 : wsk_errno(EFAULT);
    }
    if (sa == NULL) {
        return wsk_errno(EFAULT);
    }
    struct sockaddr_storage ss;
    socklen_t full;
    memset(&ss, 0, sizeof ss);
    if (addr->tag == WASOCK_SOCKETS_TYPES_SOCKET_ADDRESS_IPV4) {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        const wasock_sockets_types_ipv4_address_t *a = &addr->val.ipv4.address;
        uint8_t b[4] = {a->f0, a->f1, a->f2, a->f3};
        in->sin_family = AF_INET;
        in->sin_port = htons(addr->val.ipv4.port);
        memcpy(&in->sin_addr.s_addr, b, 4);
        full = sizeof *in;
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        const wasock_sockets_types_ipv6_address_t *a = &addr->val.ipv6.address;
        uint16_t g[8] = {a->f0, a->f1, a->f2, a->f3, a->f4, a->f5, a->f6, a->f7};
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(addr->val.ipv6.port);
        in6->sin6_flowinfo = htonl(addr->val.ipv6.flow_info);
        in6->sin6_scope_id = addr->val.ipv6.scope_id;
        for (int i = 0; i < 8; i++) {
            in6->sin6_addr.s6_addr[2 * i] = (uint8_t)(g[i] >> 8);
            in6->sin6_addr.s6_addr[2 * i + 1] = (uint8_t)g[i];
        }
        full = sizeof *in6;
    }
    memcpy(sa, &ss, *len < full ? *len : full);
    *len = full;
    return 0;
}
