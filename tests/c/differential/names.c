/* Differential test, name and address helpers: getaddrinfo (numeric,
 * localhost, service names, flags, bad family and socket type, no node),
 * getnameinfo, inet_pton and inet_ntop, byte order, gethostbyname, and
 * inet_aton, inet_ntoa and inet_addr. */
#include "common.h"

/* One getaddrinfo call summed up: the code, then the first answer and
 * whether all answers share its family. */
static void gai_case(const char *name, const char *node, const char *service, int family,
                     int socktype, int flags) {
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = family;
    hints.ai_socktype = socktype;
    hints.ai_flags = flags;
    int err = getaddrinfo(node, service, &hints, &res);
    if (err != 0) {
        say(name, "%s", eainame(err));
        return;
    }
    bool same_family = true;
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        same_family = same_family && ai->ai_family == res->ai_family;
    }
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    memcpy(&ss, res->ai_addr, res->ai_addrlen);
    say(name, "0 first %s %s %s %s port %u addrlen=%s%s", family_str(res->ai_family),
        type_str(res->ai_socktype),
        res->ai_protocol == IPPROTO_TCP   ? "IPPROTO_TCP"
        : res->ai_protocol == IPPROTO_UDP ? "IPPROTO_UDP"
                                          : "proto?",
        addr_str(&ss), port_of(&ss),
        res->ai_addrlen == (res->ai_family == AF_INET ? sizeof(struct sockaddr_in)
                                                      : sizeof(struct sockaddr_in6))
            ? "full"
            : "other",
        same_family ? "" : " mixed-families");
    freeaddrinfo(res);
}

