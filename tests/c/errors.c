/* Prints how the wasock C library maps each interface error-code: one
 * line per code, `NAME errno=E... transfer=E... wsa=N eai=EAI_...`, for
 * the test that checks the table against wit/types.wit's documentation. */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>

#include "wasock/wasock.h"

static const char *errno_name(int e) {
    switch (e) {
    case EACCES: return "EACCES";
    case EADDRINUSE: return "EADDRINUSE";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case EALREADY: return "EALREADY";
    case EISCONN: return "EISCONN";
    case ECONNABORTED: return "ECONNABORTED";
    case ECONNREFUSED: return "ECONNREFUSED";
    case ECONNRESET: return "ECONNRESET";
    case EDESTADDRREQ: return "EDESTADDRREQ";
    case EHOSTUNREACH: return "EHOSTUNREACH";
    case EINPROGRESS: return "EINPROGRESS";
    case EINVAL: return "EINVAL";
    case EMSGSIZE: return "EMSGSIZE";
    case ENETDOWN: return "ENETDOWN";
    case ENETUNREACH: return "ENETUNREACH";
    case ENOBUFS: return "ENOBUFS";
    case ENOTCONN: return "ENOTCONN";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case ENOPROTOOPT: return "ENOPROTOOPT";
    case EPIPE: return "EPIPE";
    case ETIMEDOUT: return "ETIMEDOUT";
    case EAGAIN: return "EAGAIN";
    case EMFILE: return "EMFILE";
    case ENOENT: return "ENOENT";
    case EIO: return "EIO";
    default: return "?";
    }
}

static const char *eai_name(int e) {
    switch (e) {
    case EAI_NONAME: return "EAI_NONAME";
    case EAI_AGAIN: return "EAI_AGAIN";
    case EAI_FAIL: return "EAI_FAIL";
    case EAI_FAMILY: return "EAI_FAMILY";
    case EAI_MEMORY: return "EAI_MEMORY";
    case EAI_SYSTEM: return "EAI_SYSTEM";
    default: return "?";
    }
}

int main(void) {
    for (int code = 0; code < WASOCK_ERROR_CODES; code++) {
        printf("%s errno=%s transfer=%s wsa=%d eai=%s\n", wasock_error_name(code),
               errno_name(wasock_error_errno(code)),
               errno_name(wasock_error_errno_transfer(code)), wasock_error_wsa(code),
               eai_name(wasock_error_eai(code)));
    }
    /* Past the end: the library must not index out of its table. */
    printf("out-of-range name=%s\n", wasock_error_name(WASOCK_ERROR_CODES) ? "set" : "null");
    return 0;
}
