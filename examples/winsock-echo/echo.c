/* A TCP echo server written for Windows Sockets 2: non-blocking sockets
 * and a select() loop, many clients at once.
 *
 * Usage: echo [HOST PORT]   (default 127.0.0.1 0)
 *
 * The first line on stdout is `listening on IP:PORT` with the address
 * actually bound, the second says how to connect; then it echoes every
 * byte each client sends until the client closes, and serves until
 * killed. Plain Winsock 2, nothing else: the same file builds for
 * Windows with MSVC (cl echo.c) or MinGW (x86_64-w64-mingw32-gcc echo.c
 * -lws2_32), and into a WebAssembly component with this repository's
 * guest-sdk-c (see the README). */
#ifndef _WIN32_WINNT
#define _WIN32_WINNT 0x0600 /* getaddrinfo and inet_ntop: Vista and later */
#endif
#include <winsock2.h>
#include <ws2tcpip.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _MSC_VER
#pragma comment(lib, "Ws2_32.lib") /* MSVC links Ws2_32 without being told */
#endif

/* Winsock's fd_set holds FD_SETSIZE sockets (64 by default): the
 * listener and this many clients. Past it, new clients wait in the
 * listen backlog until one leaves. */
#define MAX_CLIENTS (FD_SETSIZE - 1)
/* Most bytes held for a client that reads slower than it writes; reading
 * from it pauses until its backlog drains. */
#define MAX_BACKLOG (256 * 1024)
/* Most bytes taken from a client in one recv. */
#define CHUNK (64 * 1024)

struct client {
    SOCKET s;
    char *backlog; /* received, not yet echoed: MAX_BACKLOG bytes */
    int len;
    int closed; /* the client closed its sending side */
};

static struct client clients[MAX_CLIENTS];
static int nclients;

/* The name of a Winsock error, for messages. */
static const char *wsa_name(int err) {
    switch (err) {
    case WSAEACCES: return "WSAEACCES (permission denied)";
    case WSAEADDRINUSE: return "WSAEADDRINUSE (address in use)";
    case WSAEADDRNOTAVAIL: return "WSAEADDRNOTAVAIL (address not available)";
    case WSAEAFNOSUPPORT: return "WSAEAFNOSUPPORT (address family not supported)";
    case WSAECONNABORTED: return "WSAECONNABORTED (connection aborted)";
    case WSAECONNRESET: return "WSAECONNRESET (connection reset)";
    case WSAEINVAL: return "WSAEINVAL (invalid argument)";
    case WSAEMFILE: return "WSAEMFILE (too many sockets)";
    case WSAENOBUFS: return "WSAENOBUFS (no buffer space)";
    case WSAENOTSOCK: return "WSAENOTSOCK (not a socket)";
    case WSAHOST_NOT_FOUND: return "WSAHOST_NOT_FOUND (host not found)";
    case WSATYPE_NOT_FOUND: return "WSATYPE_NOT_FOUND (unknown service: give a port number)";
    case WSATRY_AGAIN: return "WSATRY_AGAIN (temporary resolver failure)";
    case WSANO_RECOVERY: return "WSANO_RECOVERY (resolver failure)";
    default: return "Winsock error";
    }
}

/* Say what failed and on which address, with the error. */
static void report(const char *what, const char *host, const char *port, int err) {
    fprintf(stderr, "echo: %s %s port %s: %s [%d]", what, host, port, wsa_name(err), err);
    if (err == WSAEACCES && strcmp(what, "cannot resolve") == 0) {
        fprintf(stderr, " (if a policy refused it, run with --allow resolve=%s)", host);
    } else if (err == WSAEACCES) {
        fprintf(stderr, " (if a policy refused it, run with --allow tcp-bind=%s:%s)", host, port);
    } else if (err == WSAEADDRINUSE) {
        fprintf(stderr, " (pick another port, or port 0 for any free one)");
    }
    fputc('\n', stderr);
}

/* A non-blocking listener on HOST PORT, or INVALID_SOCKET after saying why. */
static SOCKET listen_on(const char *host, const char *port) {
    ADDRINFOA hints, *res, *ai;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    hints.ai_flags = AI_PASSIVE;
    if (getaddrinfo(host, port, &hints, &res) != 0) {
        report("cannot resolve", host, port, WSAGetLastError());
        return INVALID_SOCKET;
    }
    SOCKET s = INVALID_SOCKET;
    int err = 0;
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        s = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (s == INVALID_SOCKET) {
            err = WSAGetLastError();
            continue;
        }
        if (bind(s, ai->ai_addr, (socklen_t)ai->ai_addrlen) == 0 && listen(s, SOMAXCONN) == 0) {
            break;
        }
        err = WSAGetLastError();
        closesocket(s);
        s = INVALID_SOCKET;
    }
    freeaddrinfo(res);
    if (s == INVALID_SOCKET) {
        report("cannot listen on", host, port, err);
        return INVALID_SOCKET;
    }
    u_long on = 1;
    if (ioctlsocket(s, FIONBIO, &on) != 0) {
        report("cannot make non-blocking the listener on", host, port, WSAGetLastError());
        closesocket(s);
        return INVALID_SOCKET;
    }
    return s;
}

