/* A TCP echo server in C, serving many clients at once with poll().
 *
 * Usage: echo [ADDR]   (default 127.0.0.1:0; IPv6 as [::1]:7000)
 *
 * The first line on stdout is `listening on ADDR` with the address
 * actually bound, the second says how to connect; then it echoes every
 * byte each client sends until the client closes, and serves until
 * killed. Plain POSIX: it builds with wasock-cc into a component for
 * `wasock run`, and with `cc` into a Linux program, unchanged. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* where there is none, SIGPIPE is the default */
#endif

/* Most bytes held for a client that reads slower than it writes; reading
 * from it pauses until its backlog drains. */
#define MAX_BACKLOG (256 * 1024)
/* Most bytes taken from a client in one recv. */
#define CHUNK (64 * 1024)

struct client {
    int fd;
    char *backlog; /* received, not yet echoed; NULL when empty */
    size_t len, cap;
    int closed; /* the client closed its sending side */
};

static struct client *clients;
static size_t nclients, cap_clients;
/* Where each recv lands before it joins a client's backlog. */
static char chunk[CHUNK];

/* Split "HOST:PORT" or "[V6]:PORT" into host and port (in `buf`). */
static int split_addr(const char *addr, char *buf, size_t size, char **host, char **port) {
    if (strlen(addr) >= size) {
        return -1;
    }
    strcpy(buf, addr);
    char *colon;
    if (buf[0] == '[') {
        char *end = strchr(buf, ']');
        if (end == NULL || end[1] != ':') {
            return -1;
        }
        *end = '\0';
        *host = buf + 1;
        colon = end + 1;
    } else {
        colon = strrchr(buf, ':');
        if (colon == NULL) {
            return -1;
        }
        *colon = '\0';
        *host = buf;
    }
    *port = colon + 1;
    return **host && **port ? 0 : -1;
}

/* A non-blocking listener on `addr`, or -1 after saying why on stderr. */
static int listen_on(const char *addr) {
    char buf[300], *host, *port;
    if (split_addr(addr, buf, sizeof buf, &host, &port) != 0) {
        fprintf(stderr, "echo: cannot listen on %s: expected HOST:PORT, e.g. 127.0.0.1:7000 or [::1]:0\n",
                addr);
        return -1;
    }
    struct addrinfo hints, *res, *ai;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    int gai = getaddrinfo(host, port, &hints, &res);
    if (gai != 0) {
        fprintf(stderr, "echo: cannot listen on %s: %s\n", addr,
                gai == EAI_SYSTEM ? strerror(errno) : gai_strerror(gai));
        return -1;
    }
    int fd = -1, err = 0;
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        /* Lets a restarted server bind again at once; not needed to run. */
        int one = 1;
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, SOMAXCONN) == 0) {
            break;
        }
        err = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        fprintf(stderr, "echo: cannot listen on %s: %s", addr, strerror(err));
        if (err == EACCES) {
            fprintf(stderr, " (under wasock, grant it: --allow tcp-bind=%s)", addr);
        } else if (err == EADDRINUSE) {
            fprintf(stderr, " (pick another port, or port 0 for any free one)");
        }
        fputc('\n', stderr);
        return -1;
    }
    int flags = fcntl(fd, F_GETFL, 0);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        fprintf(stderr, "echo: cannot make the listener on %s non-blocking: %s\n", addr,
                strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* Print the two greeting lines for the listener's actual address. */
static int announce(int fd) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char ip[INET6_ADDRSTRLEN];
    unsigned port;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
        fprintf(stderr, "echo: cannot read the listener's address: %s\n", strerror(errno));
        return -1;
    }
    if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
        port = ntohs(in6->sin6_port);
        printf("listening on [%s]:%u\n", ip, port);
    } else {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
        port = ntohs(in->sin_port);
        printf("listening on %s:%u\n", ip, port);
    }
    printf("connect with: nc %s %u\n", ip, port);
    fflush(stdout);
    return 0;
}

