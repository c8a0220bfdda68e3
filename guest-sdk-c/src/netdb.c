/* getaddrinfo, freeaddrinfo, gai_strerror, numeric getnameinfo and
 * gethostbyname, over the interface's `resolve-addresses`. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "wasock/wasock.h"
#include "wasock/wsa_errors.h"

int h_errno;

/* Port for `service` in network order, or an EAI_* code. */
static int service_port(const char *service, int flags, uint16_t *port) {
    *port = 0;
    if (service == NULL) {
        return 0;
    }
    char *end;
    unsigned long n = strtoul(service, &end, 10);
    if (*service != '\0' && *end == '\0') {
        if (n > 65535) {
            return EAI_SERVICE;
        }
        *port = htons((uint16_t)n);
        return 0;
    }
    if (flags & AI_NUMERICSERV) {
        return EAI_NONAME;
    }
    int known = wsk_service_port(service);
    if (known < 0) {
        return EAI_SERVICE;
    }
    *port = htons((uint16_t)known);
    return 0;
}

/* Append one result per socket type for the address (v4: 4 bytes, v6: 16
 * with its scope id). */
static int append_scoped(struct addrinfo ***tail, int family, const void *bytes, uint32_t scope,
                         uint16_t port, int socktype, int protocol) {
    static const int TYPES[2] = {SOCK_STREAM, SOCK_DGRAM};
    for (int t = 0; t < 2; t++) {
        if (socktype != 0 && socktype != TYPES[t]) {
            continue;
        }
        /* A protocol asked for picks its socket type (glibc). */
        if ((protocol == IPPROTO_TCP && TYPES[t] != SOCK_STREAM) ||
            (protocol == IPPROTO_UDP && TYPES[t] != SOCK_DGRAM)) {
            continue;
        }
        struct addrinfo *ai = calloc(1, sizeof *ai + sizeof(struct sockaddr_in6));
        if (ai == NULL) {
            return EAI_MEMORY;
        }
        ai->ai_family = family;
        ai->ai_socktype = TYPES[t];
        ai->ai_protocol = protocol ? protocol : (TYPES[t] == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP);
        ai->ai_addr = (struct sockaddr *)(ai + 1);
        if (family == AF_INET) {
            struct sockaddr_in *in = (struct sockaddr_in *)ai->ai_addr;
            in->sin_family = AF_INET;
            in->sin_port = port;
            memcpy(&in->sin_addr, bytes, 4);
            ai->ai_addrlen = sizeof *in;
        } else {
            struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ai->ai_addr;
            in6->sin6_family = AF_INET6;
            in6->sin6_port = port;
            memcpy(&in6->sin6_addr, bytes, 16);
            in6->sin6_scope_id = scope;
            ai->ai_addrlen = sizeof *in6;
        }
        **tail = ai;
        *tail = &ai->ai_next;
    }
    return 0;
}

static int append(struct addrinfo ***tail, int family, const void *bytes, uint16_t port,
                  int socktype, int protocol) {
    return append_scoped(tail, family, bytes, 0, port, socktype, protocol);
}

/* An IPv4 address as IPv6 (AI_V4MAPPED): ::ffff:a.b.c.d. */
static void mapped(const uint8_t v4[4], uint8_t out[16]) {
    memset(out, 0, 10);
    out[10] = out[11] = 0xff;
    memcpy(out + 12, v4, 4);
}

/* An IPv6 literal with a numeric scope (`fe80::1%2`): its bytes and
 * scope, or false. Interface names are not known here (no <net/if.h>). */
static bool scoped_literal(const char *node, uint8_t out[16], uint32_t *scope) {
    const char *pct = strchr(node, '%');
    if (pct == NULL || pct == node || (size_t)(pct - node) >= INET6_ADDRSTRLEN) {
        return false;
    }
    char addr[INET6_ADDRSTRLEN];
    memcpy(addr, node, (size_t)(pct - node));
    addr[pct - node] = '\0';
    /* Digits only, as glibc takes them: no sign, no space, in range. */
    if (!isdigit((unsigned char)pct[1])) {
        return false;
    }
    char *end;
    int saved = errno;
    errno = 0;
    unsigned long long n = strtoull(pct + 1, &end, 10);
    bool overflow = errno == ERANGE;
    errno = saved;
    if (*end != '\0' || overflow || n > UINT32_MAX) {
        return false;
    }
    *scope = (uint32_t)n;
    return inet_pton(AF_INET6, addr, out) == 1;
}