/* Print the two greeting lines for the listener's actual address. */
static int announce(SOCKET s) {
    SOCKADDR_STORAGE ss;
    socklen_t len = sizeof ss;
    char ip[INET6_ADDRSTRLEN];
    unsigned port;
    if (getsockname(s, (struct sockaddr *)&ss, &len) != 0) {
        fprintf(stderr, "echo: cannot read the listener's address: %s [%d]\n",
                wsa_name(WSAGetLastError()), WSAGetLastError());
        return -1;
    }
    if (ss.ss_family == AF_INET6) {
        SOCKADDR_IN6 *in6 = (SOCKADDR_IN6 *)&ss;
        inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
        port = ntohs(in6->sin6_port);
        printf("listening on [%s]:%u\n", ip, port);
    } else {
        SOCKADDR_IN *in = (SOCKADDR_IN *)&ss;
        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
        port = ntohs(in->sin_port);
        printf("listening on %s:%u\n", ip, port);
    }
    printf("connect with: nc %s %u\n", ip, port);
    fflush(stdout);
    return 0;
}

/* Take pending connections while there is room; each is non-blocking. */
static void accept_all(SOCKET listener) {
    while (nclients < MAX_CLIENTS) {
        SOCKET s = accept(listener, NULL, NULL);
        if (s == INVALID_SOCKET) {
            int err = WSAGetLastError();
            if (err == WSAECONNRESET || err == WSAECONNABORTED) {
                continue; /* that one is gone; take the next */
            }
            if (err != WSAEWOULDBLOCK) {
                fprintf(stderr, "echo: accept failed: %s [%d]\n", wsa_name(err), err);
            }
            return;
        }
        u_long on = 1;
        char *backlog = malloc(MAX_BACKLOG);
        if (ioctlsocket(s, FIONBIO, &on) != 0 || backlog == NULL) {
            fprintf(stderr, "echo: cannot set up a new client (%s); closing it\n",
                    backlog == NULL ? "out of memory" : wsa_name(WSAGetLastError()));
            free(backlog);
            closesocket(s);
            continue;
        }
        clients[nclients].s = s;
        clients[nclients].backlog = backlog;
        clients[nclients].len = 0;
        clients[nclients].closed = 0;
        nclients++;
    }
}

/* Move bytes for one client; 1 when it is finished with. */
static int serve(struct client *c, int readable) {
    if (readable && !c->closed && c->len < MAX_BACKLOG) {
        int room = MAX_BACKLOG - c->len;
        int n = recv(c->s, c->backlog + c->len, room < CHUNK ? room : CHUNK, 0);
        if (n == 0) {
            c->closed = 1;
        } else if (n > 0) {
            c->len += n;
        } else if (WSAGetLastError() != WSAEWOULDBLOCK) {
            return 1; /* reset, or another error: drop the client */
        }
    }
    if (c->len > 0) {
        int n = send(c->s, c->backlog, c->len, 0);
        if (n > 0) {
            memmove(c->backlog, c->backlog + n, (size_t)(c->len - n));
            c->len -= n;
        } else if (n == SOCKET_ERROR && WSAGetLastError() != WSAEWOULDBLOCK) {
            return 1;
        }
    }
    return c->closed && c->len == 0;
}

int main(int argc, char **argv) {
    const char *host = "127.0.0.1", *port = "0";
    if (argc == 3) {
        host = argv[1];
        port = argv[2];
    } else if (argc != 1) {
        fprintf(stderr, "usage: echo [HOST PORT]   (default: 127.0.0.1 0)\n");
        return 2;
    }
    WSADATA wsa;
    int rc = WSAStartup(MAKEWORD(2, 2), &wsa);
    if (rc != 0) {
        fprintf(stderr, "echo: WSAStartup failed: %s [%d]\n", wsa_name(rc), rc);
        return 1;
    }
    SOCKET listener = listen_on(host, port);
    if (listener == INVALID_SOCKET || announce(listener) != 0) {
        WSACleanup();
        return 1;
    }

    for (;;) {
        fd_set rd, wr;
        FD_ZERO(&rd);
        FD_ZERO(&wr);
        if (nclients < MAX_CLIENTS) {
            FD_SET(listener, &rd);
        }
        for (int i = 0; i < nclients; i++) {
            if (!clients[i].closed && clients[i].len < MAX_BACKLOG) {
                FD_SET(clients[i].s, &rd);
            }
            if (clients[i].len > 0) {
                FD_SET(clients[i].s, &wr);
            }
        }
        /* The first argument is ignored by Winsock: the sets list the sockets. */
        if (select(0, &rd, &wr, NULL, NULL) == SOCKET_ERROR) {
            int err = WSAGetLastError();
            fprintf(stderr, "echo: select failed: %s [%d]\n", wsa_name(err), err);
            break;
        }
        /* Clients first (accepting appends to `clients`), the last one
         * moving into the place of one that is finished. */
        for (int i = nclients - 1; i >= 0; i--) {
            struct client *c = &clients[i];
            int readable = FD_ISSET(c->s, &rd), writable = FD_ISSET(c->s, &wr);
            if ((readable || writable) && serve(c, readable)) {
                closesocket(c->s);
                free(c->backlog);
                clients[i] = clients[--nclients];
            }
        }
        if (FD_ISSET(listener, &rd)) {
            accept_all(listener);
        }
    }
    for (int i = 0; i < nclients; i++) {
        closesocket(clients[i].s);
        free(clients[i].backlog);
    }
    closesocket(listener);
    WSACleanup();
    return 1;
}
