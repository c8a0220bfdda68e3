/* ws2tcpip.h for wasock: the Winsock 2 TCP/IP additions (getaddrinfo,
 * inet_pton, IPv6 addresses and options). Include after winsock2.h. */
#ifndef _WS2TCPIP_H_
#define _WS2TCPIP_H_

#include <winsock2.h>
#include <netdb.h>

typedef struct addrinfo ADDRINFOA, *PADDRINFOA;
typedef struct sockaddr_in6 SOCKADDR_IN6, *PSOCKADDR_IN6;
typedef struct in6_addr IN6_ADDR, *PIN6_ADDR;

#endif