static void ip_bytes(const wasock_sockets_types_ip_address_t *ip, uint8_t out[16]) {
    if (ip->tag == WASOCK_SOCKETS_TYPES_IP_ADDRESS_IPV4) {
        const wasock_sockets_types_ipv4_address_t *a = &ip->val.ipv4;
        out[0] = a->f0, out[1] = a->f1, out[2] = a->f2, out[3] = a->f3;
        return;
    }
    const wasock_sockets_types_ipv6_address_t *a = &ip->val.ipv6;
    uint16_t g[8] = {a->f0, a->f1, a->f2, a->f3, a->f4, a->f5, a->f6, a->f7};
    for (int i = 0; i < 8; i++) {
        out[2 * i] = (uint8_t)(g[i] >> 8);
        out[2 * i + 1] = (uint8_t)g[i];
    }
}

static int lookup(const char *restrict node, const char *restrict service,
                  const struct addrinfo *restrict hints, struct addrinfo **restrict res) {
    int flags = hints ? hints->ai_flags : 0;
    int family = hints ? hints->ai_family : AF_UNSPEC;
    int socktype = hints ? hints->ai_socktype : 0;
    int protocol = hints ? hints->ai_protocol : 0;
    if (res == NULL) {
        return EAI_SYSTEM;
    }
    *res = NULL;
    if (node == NULL && service == NULL) {
        return EAI_NONAME;
    }
    if (family != AF_UNSPEC && family != AF_INET && family != AF_INET6) {
        return EAI_FAMILY;
    }
    if (socktype != 0 && socktype != SOCK_STREAM && socktype != SOCK_DGRAM) {
        return EAI_SOCKTYPE;
    }
    if (flags & ~(AI_PASSIVE | AI_CANONNAME | AI_NUMERICHOST | AI_V4MAPPED | AI_ALL |
                  AI_ADDRCONFIG | AI_NUMERICSERV)) {
        return EAI_BADFLAGS;
    }
    uint16_t port;
    int err = service_port(service, flags, &port);
    if (err != 0) {
        return err;
    }
    struct addrinfo *head = NULL, **tail = &head;
    if (node == NULL) {
        /* The unspecified address to bind, IPv4's first, or loopback to
         * connect to, IPv6's first, as glibc orders them (a program that
         * binds the first answer it may gets 0.0.0.0). */
        static const uint8_t any6[16] = {0}, lo6[16] = {[15] = 1};
        static const uint8_t any4[4] = {0}, lo4[4] = {127, 0, 0, 1};
        bool passive = (flags & AI_PASSIVE) != 0;
        if (passive && family != AF_INET6) {
            err = append(&tail, AF_INET, any4, port, socktype, protocol);
        }
        if (err == 0 && family != AF_INET) {
            err = append(&tail, AF_INET6, passive ? any6 : lo6, port, socktype, protocol);
        }
        if (err == 0 && !passive && family != AF_INET6) {
            err = append(&tail, AF_INET, lo4, port, socktype, protocol);
        }
    } else {
        uint8_t b[16], v6[16];
        uint32_t scope = 0;
        /* AI_V4MAPPED: an IPv6 caller takes IPv4 answers as ::ffff:a.b.c.d
         * when there is no IPv6 one (with AI_ALL, beside them). */
        bool v4mapped = family == AF_INET6 && (flags & AI_V4MAPPED) != 0;
        if (family != AF_INET6 && inet_pton(AF_INET, node, b) == 1) {
            err = append(&tail, AF_INET, b, port, socktype, protocol);
        } else if (v4mapped && inet_pton(AF_INET, node, b) == 1) {
            mapped(b, v6);
            err = append(&tail, AF_INET6, v6, port, socktype, protocol);
        } else if (family != AF_INET && inet_pton(AF_INET6, node, b) == 1) {
            err = append(&tail, AF_INET6, b, port, socktype, protocol);
        } else if (family != AF_INET && scoped_literal(node, b, &scope)) {
            err = append_scoped(&tail, AF_INET6, b, scope, port, socktype, protocol);
        } else if (flags & AI_NUMERICHOST) {
            err = EAI_NONAME;
        } else {
            wasock_sockets_string_t name = {(uint8_t *)node, strlen(node)};
            wasock_sockets_types_address_family_t fam =
                family == AF_INET ? WASOCK_SOCKETS_TYPES_ADDRESS_FAMILY_IPV4
                                  : WASOCK_SOCKETS_TYPES_ADDRESS_FAMILY_IPV6;
            wasock_sockets_name_lookup_list_ip_address_t ips;
            wsk_code code;
            bool any_family = family == AF_UNSPEC || v4mapped;
            if (!wasock_sockets_name_lookup_resolve_addresses(&name, any_family ? NULL : &fam, &ips,
                                                              &code)) {
                err = wasock_error_eai(code);
                if (err == EAI_SYSTEM) {
                    wsk_fail(code, WSK_OP_OTHER); /* errno tells which, e.g. EACCES */
                }
            } else {
                size_t v6_answers = 0;
                for (size_t i = 0; i < ips.len; i++) {
                    v6_answers += ips.ptr[i].tag == WASOCK_SOCKETS_TYPES_IP_ADDRESS_IPV6;
                }
                bool map_v4 = v4mapped && (v6_answers == 0 || (flags & AI_ALL) != 0);
                for (size_t i = 0; err == 0 && i < ips.len; i++) {
                    ip_bytes(&ips.ptr[i], b);
                    int f = ips.ptr[i].tag == WASOCK_SOCKETS_TYPES_IP_ADDRESS_IPV4 ? AF_INET : AF_INET6;
                    if (f == AF_INET && v4mapped) {
                        if (!map_v4) {
                            continue;
                        }
                        mapped(b, v6);
                        err = append(&tail, AF_INET6, v6, port, socktype, protocol);
                    } else {
                        err = append(&tail, f, b, port, socktype, protocol);
                    }
                }
                wasock_sockets_name_lookup_list_ip_address_free(&ips);
                if (err == 0 && head == NULL) {
                    err = EAI_NONAME;
                }
            }
        }
    }
    if (err == 0 && head != NULL && (flags & AI_CANONNAME) && node != NULL) {
        head->ai_canonname = strdup(node);
        if (head->ai_canonname == NULL) {
            err = EAI_MEMORY;
        }
    }
    if (err != 0) {
        freeaddrinfo(head);
        return err;
    }
    *res = head;
    return 0;
}

