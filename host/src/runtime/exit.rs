//! How an instance ended, and what to tell the user about it.

use std::time::Duration;

use crate::policy::SetBy;

/// How a guest program (or connection handler) ended.
#[derive(Debug)]
pub enum GuestExit {
    /// It returned or called `exit` with this status.
    Exited(i32),
    /// A connection handler returned this error code (its name, such as
    /// `connection-reset`): the handler failed, the instance did not.
    HandlerFailed(&'static str),
    /// A connection handler returned an error code that says its peer
    /// left (`connection-reset`, `connection-aborted` or `not-connected`,
    /// the handler interface's rule): the connection ended from the other
    /// side, which a server counts apart from its failures.
    PeerLeft(&'static str),
    /// The host could not hand a connection to a handler (why, in words):
    /// no guest ran.
    NotHandedOver(String),
    /// The host could not set up its instance (why, in words: a limit the
    /// runner cannot apply, such as fuel on a runner built without it): no
    /// guest ran.
    NotStarted(String),
    /// It trapped, or a host function or a limit trapped it.
    Trapped(wasmtime::Error),
    /// It ran past its wall-clock limit and was stopped.
    TimedOut(Duration),
}

/// How a run of `wasi:cli/run` ended, as an embedder's own
/// `call_run(...).await` returns it: `exit(N)` (wasmtime-wasi's `I32Exit`)
/// is `Exited(N)`, not a trap; `run` returning its error is `Exited(1)`.
/// (A WASI 0.3 run inside `run_concurrent` nests one `Result` more:
/// flatten it first, as `Runner` does.)
///
/// ```
/// use wasock_host::runtime::GuestExit;
///
/// let exited = GuestExit::from(Err::<Result<(), ()>, _>(wasmtime::Error::new(
///     wasmtime_wasi::I32Exit(3),
/// )));
/// assert_eq!(exited.code(), 3);
/// assert_eq!(GuestExit::from(Ok::<_, wasmtime::Error>(Err(()))).code(), 1);
/// ```
impl From<wasmtime::Result<Result<(), ()>>> for GuestExit {
    fn from(ran: wasmtime::Result<Result<(), ()>>) -> GuestExit {
        match ran {
            Ok(Ok(())) => GuestExit::Exited(0),
            Ok(Err(())) => GuestExit::Exited(1),
            Err(e) => match e.downcast_ref::<wasmtime_wasi::I32Exit>() {
                Some(exit) => GuestExit::Exited(exit.0),
                None => GuestExit::Trapped(e),
            },
        }
    }
}

impl GuestExit {
    /// The process exit status that stands for this ending: the guest's own
    /// status, 0 for a connection handler whose peer left, 1 for a connection handler that returned an error or never
    /// got its connection, or an instance the host could not set up, 134 (like an abort) for a trap, 124 (like
    /// `timeout(1)`) for the wall-clock limit.
    pub fn code(&self) -> i32 {
        match self {
            GuestExit::Exited(c) => *c,
            GuestExit::PeerLeft(_) => 0,
            GuestExit::HandlerFailed(_)
            | GuestExit::NotHandedOver(_)
            | GuestExit::NotStarted(_) => 1,
            GuestExit::Trapped(_) => 134,
            GuestExit::TimedOut(_) => 124,
        }
    }

    /// The wasm backtrace that [`GuestExit::describe_for`] leaves out: a
    /// guest's own stop (a panic, `abort()`). `None` for every other exit
    /// (a trap of another kind has its backtrace in the description).
    pub fn backtrace(&self) -> Option<String> {
        match self {
            GuestExit::Trapped(e) if stopped_itself(e) => Some(format!("{e:?}")),
            _ => None,
        }
    }

    /// A sentence for the user: which limit ended the guest (and, as an
    /// embedder's code sets limits, the field of [`Limits`] that raises
    /// it), or the trap. The CLI says its flags instead, through
    /// [`GuestExit::describe_for`].
    ///
    /// [`Limits`]: crate::runtime::Limits
    pub fn describe(&self) -> String {
        self.describe_for(&SetBy::Code)
    }

    /// [`GuestExit::describe`] for a guest whose limits are set as `set_by`
    /// says (its policy's [`Policy::set_by`](crate::policy::Policy::set_by)):
    /// the advice names what the user can change there.
    pub fn describe_for(&self, set_by: &SetBy) -> String {
        match self {
            GuestExit::Exited(c) => format!("the guest exited with status {c}"),
            GuestExit::HandlerFailed(code) => {
                format!("the connection handler returned the error {code}")
            }
            GuestExit::PeerLeft(code) => {
                format!("the peer left (the connection handler returned {code})")
            }
            GuestExit::NotHandedOver(why) => {
                format!("the connection could not be handed to an instance: {why}")
            }
            GuestExit::NotStarted(why) => format!("the instance was not started: {why}"),
            GuestExit::TimedOut(t) => format!(
                "the guest ran longer than its time limit ({:?}) and was stopped; {}",
                t,
                set_by.raise("timeout")
            ),
            GuestExit::Trapped(e) => {
                if e.downcast_ref::<wasmtime::Trap>() == Some(&wasmtime::Trap::OutOfFuel) {
                    return format!(
                        "the guest used up its fuel and was stopped; {}",
                        set_by.raise("fuel")
                    );
                }
                let chain = format!("{e:?}");
                if chain.contains("forcing a memory growth failure to be a trap")
                    || chain.contains("forcing trap when growing memory")
                {
                    let advice = set_by.raise("max-memory");
                    return format!(
                        "the guest exceeded its memory limit and was stopped; {advice}\n{chain}"
                    );
                }
                trapped(e, &chain)
            }
        }
    }
}

/// A trap in words: its cause on the first line, then wasmtime's account
/// with the wasm backtrace. A guest that stopped itself (wasm's
/// `unreachable`: how a Rust panic or C's `abort()` ends) has printed its
/// own message already; its backtrace, which says little more, is left to
/// [`GuestExit::backtrace`].
fn trapped(e: &wasmtime::Error, chain: &str) -> String {
    if stopped_itself(e) {
        return "the guest trapped: it stopped itself (a Rust panic, abort() in C, or wasm's `unreachable`); its own message, if any, is above".into();
    }
    format!("the guest trapped: {}\n{chain}", e.root_cause())
}

fn stopped_itself(e: &wasmtime::Error) -> bool {
    e.downcast_ref::<wasmtime::Trap>() == Some(&wasmtime::Trap::UnreachableCodeReached)
}

#[cfg(test)]
mod tests {
    use super::GuestExit;
    use crate::policy::SetBy;
    use std::time::Duration;

    #[test]
    fn a_limit_is_raised_where_it_was_set() {
        let scenario = SetBy::Scenario {
            host: "a".into(),
            path: "s.toml".into(),
        };
        let timed_out = GuestExit::TimedOut(Duration::from_secs(2));
        assert!(
            timed_out
                .describe_for(&SetBy::Flags)
                .ends_with("raise it with --timeout")
        );
        assert!(
            timed_out
                .describe()
                .ends_with("raise it in the instance's Limits (timeout)")
        );
        assert!(
            timed_out
                .describe_for(&scenario)
                .ends_with("raise host \"a\"'s `timeout` in s.toml")
        );
        let out_of_fuel = GuestExit::Trapped(wasmtime::Trap::OutOfFuel.into());
        assert!(
            out_of_fuel
                .describe_for(&SetBy::Flags)
                .ends_with("raise it with --fuel")
        );
        assert!(
            out_of_fuel
                .describe_for(&SetBy::Annotations("wasock.dev/".into()))
                .ends_with("raise it with the wasock.dev/fuel annotation")
        );
        assert!(
            out_of_fuel
                .describe_for(&SetBy::Code)
                .ends_with("raise it in the instance's Limits (fuel)")
        );
    }
}
