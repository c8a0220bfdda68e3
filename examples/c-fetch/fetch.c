/* fetch: an HTTP/1.1 GET in C, over getaddrinfo and a blocking socket.
 *
 * Usage: fetch http://HOST[:PORT]/PATH
 *
 * Resolves HOST (any family), tries each address in turn, sends a GET
 * with `Connection: close`, prints the status line to stderr and the
 * body to stdout; exits 0 on a 2xx status, 1 otherwise. The body ends
 * after Content-Length bytes or, without one, when the server closes.
 * Chunked transfer coding is not decoded (the request asks for a closed
 * connection, and servers answering a simple GET rarely chunk): such a
 * body is written as received, with a note on stderr.
 *
 * Plain POSIX: it builds with wasock-cc into a component for `wasock
 * run`, and with `cc` into a Linux program, unchanged. Under wasock it
 * needs grants to resolve HOST and to connect to it:
 *   wasock run --allow resolve=HOST --allow tcp-connect=HOST:PORT fetch.wasm URL */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif

/* Largest response head (status line and headers) accepted. */
#define MAX_HEAD (64 * 1024)

struct url {
    char host[256]; /* without brackets for IPv6 */
    char port[6];
    const char *path; /* from the first '/', or "/" */
};

/* Parse http://HOST[:PORT][/PATH]; 0, or -1 after saying why. */
static int parse_url(const char *s, struct url *u) {
    if (strncmp(s, "http://", 7) != 0) {
        fprintf(stderr, "fetch: %s: only http://HOST[:PORT]/PATH URLs are supported\n", s);
        return -1;
    }
    const char *h = s + 7, *end;
    size_t hlen;
    if (*h == '[') {
        end = strchr(h, ']');
        if (end == NULL) {
            fprintf(stderr, "fetch: %s: missing ']' after the IPv6 address\n", s);
            return -1;
        }
        h++;
        hlen = (size_t)(end - h);
        end++;
    } else {
        end = h + strcspn(h, ":/?#");
        hlen = (size_t)(end - h);
    }
    if (hlen == 0 || hlen >= sizeof u->host) {
        fprintf(stderr, "fetch: %s: no host name, or one too long\n", s);
        return -1;
    }
    memcpy(u->host, h, hlen);
    u->host[hlen] = '\0';
    strcpy(u->port, "80");
    if (*end == ':') {
        size_t plen = strspn(end + 1, "0123456789");
        if (plen == 0 || plen >= sizeof u->port || atoi(end + 1) < 1 || atoi(end + 1) > 65535 ||
            (end[1 + plen] != '\0' && end[1 + plen] != '/')) {
            fprintf(stderr, "fetch: %s: the port must be a number from 1 to 65535\n", s);
            return -1;
        }
        memcpy(u->port, end + 1, plen);
        u->port[plen] = '\0';
        end += 1 + plen;
    }
    u->path = *end == '/' ? end : "/";
    return 0;
}