void WSASetLastError(int err);

/* The Winsock error for a getaddrinfo failure: Windows' getaddrinfo
 * returns it and sets it as the last error. */
static int wsa_of_eai(int err) {
    switch (err) {
    case EAI_AGAIN: return WSATRY_AGAIN;
    case EAI_FAIL: return WSANO_RECOVERY;
    case EAI_FAMILY: return WSAEAFNOSUPPORT;
    case EAI_MEMORY: return WSA_NOT_ENOUGH_MEMORY;
    case EAI_NONAME: return WSAHOST_NOT_FOUND;
    case EAI_NODATA: return WSANO_DATA;
    case EAI_SERVICE: return WSATYPE_NOT_FOUND;
    case EAI_SOCKTYPE: return WSAESOCKTNOSUPPORT;
    default: return WSAEINVAL;
    }
}

/* lookup, and on failure the Winsock last error, so that a Winsock
 * program's WSAGetLastError() names it as on Windows (the return value
 * stays EAI_*; errno is EIO then, except for EAI_SYSTEM, which keeps
 * the errno and Winsock error of the failed call). */
int getaddrinfo(const char *restrict node, const char *restrict service,
                const struct addrinfo *restrict hints, struct addrinfo **restrict res) {
    int err = lookup(node, service, hints, res);
    if (err != 0 && err != EAI_SYSTEM) {
        WSASetLastError(wsa_of_eai(err));
    }
    return err;
}

