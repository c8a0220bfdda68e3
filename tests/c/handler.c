/* A C connection handler for the tests (host/tests/all/c_handler.rs):
 * the first line the client sends picks what it does.
 *
 *   peer    writes "peer ADDR PORT" as wasock_handle got them, the
 *           descriptor's own getpeername, and whether the program's
 *           constructors ran, then returns 0
 *   fail    returns -1 with errno EACCES (a failed connection)
 *   timeout reads with a 100 ms SO_RCVTIMEO and returns its -1 (EAGAIN)
 *   echo    echoes until the client ends its side, then returns 0
 *   drain   writes "waiting", then waits with poll() until the server
 *           drains, and writes "draining" before returning 0
 *
 * A client that resets before its line ends makes read() fail with
 * ECONNRESET, which is returned as it is. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <wasock/handler.h>

/* Set by the program's constructors, which run before the handler. */
static int constructed;

__attribute__((constructor)) static void construct(void) { constructed = 1; }

static int write_all(int fd, const char *buf, size_t len) {
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

static int say(int fd, const char *text) { return write_all(fd, text, strlen(text)); }

static void addr_text(const struct sockaddr *sa, char *out, size_t len) {
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        port = ntohs(in->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        port = ntohs(in6->sin6_port);
    }
    snprintf(out, len, "%s %u", host, port);
}

int wasock_handle(int fd, const struct sockaddr *peer, socklen_t peer_len) {
    char line[64];
    size_t have = 0;
    while (have == 0 || line[have - 1] != '\n') {
        if (have == sizeof line - 1) {
            errno = EMSGSIZE;
            return -1;
        }
        /* A byte at a time: what follows the line is the command's. */
        ssize_t n = read(fd, line + have, 1);
        if (n < 0) {
            return -1;
        }
        if (n == 0) {
            return 0;
        }
        have += (size_t)n;
    }
    line[have] = '\0';
    if (strcmp(line, "peer\n") == 0) {
        struct sockaddr_storage own;
        socklen_t own_len = sizeof own;
        if (getpeername(fd, (struct sockaddr *)&own, &own_len) != 0) {
            return -1;
        }
        char given[80], asked[80], out[200];
        addr_text(peer, given, sizeof given);
        addr_text((struct sockaddr *)&own, asked, sizeof asked);
        socklen_t whole = peer->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                       : sizeof(struct sockaddr_in);
        snprintf(out, sizeof out, "peer %s (%s); getpeername %s; %s\n", given,
                 peer_len == whole ? "whole" : "short", asked,
                 constructed ? "constructed" : "constructors did not run");
        return say(fd, out);
    }
    if (strcmp(line, "timeout\n") == 0) {
        /* A receive that runs out its timeout fails with EAGAIN. */
        struct timeval tv = {.tv_sec = 0, .tv_usec = 100000};
        char byte;
        if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0) {
            return -1;
        }
        return read(fd, &byte, 1) < 0 ? -1 : 0;
    }
    if (strcmp(line, "fail\n") == 0) {
        errno = EACCES;
        return -1;
    }
    if (strcmp(line, "echo\n") == 0) {
        char buf[4096];
        ssize_t n;
        while ((n = read(fd, buf, sizeof buf)) > 0) {
            if (write_all(fd, buf, (size_t)n) != 0) {
                return -1;
            }
        }
        return n < 0 ? -1 : 0;
    }
    if (strcmp(line, "drain\n") == 0) {
        if (say(fd, "waiting\n") != 0) {
            return -1;
        }
        while (!wasock_draining()) {
            struct pollfd p = {.fd = fd, .events = POLLIN};
            if (poll(&p, 1, -1) < 0) {
                return -1;
            }
        }
        return say(fd, "draining\n");
    }
    errno = EINVAL;
    return -1;
}
