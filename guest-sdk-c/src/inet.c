/* inet_addr, inet_aton, inet_ntoa: the IPv4 text helpers wasi-libc
 * leaves out (dotted quad only, which is what programs pass). */
#include <arpa/inet.h>
#include <stdio.h>

in_addr_t inet_addr(const char *cp) {
    struct in_addr a;
    return inet_aton(cp, &a) ? a.s_addr : (in_addr_t)-1;
}

int inet_aton(const char *cp, struct in_addr *inp) {
    return cp != NULL && inp != NULL && inet_pton(AF_INET, cp, inp) == 1;
}

char *inet_ntoa(struct in_addr in) {
    static char buf[INET_ADDRSTRLEN];
    return (char *)inet_ntop(AF_INET, &in, buf, sizeof buf);
}