void freeaddrinfo(struct addrinfo *res) {
    while (res != NULL) {
        struct addrinfo *next = res->ai_next;
        free(res->ai_canonname);
        free(res);
        res = next;
    }
}

const char *gai_strerror(int err) {
    switch (err) {
    case 0: return "Success";
    case EAI_BADFLAGS: return "Invalid flags";
    case EAI_NONAME: return "Name does not resolve";
    case EAI_AGAIN: return "Temporary failure in name resolution";
    case EAI_FAIL: return "Non-recoverable failure in name resolution";
    case EAI_NODATA: return "No address associated with hostname";
    case EAI_FAMILY: return "Unrecognized address family or invalid length";
    case EAI_SOCKTYPE: return "Unrecognized socket type";
    case EAI_SERVICE: return "Unrecognized service";
    case EAI_MEMORY: return "Out of memory";
    case EAI_SYSTEM: return "System error (see errno)";
    case EAI_OVERFLOW: return "Overflow";
    default: return "Unknown error";
    }
}

int getnameinfo(const struct sockaddr *restrict sa, socklen_t salen, char *restrict host,
                socklen_t hostlen, char *restrict serv, socklen_t servlen, int flags) {
    if (sa == NULL) {
        return EAI_FAMILY;
    }
    const void *addr;
    uint16_t port;
    int family = sa->sa_family;
    if (family == AF_INET && salen >= sizeof(struct sockaddr_in)) {
        addr = &((const struct sockaddr_in *)sa)->sin_addr;
        port = ((const struct sockaddr_in *)sa)->sin_port;
    } else if (family == AF_INET6 && salen >= sizeof(struct sockaddr_in6)) {
        addr = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        port = ((const struct sockaddr_in6 *)sa)->sin6_port;
    } else {
        return EAI_FAMILY;
    }
    if (host != NULL && hostlen > 0) {
        /* No reverse lookup: the numeric form is the only answer. */
        if (flags & NI_NAMEREQD) {
            return EAI_NONAME;
        }
        if (inet_ntop(family, addr, host, hostlen) == NULL) {
            return EAI_OVERFLOW;
        }
    }
    if (serv != NULL && servlen > 0) {
        int n = snprintf(serv, servlen, "%u", (unsigned)ntohs(port));
        if (n < 0 || (socklen_t)n >= servlen) {
            return EAI_OVERFLOW;
        }
    }
    return 0;
}

struct hostent *gethostbyname(const char *name) {
    static struct hostent he;
    static char *addrs[2];
    static struct in_addr addr;
    static char *aliases[1];
    static char hname[NI_MAXHOST + 1];
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res;
    int err = getaddrinfo(name, NULL, &hints, &res);
    if (err != 0) {
        h_errno = err == EAI_AGAIN ? TRY_AGAIN : err == EAI_NONAME ? HOST_NOT_FOUND : NO_RECOVERY;
        return NULL;
    }
    addr = ((struct sockaddr_in *)res->ai_addr)->sin_addr;
    freeaddrinfo(res);
    snprintf(hname, sizeof hname, "%s", name);
    addrs[0] = (char *)&addr;
    addrs[1] = NULL;
    aliases[0] = NULL;
    he = (struct hostent){hname, aliases, AF_INET, 4, addrs};
    return &he;
}

/* A guest has no host name of its own (wasi-libc's `uname` says
 * "(none)"): answer the name every resolve grant can name, so that
 * `getaddrinfo` of the answer works under `--allow resolve=localhost`.
 * A buffer without room for the name and its NUL is ENAMETOOLONG, as
 * glibc says. */
int gethostname(char *name, size_t len) {
    static const char HOST[] = "localhost";
    if (len < sizeof HOST) {
        return wsk_errno(ENAMETOOLONG);
    }
    if (name == NULL) {
        return wsk_errno(EFAULT);
    }
    memcpy(name, HOST, sizeof HOST);
    return 0;
}