void names(void) {
    gai_case("gai-numeric-ipv4", "127.0.0.1", "8080", AF_UNSPEC, SOCK_STREAM, AI_NUMERICHOST);
    gai_case("gai-numeric-ipv6", "::1", "53", AF_UNSPEC, SOCK_DGRAM, AI_NUMERICHOST);
    gai_case("gai-localhost-ipv4", "localhost", "80", AF_INET, SOCK_STREAM, 0);
    gai_case("gai-service-name", "127.0.0.1", "http", AF_INET, SOCK_STREAM, 0);
    gai_case("gai-service-alias", "127.0.0.1", "www", AF_INET, SOCK_STREAM, 0);
    gai_case("gai-v4mapped-numeric", "127.0.0.1", "80", AF_INET6, SOCK_STREAM, AI_V4MAPPED);
    gai_case("gai-scope-signed", "fe80::1%-1", "53", AF_INET6, SOCK_DGRAM, AI_NUMERICHOST);
    gai_case("gai-scope-too-big", "fe80::1%99999999999", "53", AF_INET6, SOCK_DGRAM,
             AI_NUMERICHOST);
    /* A literal with its scope, as `ping fe80::1%2` takes it. */
    struct addrinfo sh, *sr = NULL;
    memset(&sh, 0, sizeof sh);
    sh.ai_family = AF_INET6;
    sh.ai_socktype = SOCK_DGRAM;
    sh.ai_flags = AI_NUMERICHOST;
    int serr = getaddrinfo("fe80::1%2", "53", &sh, &sr);
    char shown[INET6_ADDRSTRLEN] = "";
    if (serr == 0) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sr->ai_addr;
        inet_ntop(AF_INET6, &in6->sin6_addr, shown, sizeof shown);
        say("gai-scoped-literal", "0 %s scope %u", shown, (unsigned)in6->sin6_scope_id);
        freeaddrinfo(sr);
    } else {
        say("gai-scoped-literal", "%s", eainame(serr));
    }
    gai_case("gai-service-mysql", "127.0.0.1", "mysql", AF_INET, SOCK_STREAM, 0);
    gai_case("gai-service-submission", "127.0.0.1", "submission", AF_INET, SOCK_STREAM, 0);
    /* Each answer is read before the next call (one static answer). */
    struct servent *se = getservbyname("https", "tcp");
    unsigned https = se ? (unsigned)ntohs((uint16_t)se->s_port) : 0u;
    bool https_tcp = se != NULL && strcmp(se->s_proto, "tcp") == 0;
    se = getservbyport(htons(22), "tcp");
    bool ssh = se != NULL && strcmp(se->s_name, "ssh") == 0;
    bool none = getservbyname("no-such-service-zz", "tcp") == NULL;
    say("getservbyname-and-port", "https %u%s, port 22 %s, unknown %s", https,
        https_tcp ? "/tcp" : "", ssh ? "ssh" : "other", none ? "none" : "found");
    struct protoent *pe = getprotobyname("udp");
    int udp = pe ? pe->p_proto : -1;
    pe = getprotobynumber(IPPROTO_TCP);
    say("getprotobyname-and-number", "udp %d, tcp %s", udp,
        pe != NULL && strcmp(pe->p_name, "tcp") == 0 ? "tcp" : "other");
    /* A protocol and no socket type: the protocol picks the type. */
    struct addrinfo ph, *pr = NULL;
    memset(&ph, 0, sizeof ph);
    ph.ai_protocol = IPPROTO_UDP;
    int perr = getaddrinfo("127.0.0.1", "53", &ph, &pr);
    say("gai-protocol-picks-type", "%s %s%s", perr != 0 ? eainame(perr) : "0",
        perr != 0 ? "" : type_str(pr->ai_socktype),
        perr == 0 && pr->ai_next != NULL ? " and more" : "");
    if (perr == 0) {
        freeaddrinfo(pr);
    }
    gai_case("gai-bad-service", "127.0.0.1", "no-such-service-zz", AF_INET, SOCK_STREAM, 0);
    gai_case("gai-numerichost-with-name", "localhost", "80", AF_INET, SOCK_STREAM, AI_NUMERICHOST);
    gai_case("gai-numericserv-with-name", "127.0.0.1", "http", AF_INET, SOCK_STREAM,
             AI_NUMERICSERV);
    gai_case("gai-bad-family", "127.0.0.1", "80", 12345, SOCK_STREAM, 0);
    gai_case("gai-bad-socktype", "127.0.0.1", "80", AF_INET, 12345, 0);
    gai_case("gai-no-node-no-service", NULL, NULL, AF_INET, SOCK_STREAM, 0);
    gai_case("gai-passive", NULL, "8080", AF_INET, SOCK_STREAM, AI_PASSIVE);
    gai_case("gai-no-node-loopback", NULL, "8080", AF_INET6, SOCK_STREAM, 0);
    /* With no family: to bind, IPv4's unspecified address first; to
     * connect, IPv6's loopback first (glibc's order). */
    gai_case("gai-passive-any-family", NULL, "8080", AF_UNSPEC, SOCK_STREAM, AI_PASSIVE);
    gai_case("gai-no-node-any-family", NULL, "8080", AF_UNSPEC, SOCK_STREAM, 0);

    char host[NI_MAXHOST], serv[NI_MAXSERV];
    struct sockaddr_storage ss;
    socklen_t len = loopback(AF_INET, 8080, &ss);
    int err = getnameinfo((struct sockaddr *)&ss, len, host, sizeof host, serv, sizeof serv,
                          NI_NUMERICHOST | NI_NUMERICSERV);
    say("getnameinfo-ipv4", "%s %s %s", eainame(err), err ? "" : host, err ? "" : serv);
    len = loopback(AF_INET6, 443, &ss);
    err = getnameinfo((struct sockaddr *)&ss, len, host, sizeof host, serv, sizeof serv,
                      NI_NUMERICHOST | NI_NUMERICSERV);
    say("getnameinfo-ipv6", "%s %s %s", eainame(err), err ? "" : host, err ? "" : serv);
    len = loopback(AF_INET, 8080, &ss);
    err = getnameinfo((struct sockaddr *)&ss, len, host, 4, NULL, 0, NI_NUMERICHOST);
    say("getnameinfo-small-buffer", "%s", eainame(err));
    err = getnameinfo((struct sockaddr *)&ss, 4, host, sizeof host, NULL, 0, NI_NUMERICHOST);
    say("getnameinfo-short-length", "%s", eainame(err));

    struct in_addr a4;
    struct in6_addr a6;
    char t[INET6_ADDRSTRLEN];
    int r1 = inet_pton(AF_INET, "192.0.2.33", &a4);
    const char *o1 = inet_ntop(AF_INET, &a4, t, sizeof t);
    say("inet-pton-ntop-ipv4", "%d %s bytes %u.%u", r1, o1 ? o1 : "NULL", ((unsigned char *)&a4)[0],
        ((unsigned char *)&a4)[3]);
    int r2 = inet_pton(AF_INET6, "2001:DB8:0:0:0:0:0:1", &a6);
    const char *o2 = inet_ntop(AF_INET6, &a6, t, sizeof t);
    say("inet-pton-ntop-ipv6", "%d %s", r2, o2 ? o2 : "NULL");
    int bad4 = inet_pton(AF_INET, "256.1.2.3", &a4);
    int bad6 = inet_pton(AF_INET6, "1:::2", &a6);
    say("inet-pton-bad", "%d %d %s", bad4, bad6, RC(inet_pton(12345, "1.2.3.4", &a4)));
    errno = 0;
    o1 = inet_ntop(AF_INET, &a4, t, 4);
    say("inet-ntop-short-buffer", "%s %s", o1 ? "non-NULL" : "NULL", ename(errno));
    unsigned short h = htons(0x1234);
    unsigned int hl = htonl(0x01020304);
    const unsigned char *hb = (const unsigned char *)&h, *hlb = (const unsigned char *)&hl;
    say("htons-htonl", "%02x %02x / %02x %02x, ntohs %s", hb[0], hb[1], hlb[0], hlb[3],
        ntohs(h) == 0x1234 ? "round-trips" : "differs");
    struct hostent *he = gethostbyname("localhost");
    say("gethostbyname-localhost", "%s", he == NULL ? "NULL"
                                       : he->h_addrtype == AF_INET && he->h_length == 4
                                           ? inet_ntoa(*(struct in_addr *)he->h_addr_list[0])
                                           : "not-AF_INET");
    struct in_addr ia;
    int ok = inet_aton("10.1.2.3", &ia);
    say("inet-aton-ntoa", "%d %s, inet_addr %s", ok, inet_ntoa(ia),
        inet_addr("10.1.2.3") == ia.s_addr ? "same" : "differs");
    /* The name itself differs (the machine's against `localhost`); that
     * there is one, and what a buffer too small for it gets, do not. */
    char self[256];
    memset(self, 'x', sizeof self);
    const char *hr = RC(gethostname(self, sizeof self));
    say("gethostname", "%s %s", hr,
        self[0] != '\0' && memchr(self, '\0', sizeof self) != NULL ? "a name" : "no name");
    char tiny[1];
    say("gethostname-no-room", "%s", RC(gethostname(tiny, sizeof tiny)));
}
