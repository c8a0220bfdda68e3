/* The export of `wasock:sockets/handler` for C connection handlers
 * (`wasock-cc --handler`, include/wasock/handler.h): the connection
 * becomes a descriptor for `wasock_handle`, and its -1 and errno become
 * the handler's error-code. Built into libwasock-handler.a only, against
 * the bindings of the `connection-handler` world (gen/handler). */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "wasock/handler.h"

bool wasock_draining(void) { return wasock_sockets_drain_draining(); }

/* The error-code that tells the host what a handler's errno means: the
 * three that say the client left are the handler interface's
 * (wit/worlds.wit); EAGAIN is a receive or send that ran out its timeout
 * (SO_RCVTIMEO, SO_SNDTIMEO); any other errno is the code whose errno it
 * is (errors.c), leaving out the resolver's, else unknown. EPIPE is
 * `shut-down` (this side shut down its sending, then wrote): the library
 * reports a client's reset as ECONNRESET. */
static wsk_code code_of_errno(int err) {
    switch (err) {
    case ECONNRESET:
        return WASOCK_SOCKETS_TYPES_ERROR_CODE_CONNECTION_RESET;
    case ECONNABORTED:
        return WASOCK_SOCKETS_TYPES_ERROR_CODE_CONNECTION_ABORTED;
    case ENOTCONN:
        return WASOCK_SOCKETS_TYPES_ERROR_CODE_NOT_CONNECTED;
    case EAGAIN:
        return WASOCK_SOCKETS_TYPES_ERROR_CODE_TIMED_OUT;
    default:
        break;
    }
    wsk_code code;
    if (err != 0 && wsk_code_of_errno(err, &code) &&
        code < WASOCK_SOCKETS_TYPES_ERROR_CODE_NAME_NOT_FOUND) {
        return code;
    }
    return WASOCK_SOCKETS_TYPES_ERROR_CODE_UNKNOWN;
}

static bool client_left(wsk_code code) {
    return code == WASOCK_SOCKETS_TYPES_ERROR_CODE_CONNECTION_RESET ||
           code == WASOCK_SOCKETS_TYPES_ERROR_CODE_CONNECTION_ABORTED ||
           code == WASOCK_SOCKETS_TYPES_ERROR_CODE_NOT_CONNECTED;
}

/* "ADDR:PORT" or "[ADDR]:PORT", as the Rust SDK writes a peer. */
static void peer_text(const struct sockaddr_storage *sa, char *out, size_t len) {
    char host[INET6_ADDRSTRLEN] = "?";
    if (sa->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        snprintf(out, len, "%s:%u", host, ntohs(in->sin_port));
    } else {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        snprintf(out, len, "[%s]:%u", host, ntohs(in6->sin6_port));
    }
}

bool exports_wasock_sockets_handler_handle(exports_wasock_sockets_handler_own_socket_t connection,
                                           exports_wasock_sockets_handler_socket_address_t *peer,
                                           exports_wasock_sockets_handler_error_code_t *err) {
    struct sockaddr_storage sa;
    socklen_t len = sizeof sa;
    wsk_to_sockaddr(peer, (struct sockaddr *)&sa, &len);
    int fd = wsk_install(connection, sa.ss_family, SOCK_STREAM, 0);
    if (fd < 0) {
        *err = code_of_errno(errno);
        return false;
    }
    wsk_lookup(fd)->state = WSK_OPEN;
    errno = 0;
    int served = wasock_handle(fd, (const struct sockaddr *)&sa, len);
    int why = errno;
    /* The instance ends with this call, without exit(): what the handler
     * left open is closed with it, the connection included, and neither
     * atexit functions nor destructors run. Buffered output is written
     * now, or it would be lost (stdout is fully buffered in a pipe). */
    fflush(NULL);
    if (served == 0) {
        return true;
    }
    *err = code_of_errno(why);
    if (!client_left(*err)) {
        /* One write, so that lines of instances running at once do not
         * interleave. */
        char who[INET6_ADDRSTRLEN + 16];
        char line[256];
        peer_text(&sa, who, sizeof who);
        int n = snprintf(line, sizeof line, "connection handler for %s: %s\n", who,
                         why != 0 ? strerror(why) : "failed (errno not set)");
        if (n > 0) {
            write(2, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
        }
    }
    return false;
}
