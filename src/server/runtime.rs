//! Where a [`super::MockServer`]'s accept loop runs (docs/adr/0001-mock-server-runtime.md):
//! by default on one multi-thread tokio runtime shared by every server of the process,
//! created on first use; with explicit [`super::MockServerBuilder::workers`], on a runtime
//! of its own on its own OS thread (what `scimock serve` does). Either way the server never
//! needs the caller's runtime, and [`Running::stop`] returns only once the accept loop and
//! its connection tasks are gone and the port is closed.

use std::cell::Cell;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, PoisonError};
use std::thread::JoinHandle;

use tokio::runtime::Runtime;
use tokio::sync::oneshot;

/// At most this many workers on the shared runtime, whatever the CPU count.
const MAX_SHARED_WORKERS: usize = 8;

static SHARED: OnceLock<Runtime> = OnceLock::new();
/// Held while the shared runtime is built, so two first servers never build two.
static BUILDING: Mutex<()> = Mutex::new(());

thread_local! {
    /// True on the shared runtime's own threads (workers and blocking pool).
    static ON_SHARED: Cell<bool> = const { Cell::new(false) };
}

/// The process-wide runtime of default servers: one worker per CPU, between 2 and 8,
/// threads named `scimock-shared`. It lives until the process exits.
fn shared() -> std::io::Result<&'static Runtime> {
    if let Some(rt) = SHARED.get() {
        return Ok(rt);
    }
    let _building = BUILDING.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(rt) = SHARED.get() {
        return Ok(rt);
    }
    let workers = std::thread::available_parallelism()
        .map_or(2, usize::from)
        .clamp(2, MAX_SHARED_WORKERS);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name("scimock-shared")
        .on_thread_start(|| ON_SHARED.with(|on| on.set(true)))
        .enable_all()
        .build()?;
    // Only this thread initialises (under `BUILDING`), so `rt` is the value stored.
    Ok(SHARED.get_or_init(move || rt))
}

/// A dedicated runtime with `workers` worker threads, for a server that asked for them.
fn dedicated(workers: usize) -> std::io::Result<Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers.max(1))
        .thread_name("scimock-server")
        .enable_all()
        .build()
}

/// The listener registered with `rt`'s reactor, on the calling thread, so a failure is
/// the caller's error.
fn register(
    rt: &Runtime,
    listener: std::net::TcpListener,
) -> std::io::Result<tokio::net::TcpListener> {
    let _in_rt = rt.enter();
    tokio::net::TcpListener::from_std(listener)
}

/// How many times [`Running::stop`] yields its thread before it sleeps on the condition
/// variable. A stop takes tens of microseconds; yielding meanwhile lets the server's
/// worker run on this core and saves the sleeping thread's wake-up.
const YIELDS_BEFORE_SLEEP: usize = 200;

/// Set once the server task's future is gone: finished, or unwound by a panic.
#[derive(Debug, Default)]
struct Finished {
    done: AtomicBool,
    lock: Mutex<()>,
    signal: Condvar,
}

impl Finished {
    /// Blocks the calling thread until [`FinishedGuard`] has been dropped.
    fn wait(&self) {
        for _ in 0..YIELDS_BEFORE_SLEEP {
            if self.done.load(Ordering::Acquire) {
                return;
            }
            std::thread::yield_now();
        }
        let mut guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        while !self.done.load(Ordering::Acquire) {
            guard = self
                .signal
                .wait(guard)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// Lives inside the server future; dropping it (at the end, or on a panic) tells the
/// waiting [`Running::stop`].
struct FinishedGuard(Arc<Finished>);

impl Drop for FinishedGuard {
    fn drop(&mut self) {
        // Under the lock, so a waiter between its check and its sleep cannot miss it.
        let _locked = self.0.lock.lock().unwrap_or_else(PoisonError::into_inner);
        self.0.done.store(true, Ordering::Release);
        self.0.signal.notify_all();
    }
}

#[derive(Debug)]
enum Host {
    /// A task on the shared runtime.
    Shared(Arc<Finished>),
    /// The thread that owns a dedicated runtime and blocks on the server.
    Thread(JoinHandle<()>),
}

/// A running server: its shutdown signal and a way to wait for its end.
#[derive(Debug)]
pub(crate) struct Running {
    stop: Option<oneshot::Sender<()>>,
    host: Option<Host>,
}

impl Running {
    /// Serves `listener` (bound, non-blocking) with `serve`: on the shared runtime when
    /// `workers` is `None`, else on a dedicated runtime with that many workers. `serve`
    /// gets the listener registered with that runtime and the signal to stop on.
    pub(crate) fn start<F, Fut>(
        workers: Option<usize>,
        listener: std::net::TcpListener,
        serve: F,
    ) -> std::io::Result<Running>
    where
        F: FnOnce(tokio::net::TcpListener, oneshot::Receiver<()>) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let (stop, stopped) = oneshot::channel();
        let host = match workers {
            None => {
                let rt = shared()?;
                let listener = register(rt, listener)?;
                let finished = Arc::new(Finished::default());
                let guard = FinishedGuard(Arc::clone(&finished));
                let server = serve(listener, stopped);
                rt.spawn(async move {
                    let _guard = guard;
                    server.await;
                });
                Host::Shared(finished)
            }
            Some(n) => {
                let rt = dedicated(n)?;
                let listener = match register(&rt, listener) {
                    Ok(l) => l,
                    Err(e) => {
                        // The caller may be inside a runtime, where a blocking drop panics.
                        rt.shutdown_background();
                        return Err(e);
                    }
                };
                // The thread drops `rt`, and with it every task left, when the server ends.
                let thread = std::thread::Builder::new()
                    .name("scimock".into())
                    .spawn(move || rt.block_on(serve(listener, stopped)))?;
                Host::Thread(thread)
            }
        };
        Ok(Running {
            stop: Some(stop),
            host: Some(host),
        })
    }

    /// Signals the shutdown and waits (blocking the calling thread, never awaiting its
    /// runtime) until the server has closed its port and its connections. On one of the
    /// shared runtime's own threads it only signals: waiting there could wait for itself.
    pub(crate) fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.host.take() {
            Some(Host::Shared(finished)) => {
                if ON_SHARED.with(Cell::get) {
                    return;
                }
                finished.wait();
            }
            Some(Host::Thread(thread)) => {
                let _ = thread.join();
            }
            None => {}
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop();
    }
}
