/* Differential test of BSD socket behaviour: main runs each area's cases
 * in a fixed order, then prints how many there were.
 *
 * One program, built twice with no #ifdef for either side, from every .c
 * file in tests/c/differential (SOURCES):
 *   cc -O2 -Wall -Wextra -Werror -o /tmp/diff-native SOURCES
 *   guest-sdk-c/wasock-cc -O2 -Wall -Wextra -Werror -o /tmp/diff.wasm SOURCES
 * and run natively (Linux, glibc) and under `wasock run` with loopback
 * grants. The two outputs are compared line by line; the differences the
 * WIT documents are listed in tests/c/differential.expected.
 *
 * Each case prints one line `CASE-NAME: RESULT`, the last line is
 * `cases: N`. Results are deterministic: errno and EAI_* values are
 * printed by name (the numbers differ between glibc and wasi-libc), and
 * descriptors, port numbers and pointers never appear ("port>0",
 * "port=listener" state facts instead). Every peer lives in this one
 * process on 127.0.0.1 or ::1; there are no threads, so connections are
 * made with a non-blocking connect to our own listener, and every wait
 * is bounded (poll with at most 2 s). */
#include "common.h"

int main(void) {
    /* What servers do first: ignore SIGPIPE, and log a failure with
     * printf before looking at errno. The first write to stdout keeps
     * errno (wasi-libc's stdio asks then whether stdout is a terminal). */
    signal(SIGPIPE, SIG_IGN);
    errno = ECONNREFUSED;
    printf("stdio-keeps-errno: ");
    fflush(stdout);
    int kept = errno;
    printf("%s\n", ename(kept));
    cases++;
    say("getpid", "%s", getpid() > 0 ? ">0" : "<=0");
    stream_connect_sequence(AF_INET, "tcp4");
    stream_data();
    stream_more();
    stream_linger_reset();
    stream_refused();
    stream_listener_shutdown();
    nonblocking();
    poll_select();
    options();
    datagram();
    ipv6();
    names();
    bad_input();
    printf("cases: %d\n", cases);
    return 0;
}
