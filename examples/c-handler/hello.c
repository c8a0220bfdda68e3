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
 * connection closed, as is a head longer than 8 KiB (431). HTTP/1.0
 * clients keep the connection only with `Connection: keep-alive`. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
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

/* The value of header `name` in the head (NUL-terminated; the request
 * line first, each line ending in CRLF), up to its CR, or NULL. */
static const char *header(const char *head, const char *name) {
    size_t len = strlen(name);
    for (const char *line = strstr(head, "\r\n"); line != NULL; line = strstr(line + 2, "\r\n")) {
        const char *h = line + 2;
        if (strncasecmp(h, name, len) == 0 && h[len] == ':') {
            const char *v = h + len + 1;
            while (*v == ' ' || *v == '\t') {
                v++;
            }
            return v;
        }
    }
    return NULL;
}

/* Whether a comma-separated header value (ending at CR) lists `token`,
 * without case: `Connection: keep-alive, close` lists close. */
static int lists(const char *value, const char *token) {
    size_t len = strlen(token);
    while (value != NULL && *value != '\r' && *value != '\0') {
        while (*value == ' ' || *value == '\t' || *value == ',') {
            value++;
        }
        size_t word = strcspn(value, ", \t\r");
        if (word == len && strncasecmp(value, token, len) == 0) {
            return 1;
        }
        value += word;
    }
    return 0;
}

/* After an answer that closes the connection with the request's rest
 * unread: end our side, then read what the client still sends (for a
 * second at most), so that the unread bytes do not make the system
 * reset the connection and destroy the answer on its way. */
static int close_gently(int fd) {
    char sink[4096];
    if (shutdown(fd, SHUT_WR) != 0) {
        return -1;
    }
    for (int i = 0; i < 16; i++) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 1000) <= 0 || read(fd, sink, sizeof sink) <= 0) {
            break;
        }
    }
    return 0;
}

/* Answer one request head; 1 to keep the connection, 0 once it is to be
 * closed, -1 with errno if the answer could not be written. */
static int answer(int fd, char *head, const char *peer) {
    char method[8] = "", path[256] = "", version[16] = "";
    sscanf(head, "%7s %255s %15s", method, path, version);
    int is_head = strcmp(method, "HEAD") == 0;
    const char *connection = header(head, "connection");
    /* HTTP/1.1 keeps the connection unless told to close; HTTP/1.0 only
     * when asked to keep it. */
    int keep = strcmp(version, "HTTP/1.1") == 0 ? !lists(connection, "close")
                                                 : lists(connection, "keep-alive");
    keep = keep && !wasock_draining();
    const char *length = header(head, "content-length");
    int has_body = (length != NULL && strncmp(length, "0\r", 2) != 0) ||
                   header(head, "transfer-encoding") != NULL;
    const char *status = "200 OK";
    char body[320];
    if (strcmp(method, "GET") != 0 && !is_head) {
        status = "501 Not Implemented";
        snprintf(body, sizeof body, "only GET and HEAD\n");
        keep = 0;
    } else if (has_body) {
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
    if (!keep && strcmp(status, "501 Not Implemented") == 0 && close_gently(fd) != 0) {
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
                return write_all(fd, big, strlen(big)) != 0 ? -1 : close_gently(fd);
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