/* A connected socket to one of HOST's addresses, or -1 after saying why. */
static int dial(const struct url *u) {
    struct addrinfo hints, *res, *ai;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int gai = getaddrinfo(u->host, u->port, &hints, &res);
    if (gai != 0) {
        int err = errno;
        fprintf(stderr, "fetch: cannot resolve %s: %s\n", u->host,
                gai == EAI_SYSTEM ? strerror(err) : gai_strerror(gai));
        if (gai == EAI_SYSTEM && err == EACCES) {
            fprintf(stderr, "fetch: under wasock, grant the lookup and the connection: "
                            "--allow resolve=%s --allow tcp-connect=%s:%s\n",
                    u->host, u->host, u->port);
        }
        return -1;
    }
    int fd = -1, err = 0;
    for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
        char ip[INET6_ADDRSTRLEN] = "?";
        const void *a = ai->ai_family == AF_INET6
                            ? (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr
                            : (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr;
        inet_ntop(ai->ai_family, a, ip, sizeof ip);
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            fprintf(stderr, "fetch: cannot open a socket for %s: %s\n", ip, strerror(err));
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            err = errno;
            fprintf(stderr, "fetch: cannot connect to %s port %s: %s\n", ip, u->port,
                    strerror(err));
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0) {
        fprintf(stderr, "fetch: no address of %s took the connection", u->host);
        if (err == EACCES) {
            fprintf(stderr, "; under wasock, grant it: --allow tcp-connect=%s:%s", u->host, u->port);
        }
        fputc('\n', stderr);
    }
    return fd;
}

/* Send all of `buf`, however many calls it takes; 0 or -1 with errno. */
static int send_all(int fd, const char *buf, size_t len) {
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* recv, retried on EINTR. */
static ssize_t recv_some(int fd, char *buf, size_t len) {
    ssize_t n;
    do {
        n = recv(fd, buf, len, 0);
    } while (n < 0 && errno == EINTR);
    return n;
}

/* The value of header `name` in the head (lines after the status
 * line, each ending in CRLF), or NULL; `len` gets its length. */
static const char *header(const char *head, const char *name, size_t *len) {
    size_t nlen = strlen(name);
    for (const char *line = strstr(head, "\r\n"); line != NULL; line = strstr(line, "\r\n")) {
        line += 2;
        if (strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
            const char *v = line + nlen + 1;
            while (*v == ' ' || *v == '\t') {
                v++;
            }
            const char *e = strstr(v, "\r\n");
            *len = e ? (size_t)(e - v) : strlen(v);
            while (*len > 0 && (v[*len - 1] == ' ' || v[*len - 1] == '\t')) {
                (*len)--;
            }
            return v;
        }
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: fetch http://HOST[:PORT]/PATH\n");
        return 2;
    }
    struct url u;
    if (parse_url(argv[1], &u) != 0) {
        return 1;
    }
    int fd = dial(&u);
    if (fd < 0) {
        return 1;
    }

    /* Host: names the port unless it is 80, and brackets IPv6. */
    int v6 = strchr(u.host, ':') != NULL;
    char req[4096 + 512];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: %s%s%s%s%s\r\nUser-Agent: wasock-fetch\r\n"
                     "Accept: */*\r\nConnection: close\r\n\r\n",
                     u.path, v6 ? "[" : "", u.host, v6 ? "]" : "",
                     strcmp(u.port, "80") ? ":" : "", strcmp(u.port, "80") ? u.port : "");
    if (n < 0 || (size_t)n >= sizeof req) {
        fprintf(stderr, "fetch: the path is too long (at most 4096 bytes)\n");
        return 1;
    }
    if (send_all(fd, req, (size_t)n) != 0) {
        fprintf(stderr, "fetch: cannot send the request to %s:%s: %s\n", u.host, u.port,
                strerror(errno));
        return 1;
    }

    /* The head: read until the blank line that ends it. */
    char *buf = malloc(MAX_HEAD + 1);
    size_t have = 0;
    char *body = NULL;
    if (buf == NULL) {
        fprintf(stderr, "fetch: out of memory\n");
        return 1;
    }
    while (body == NULL) {
        if (have == MAX_HEAD) {
            fprintf(stderr, "fetch: the response head from %s:%s is over %d bytes\n", u.host,
                    u.port, MAX_HEAD);
            return 1;
        }
        ssize_t got = recv_some(fd, buf + have, MAX_HEAD - have);
        if (got <= 0) {
            fprintf(stderr, "fetch: %s:%s %s before the response head ended\n", u.host, u.port,
                    got == 0 ? "closed the connection" : strerror(errno));
            return 1;
        }
        have += (size_t)got;
        buf[have] = '\0';
        char *blank = strstr(buf, "\r\n\r\n");
        if (blank != NULL) {
            blank[2] = '\0'; /* the head keeps its last CRLF */
            body = blank + 4;
        }
    }

    /* Status line: HTTP/1.x NNN reason. */
    char *eol = strstr(buf, "\r\n");
    int status = 0;
    if (strncmp(buf, "HTTP/", 5) != 0 || sscanf(buf, "HTTP/%*s %d", &status) != 1) {
        fprintf(stderr, "fetch: %s:%s did not answer with an HTTP status line\n", u.host, u.port);
        return 1;
    }
    fprintf(stderr, "%.*s\n", (int)(eol - buf), buf);

    size_t vlen;
    const char *te = header(buf, "Transfer-Encoding", &vlen);
    if (te != NULL && !(vlen == 8 && strncasecmp(te, "identity", 8) == 0)) {
        fprintf(stderr, "fetch: note: the body has Transfer-Encoding %.*s, which fetch does not "
                        "decode; written as received\n",
                (int)vlen, te);
    }
    const char *cl = header(buf, "Content-Length", &vlen);
    long long want = -1; /* -1: until the server closes */
    if (cl != NULL && te == NULL) {
        char *end;
        want = strtoll(cl, &end, 10);
        if (end == cl || want < 0) {
            fprintf(stderr, "fetch: bad Content-Length: %.*s\n", (int)vlen, cl);
            return 1;
        }
    }

    /* The body: what came with the head, then the rest. */
    long long total = 0;
    size_t first = have - (size_t)(body - buf);
    if (want >= 0 && (long long)first > want) {
        first = (size_t)want;
    }
    fwrite(body, 1, first, stdout);
    total += (long long)first;
    while (want < 0 || total < want) {
        size_t room = MAX_HEAD;
        if (want >= 0 && want - total < (long long)room) {
            room = (size_t)(want - total);
        }
        ssize_t got = recv_some(fd, buf, room);
        if (got < 0) {
            fprintf(stderr, "fetch: receiving the body from %s:%s failed: %s\n", u.host, u.port,
                    strerror(errno));
            return 1;
        }
        if (got == 0) {
            break;
        }
        fwrite(buf, 1, (size_t)got, stdout);
        total += got;
    }
    close(fd);
    free(buf);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "fetch: cannot write the body to stdout: %s\n", strerror(errno));
        return 1;
    }
    if (want >= 0 && total < want) {
        fprintf(stderr, "fetch: %s:%s closed the connection after %lld of %lld body bytes\n",
                u.host, u.port, total, want);
        return 1;
    }
    return status >= 200 && status <= 299 ? 0 : 1;
}
