/* The program's entry point, linked into every wasock-cc program.
 *
 * wasock-cc links in wasi-libc's reactor model: wasm-ld wraps every
 * export of a "command" module with the program's constructors and
 * destructors, and `cabi_realloc` is an export the host calls in the
 * middle of a socket call to hand back received bytes; wrapped, it would
 * flush stdio and run the destructors inside that call. As a reactor,
 * the component runs `_initialize` (the constructors) once at start, and
 * the command adapter's `wasi:cli/run` calls this `_start`. */
#include <stdlib.h>

int __main_void(void);

__attribute__((export_name("_start"))) void wasock_start(void) {
    exit(__main_void());
}
