/* arpa/inet.h for wasock: wasi-libc's header plus the IPv4 text helpers
 * it leaves out. */
#ifndef WASOCK_ARPA_INET_H
#define WASOCK_ARPA_INET_H

#include_next <arpa/inet.h>

#ifdef __cplusplus
extern "C" {
#endif

in_addr_t inet_addr(const char *cp);
int inet_aton(const char *cp, struct in_addr *inp);
char *inet_ntoa(struct in_addr in);

#ifdef __cplusplus
}
#endif

#endif
