//! Serving on several threads: a listener per worker thread, all on one
//! address (`SO_REUSEPORT`), each thread a single-threaded runtime that
//! runs [`Server::serve`] on its listener.
//!
//! Separate listeners rather than one shared: the kernel spreads new
//! connections over them without waking every thread for each, and an
//! instance never leaves the thread (and the CPU caches) it started on.
//! A listener opened elsewhere (socket activation) is the exception: the
//! workers share its one queue ([`Workers::from_listener`]), and each new
//! connection wakes them all. The workers share the [`Server`]: one limit
//! on instances running at once, one policy, one set of counters.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use socket2::{Domain, Socket, Type};
use tokio::sync::watch;

use super::serve::{Server, WorkerReport};

/// Connections a listener keeps waiting in the kernel.
const BACKLOG: i32 = 1024;

/// Why serving on workers could not start.
#[derive(Debug, thiserror::Error)]
pub enum WorkersError {
    /// A listener could not be bound.
    #[error("cannot listen on {addr}: {error}")]
    Listen {
        /// The address asked for.
        addr: SocketAddr,
        /// What the system said.
        error: io::Error,
    },
    /// A listener opened elsewhere cannot be served by the workers.
    #[error("cannot serve the passed socket on worker {worker}: {error}")]
    Share {
        /// The worker, counting from 1.
        worker: usize,
        /// What the system said.
        error: io::Error,
    },
    /// A worker thread or its runtime could not start.
    #[error("cannot start serving thread {worker}: {error}")]
    Start {
        /// The worker, counting from 1.
        worker: usize,
        /// What the system said.
        error: io::Error,
    },
    /// The shutdown future could not be made.
    #[error("cannot set up the shutdown: {0}")]
    Shutdown(io::Error),
    /// A worker thread panicked (a host bug).
    #[error("serving thread {worker} panicked")]
    Panicked {
        /// The worker, counting from 1.
        worker: usize,
    },
}

/// Listeners for `n` workers on one address (or one listener shared by
/// them, [`Workers::from_listener`]), not yet serving.
///
/// ```no_run
/// # fn demo(server: std::sync::Arc<wasock_host::runtime::Server>) -> anyhow::Result<()> {
/// use wasock_host::runtime::Workers;
///
/// let workers = Workers::bind("127.0.0.1:8080".parse()?, 2)?;
/// println!("listening on {}", workers.local_addr()?);
/// // Serve until a second passes, then drain.
/// let reports = workers.run(server, || {
///     Ok(tokio::time::sleep(std::time::Duration::from_secs(1)))
/// })?;
/// assert_eq!(reports.len(), 2);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Workers {
    /// The first worker's listener, served on the calling thread.
    first: std::net::TcpListener,
    /// The other workers' listeners.
    rest: Vec<std::net::TcpListener>,
}

impl Workers {
    /// Bind `n` listeners (at least one) on `addr`: when `addr` asks for
    /// any port, the later ones take the port the first got. With more
    /// than one they share it through `SO_REUSEPORT`.
    pub fn bind(addr: SocketAddr, n: usize) -> Result<Workers, WorkersError> {
        let shared = n > 1;
        let failed = |error| WorkersError::Listen { addr, error };
        let first = listen(addr, shared).map_err(failed)?;
        // The port the first got, if `addr` asked for any.
        let at = first.local_addr().map_err(failed)?;
        let rest = (1..n)
            .map(|_| listen(at, shared).map_err(failed))
            .collect::<Result<_, _>>()?;
        Ok(Workers { first, rest })
    }

    /// Serve one listening socket opened elsewhere (a service manager's,
    /// passed by socket activation) on `n` workers (at least one): each
    /// accepts from the same queue through a descriptor of its own, so
    /// each new connection wakes every worker (one accepts it); a few
    /// workers suit such a socket.
    pub fn from_listener(
        listener: std::net::TcpListener,
        n: usize,
    ) -> Result<Workers, WorkersError> {
        let share = |worker| move |error| WorkersError::Share { worker, error };
        let listening = socket2::SockRef::from(&listener)
            .is_listener()
            .map_err(share(1))?;
        if !listening {
            return Err(share(1)(io::Error::new(
                io::ErrorKind::InvalidInput,
                "it is not listening",
            )));
        }
        listener.set_nonblocking(true).map_err(share(1))?;
        let rest = (2..=n)
            .map(|worker| listener.try_clone().map_err(share(worker)))
            .collect::<Result<_, _>>()?;
        Ok(Workers {
            first: listener,
            rest,
        })
    }