/* Take every pending connection; each joins `clients`, non-blocking. */
static void accept_all(int listener) {
    for (;;) {
        int fd = accept(listener, NULL, NULL);
        if (fd < 0) {
            if (errno == ECONNABORTED || errno == EINTR) {
                continue; /* that one is gone; take the next */
            }
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                fprintf(stderr, "echo: accept failed: %s\n", strerror(errno));
            }
            return;
        }
        int flags = fcntl(fd, F_GETFL, 0);
        if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
            fprintf(stderr, "echo: cannot make a client non-blocking: %s\n", strerror(errno));
            close(fd);
            continue;
        }
        if (nclients == cap_clients) {
            size_t cap = cap_clients ? 2 * cap_clients : 16;
            struct client *c = realloc(clients, cap * sizeof *c);
            if (c == NULL) {
                fprintf(stderr, "echo: out of memory for a new client; closing it\n");
                close(fd);
                continue;
            }
            clients = c;
            cap_clients = cap;
        }
        clients[nclients++] = (struct client){fd, NULL, 0, 0, 0};
    }
}

/* Append `n` bytes to the client's backlog, growing it; 0, or -1 when
 * memory runs out. */
static int keep(struct client *c, const char *data, size_t n) {
    if (c->len + n > c->cap) {
        size_t cap = c->cap ? c->cap : CHUNK;
        while (cap < c->len + n) {
            cap *= 2;
        }
        char *b = realloc(c->backlog, cap);
        if (b == NULL) {
            fprintf(stderr, "echo: out of memory for a client's backlog; closing it\n");
            return -1;
        }
        c->backlog = b;
        c->cap = cap;
    }
    memcpy(c->backlog + c->len, data, n);
    c->len += n;
    return 0;
}

/* Move bytes for one client; 1 when it is finished with. */
static int serve(struct client *c, int readable) {
    if (readable && !c->closed && c->len < MAX_BACKLOG) {
        size_t room = MAX_BACKLOG - c->len;
        ssize_t n = recv(c->fd, chunk, room < CHUNK ? room : CHUNK, 0);
        if (n == 0) {
            c->closed = 1;
        } else if (n > 0) {
            if (keep(c, chunk, (size_t)n) != 0) {
                return 1;
            }
        } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            return 1; /* reset, or another error: drop the client */
        }
    }
    if (c->len > 0) {
        ssize_t n = send(c->fd, c->backlog, c->len, MSG_NOSIGNAL);
        if (n > 0) {
            memmove(c->backlog, c->backlog + n, c->len - (size_t)n);
            c->len -= (size_t)n;
        }
        if (c->len == 0) {
            free(c->backlog); /* an idle client holds no buffer */
            c->backlog = NULL;
            c->cap = 0;
        } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            return 1;
        }
    }
    return c->closed && c->len == 0;
}

int main(int argc, char **argv) {
    const char *addr = argc > 1 ? argv[1] : "127.0.0.1:0";
    int listener = listen_on(addr);
    if (listener < 0 || announce(listener) != 0) {
        return 1;
    }

    struct pollfd *fds = NULL;
    size_t cap_fds = 0;
    for (;;) {
        if (cap_fds < nclients + 1) {
            struct pollfd *p = realloc(fds, (cap_clients + 1) * sizeof *p);
            if (p == NULL) {
                fprintf(stderr, "echo: out of memory for %zu clients\n", nclients);
                return 1;
            }
            fds = p;
            cap_fds = cap_clients + 1;
        }
        fds[0] = (struct pollfd){listener, POLLIN, 0};
        for (size_t i = 0; i < nclients; i++) {
            struct client *c = &clients[i];
            short events = 0;
            if (!c->closed && c->len < MAX_BACKLOG) {
                events |= POLLIN;
            }
            if (c->len > 0) {
                events |= POLLOUT;
            }
            fds[i + 1] = (struct pollfd){c->fd, events, 0};
        }
        size_t polled = nclients;
        if (poll(fds, polled + 1, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            fprintf(stderr, "echo: poll failed: %s\n", strerror(errno));
            return 1;
        }
        /* Clients first (accepting appends to `clients`), swapping a
         * finished one with the last so the array stays dense. */
        for (size_t i = polled; i-- > 0;) {
            short re = fds[i + 1].revents;
            if (re == 0) {
                continue;
            }
            if (serve(&clients[i], (re & (POLLIN | POLLHUP | POLLERR)) != 0)) {
                close(clients[i].fd);
                free(clients[i].backlog);
                clients[i] = clients[--nclients];
            }
        }
        if (fds[0].revents & POLLIN) {
            accept_all(listener);
        }
    }
}
