//! How an instance ended, and what to tell the user about it.

use std::time::Duration;

/// How a guest program (or connection handler) ended.
#[derive(Debug)]
pub enum GuestExit {
    /// It returned or called `exit` with this status.
    Exited(i32),
    /// A connection handler returned this error code (its name, such as
    /// `connection-reset`): the handler failed, the instance did not.
    HandlerFailed(&'static str),
    /// The host could not hand a connection to a handler (why, in words):
    /// no guest ran.
    NotHandedOver(String),
    /// It trapped, or a host function or a limit trapped it.
    Trapped(wasmtime::Error),
    /// It ran past its wall-clock limit and was stopped.
    TimedOut(Duration),
}

impl GuestExit {
    /// The process exit status that stands for this ending: the guest's own
    /// status, 1 for a connection handler that returned an error or never
    /// got its connection, 134 (like an abort) for a trap, 124 (like
    /// `timeout(1)`) for the wall-clock limit.
    pub fn code(&self) -> i32 {
        match self {
            GuestExit::Exited(c) => *c,
            GuestExit::HandlerFailed(_) | GuestExit::NotHandedOver(_) => 1,
            GuestExit::Trapped(_) => 134,
            GuestExit::TimedOut(_) => 124,
        }
    }

    /// A sentence for the user: which limit ended the guest, or the trap.
    pub fn describe(&self) -> String {
        match self {
            GuestExit::Exited(c) => format!("the guest exited with status {c}"),
            GuestExit::HandlerFailed(code) => {
                format!("the connection handler returned the error {code}")
            }
            GuestExit::NotHandedOver(why) => {
                format!("the connection could not be handed to an instance: {why}")
            }
            GuestExit::TimedOut(t) => format!(
                "the guest ran longer than its time limit ({:?}) and was stopped; raise it with --timeout",
                t
            ),
            GuestExit::Trapped(e) => {
                if e.downcast_ref::<wasmtime::Trap>() == Some(&wasmtime::Trap::OutOfFuel) {
                    return "the guest used up its fuel and was stopped; raise it with --fuel"
                        .to_string();
                }
                let chain = format!("{e:?}");
                if chain.contains("forcing a memory growth failure to be a trap")
                    || chain.contains("forcing trap when growing memory")
                {
                    return format!(
                        "the guest exceeded its memory limit and was stopped; raise it with --max-memory\n{chain}"
                    );
                }
                format!("the guest trapped: {chain}")
            }
        }
    }
}
