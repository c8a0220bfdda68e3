/* A connection handler in C for `wasock serve`: a small HTTP/1.1 server
 * that keeps its connection open between requests (keep-alive), and
 * closes it when the server drains rather than hold an idle client until
 * the drain timeout.
 *
 *   guest-sdk-c/wasock-cc --handler -O2 -Wall -o c-hello.wasm examples/c-handler/hello.c
 *   wasock serve --listen 127.0.0.1:8080 --allow 'tcp-accept=127.0.0.0/8:*' c-hello.wasm
 *   curl http://127.0.0.1:8080/ http://127.0.0.1:8080/    # two requests, one connection
 *
 * GET and HEAD only: a request with a body is answered 501 and the
 * connection closed, as is a head longer than 8 KiB (431). */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <wasock/handler.h>

#define MAX_HEAD 8192

/* Write all of `buf`; 0, or -1 with errno. */
static int write_all(int fd, const char *buf, size_t len) {
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Whether the head (NUL-terminated) has a header `name` with a value
 * starting with `value` (both without case); a NULL value asks only
 * whether the header is there. */
static int has_header(const char *head, const char *name, const char *value) {
    size_t len = strlen(name);
    for (const char *line = strstr(head, "\r\n"); line != NULL; line = strstr(line + 2, "\r\n")) {
        const char *h = line + 2;
        if (strncasecmp(h, name, len) == 0 && h[len] == ':') {
            const char *v = h + len + 1;
            while (*v == ' ' || *v == '\t') {
                v++;
            }
            if (value == NULL || strncasecmp(v, value, strlen(value)) == 0) {
                return 1;
            }
        }
    }
    return 0;
}

/* Answer one request head; 1 to keep the connection, 0 to close it, -1
 * with errno if the answer could not be written. */
static int answer(int fd, char *head, const char *peer) {
    char method[8] = "", path[256] = "";
    sscanf(head, "%7s %255s", method, path);
    int is_head = strcmp(method, "HEAD") == 0;
    int keep = !has_header(head, "connection", "close") && !wasock_draining();
    const char *status = "200 OK";
    char body[320];
    if (strcmp(method, "GET") != 0 && !is_head) {
        status = "501 Not Implemented";
        snprintf(body, sizeof body, "only GET and HEAD\n");
        keep = 0;
    } else if ((has_header(head, "content-length", NULL) && !has_header(head, "content-length", "0")) ||
               has_header(head, "transfer-encoding", NULL)) {
        status = "501 Not Implemented";
        snprintf(body, sizeof body, "no request bodies\n");
        keep = 0;
    } else if (strcmp(path, "/") == 0) {
        snprintf(body, sizeof body, "hello from C to %s\n", peer);
    } else {
        status = "404 Not Found";
        snprintf(body, sizeof body, "not found\n");
    }
    char out[512];
    int n = snprintf(out, sizeof out,
                     "HTTP/1.1 %s\r\ncontent-type: text/plain\r\ncontent-length: %zu\r\n%s\r\n%s",
                     status, strlen(body), keep ? "" : "connection: close\r\n", is_head ? "" : body);
    if (write_all(fd, out, (size_t)n) != 0) {
        return -1;
    }
    return keep;
}

int wasock_handle(int fd, const struct sockaddr *peer, socklen_t peer_len) {
    char who[INET6_ADDRSTRLEN] = "?";
    if (peer->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)peer)->sin_addr, who, sizeof who);
    } else if (peer->sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)peer)->sin6_addr, who, sizeof who);
    }
    (void)peer_len;
    char buf[MAX_HEAD + 1];
    size_t have = 0;
    for (;;) {
        buf[have] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (end == NULL) {
            if (have == MAX_HEAD) {
                const char *big = "HTTP/1.1 431 Request Header Fields Too Large\r\n"
                                  "content-length: 0\r\nconnection: close\r\n\r\n";
                return write_all(fd, big, strlen(big));
            }
            if (have == 0) {
                /* Between requests: wait with poll, which the host ends
                 * early when the server drains, and then close. */
                struct pollfd p = {.fd = fd, .events = POLLIN};
                if (poll(&p, 1, -1) < 0) {
                    return -1;
                }
                if (wasock_draining() && (p.revents & POLLIN) == 0) {
                    return 0;
                }
            }
            ssize_t n = read(fd, buf + have, MAX_HEAD - have);
            if (n < 0) {
                return -1;
            }
            if (n == 0) {
                /* The client closed: between requests that is the end of
                 * the conversation; in the middle of a head, it left. */
                if (have == 0) {
                    return 0;
                }
                errno = ECONNABORTED;
                return -1;
            }
            have += (size_t)n;
            continue;
        }
        end[2] = '\0';
        size_t used = (size_t)(end + 4 - buf);
        int keep = answer(fd, buf, who);
        if (keep <= 0) {
            return keep;
        }
        memmove(buf, buf + used, have - used);
        have -= used;
    }
}
