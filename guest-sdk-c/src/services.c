/* Services and protocols by name: the table getaddrinfo's service names
 * come from, and getservbyname, getservbyport, getprotobyname and
 * getprotobynumber over it (a guest has no /etc/services). */
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>

#include "internal.h"

/* The services programs name most often, as /etc/services (Debian's)
 * numbers them, with one alias each at most; numbers work for every
 * port. A service offered over both TCP and UDP is listed once. */
static const struct {
    const char *name;
    const char *alias;
    uint16_t port;
} SERVICES[] = {
    {"echo", NULL, 7},           {"discard", NULL, 9},      {"daytime", NULL, 13},
    {"ftp-data", NULL, 20},      {"ftp", NULL, 21},         {"ssh", NULL, 22},
    {"telnet", NULL, 23},        {"smtp", "mail", 25},      {"time", NULL, 37},
    {"domain", NULL, 53},        {"tftp", NULL, 69},        {"gopher", NULL, 70},
    {"finger", NULL, 79},        {"http", "www", 80},       {"kerberos", NULL, 88},
    {"pop3", "pop-3", 110},      {"sunrpc", NULL, 111},     {"auth", "ident", 113},
    {"nntp", NULL, 119},         {"ntp", NULL, 123},        {"imap2", "imap", 143},
    {"snmp", NULL, 161},         {"snmp-trap", NULL, 162},  {"ldap", NULL, 389},
    {"https", NULL, 443},        {"submissions", "ssmtp", 465},
    {"syslog", NULL, 514},       {"submission", NULL, 587}, {"ldaps", NULL, 636},
    {"imaps", NULL, 993},        {"pop3s", NULL, 995},      {"socks", NULL, 1080},
    {"openvpn", NULL, 1194},     {"mysql", NULL, 3306},     {"postgresql", "postgres", 5432},
    {"amqp", NULL, 5672},        {"redis", NULL, 6379},     {"http-alt", "webcache", 8080},
    {"memcache", NULL, 11211},   {"mongodb", NULL, 27017},
};
#define SERVICE_COUNT (sizeof SERVICES / sizeof SERVICES[0])

int wsk_service_port(const char *name) {
    for (size_t i = 0; i < SERVICE_COUNT; i++) {
        if (strcmp(name, SERVICES[i].name) == 0 ||
            (SERVICES[i].alias != NULL && strcmp(name, SERVICES[i].alias) == 0)) {
            return SERVICES[i].port;
        }
    }
    return -1;
}

/* The protocols a socket here can use. */
static const struct {
    const char *name;
    const char *alias;
    int number;
} PROTOCOLS[] = {
    {"ip", "IP", IPPROTO_IP}, {"tcp", "TCP", IPPROTO_TCP}, {"udp", "UDP", IPPROTO_UDP},
    {"ipv6", "IPv6", IPPROTO_IPV6},
};
#define PROTOCOL_COUNT (sizeof PROTOCOLS / sizeof PROTOCOLS[0])

/* `proto` is NULL (any), "tcp" or "udp": every service here has both. */
static bool known_proto(const char *proto) {
    return proto == NULL || strcmp(proto, "tcp") == 0 || strcmp(proto, "udp") == 0;
}

/* One static answer, as the interface has it (not thread-safe; a guest
 * has one thread). */
static struct servent service;
static char *service_aliases[2];

static struct servent *service_at(size_t i, const char *proto) {
    service_aliases[0] = (char *)SERVICES[i].alias;
    service_aliases[1] = NULL;
    service.s_name = (char *)SERVICES[i].name;
    service.s_aliases = service_aliases;
    service.s_port = (int)htons(SERVICES[i].port);
    service.s_proto = (char *)(proto != NULL ? proto : "tcp");
    return &service;
}

struct servent *getservbyname(const char *name, const char *proto) {
    if (name == NULL || !known_proto(proto)) {
        return NULL;
    }
    int port = wsk_service_port(name);
    for (size_t i = 0; port >= 0 && i < SERVICE_COUNT; i++) {
        if (SERVICES[i].port == port) {
            return service_at(i, proto);
        }
    }
    return NULL;
}

struct servent *getservbyport(int port, const char *proto) {
    if (!known_proto(proto)) {
        return NULL;
    }
    for (size_t i = 0; i < SERVICE_COUNT; i++) {
        if (htons(SERVICES[i].port) == (uint16_t)port) {
            return service_at(i, proto);
        }
    }
    return NULL;
}

static struct protoent protocol;
static char *protocol_aliases[2];

static struct protoent *protocol_at(size_t i) {
    protocol_aliases[0] = (char *)PROTOCOLS[i].alias;
    protocol_aliases[1] = NULL;
    protocol.p_name = (char *)PROTOCOLS[i].name;
    protocol.p_aliases = protocol_aliases;
    protocol.p_proto = PROTOCOLS[i].number;
    return &protocol;
}

struct protoent *getprotobyname(const char *name) {
    for (size_t i = 0; name != NULL && i < PROTOCOL_COUNT; i++) {
        if (strcmp(name, PROTOCOLS[i].name) == 0 || strcmp(name, PROTOCOLS[i].alias) == 0) {
            return protocol_at(i);
        }
    }
    return NULL;
}

struct protoent *getprotobynumber(int number) {
    for (size_t i = 0; i < PROTOCOL_COUNT; i++) {
        if (PROTOCOLS[i].number == number) {
            return protocol_at(i);
        }
    }
    return NULL;
}