    /// The address the workers listen on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.first.local_addr()
    }

    /// How many workers there are (at least one).
    pub fn count(&self) -> usize {
        1 + self.rest.len()
    }

    /// Serve `server` until the future `shutdown` returns completes, then
    /// drain (see [`Server::serve`]); each worker's report, the first
    /// worker's first.
    ///
    /// The first worker runs on the calling thread, the others on threads
    /// of their own (`wasock-serve-N`). `shutdown` is called first, on the
    /// calling thread's runtime, before any worker starts, so it may set
    /// up what needs a runtime (signal handlers). A worker that cannot
    /// start stops the others, and its error is returned once all ended.
    pub fn run<S, F>(
        self,
        server: Arc<Server>,
        shutdown: S,
    ) -> Result<Vec<WorkerReport>, WorkersError>
    where
        S: FnOnce() -> io::Result<F>,
        F: Future<Output = ()> + Send + 'static,
    {
        let first_rt =
            single_threaded().map_err(|error| WorkersError::Start { worker: 1, error })?;
        let shutdown = {
            let _in_runtime = first_rt.enter();
            shutdown().map_err(WorkersError::Shutdown)?
        };
        let stop = Arc::new(watch::Sender::new(false));
        let mut threads = Vec::new();
        for (i, listener) in self.rest.into_iter().enumerate() {
            let worker = i + 2;
            let (server, stopper) = (server.clone(), stop.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("wasock-serve-{worker}"))
                .spawn(move || {
                    let report = single_threaded()
                        .map_err(|error| WorkersError::Start { worker, error })
                        .and_then(|rt| {
                            rt.block_on(accept(server, listener, stopper.subscribe(), worker))
                        });
                    if report.is_err() {
                        stopper.send_replace(true);
                    }
                    report
                });
            match spawned {
                Ok(thread) => threads.push(thread),
                Err(error) => {
                    stop.send_replace(true);
                    join(threads);
                    return Err(WorkersError::Start { worker, error });
                }
            }
        }
        let first = first_rt.block_on(async {
            let stopper = stop.clone();
            tokio::spawn(async move {
                shutdown.await;
                stopper.send_replace(true);
            });
            accept(server, self.first, stop.subscribe(), 1).await
        });
        if first.is_err() {
            stop.send_replace(true);
        }
        std::iter::once(first).chain(join(threads)).collect()
    }
}

/// Wait for worker threads 2, 3, ... to end; their reports.
fn join(
    threads: Vec<std::thread::JoinHandle<Result<WorkerReport, WorkersError>>>,
) -> Vec<Result<WorkerReport, WorkersError>> {
    threads
        .into_iter()
        .enumerate()
        .map(|(i, t)| {
            t.join()
                .unwrap_or(Err(WorkersError::Panicked { worker: i + 2 }))
        })
        .collect()
}

/// A listening socket on `addr`, non-blocking, shared by port if `shared`.
fn listen(addr: SocketAddr, shared: bool) -> io::Result<std::net::TcpListener> {
    let sock = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    sock.set_reuse_address(true)?;
    if shared {
        sock.set_reuse_port(true)?;
    }
    sock.bind(&addr.into())?;
    sock.listen(BACKLOG)?;
    sock.set_nonblocking(true)?;
    Ok(sock.into())
}

/// A single-threaded runtime with every driver on, as each worker (and
/// `wasock run`) uses.
pub(crate) fn single_threaded() -> io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// A worker's accept loop on the runtime it is called on, until the
/// server stops.
async fn accept(
    server: Arc<Server>,
    listener: std::net::TcpListener,
    mut stopped: watch::Receiver<bool>,
    worker: usize,
) -> Result<WorkerReport, WorkersError> {
    let listener = tokio::net::TcpListener::from_std(listener)
        .map_err(|error| WorkersError::Start { worker, error })?;
    let stop = async move {
        let _ = stopped.wait_for(|s| *s).await;
    };
    Ok(server.serve(listener, stop).await)
}
