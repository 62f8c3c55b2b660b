//! Store flushes and policy compilations off the node task, and the
//! replies that wait for them.
//!
//! The node task never awaits a flush or a compilation: it starts one on
//! the blocking pool and keeps polling the swarm; the result comes back as
//! a branch of its `select!` loop. What must not be answered before the
//! work is done (a publish before its post is durable, a `block` before the
//! policy uses it) is held as a [`Waiter`] and called when the work that
//! covers it completes.
//!
//! Group commit: at most one flush runs at a time. A waiter that arrives
//! while one runs waits for the next one, which starts as soon as the
//! running one ends and covers every waiter that arrived meanwhile, so a
//! burst of publishes shares one flush. Compilations coalesce the same way:
//! a change that arrives while one runs is covered by one more.

use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use hearth_protocol::NetworkId;
use tokio::sync::oneshot;

use super::Service;
use crate::error::NodeError;
use crate::moderation::{Compiled, Moderation};
use crate::store::{Store, StoreError};

/// Received data is flushed in groups this far apart.
pub(super) const FLUSH_DELAY: Duration = Duration::from_millis(5);

/// Called once the work it waits for is done (`Ok`) or failed (`Err`, the
/// failure as text: one failure answers many waiters).
pub(super) type Waiter = Box<dyn FnOnce(Result<(), &str>) + Send>;

/// A waiter that answers `reply` with `value` once the work is done.
pub(super) fn answer<T: Send + 'static>(
    reply: oneshot::Sender<Result<T, NodeError>>,
    value: T,
) -> Waiter {
    Box::new(move |done| {
        let _ = reply.send(done.map(|()| value).map_err(failed));
    })
}

/// The error a waiter's caller gets when the work it waited for failed.
fn failed(reason: &str) -> NodeError {
    NodeError::Store(StoreError::Io(std::io::Error::other(reason.to_owned())))
}

/// Background work of one kind: at most one runs; waiters are covered by
/// the run that starts after they arrive.
pub(super) struct Background<T> {
    running: Option<BoxFuture<'static, Result<T, String>>>,
    /// Answered when the running work ends.
    covered: Vec<Waiter>,
    /// Answered by the next run.
    waiting: Vec<Waiter>,
    /// Another run is wanted even with no waiter (received data).
    wanted: bool,
    /// Runs started, for the metrics and tests.
    started: u64,
}

impl<T> Default for Background<T> {
    fn default() -> Self {
        Self {
            running: None,
            covered: Vec::new(),
            waiting: Vec::new(),
            wanted: false,
            started: 0,
        }
    }
}

impl<T: Send + 'static> Background<T> {
    /// Whether a run is in flight.
    pub(super) fn is_running(&self) -> bool {
        self.running.is_some()
    }

    /// Whether a run should start now: none runs and something wants one.
    fn should_start(&self) -> bool {
        self.running.is_none() && (self.wanted || !self.waiting.is_empty())
    }

    /// Starts `work` on the blocking pool; the waiters so far are covered
    /// by it.
    fn start(&mut self, work: impl FnOnce() -> Result<T, String> + Send + 'static) {
        self.wanted = false;
        self.covered = std::mem::take(&mut self.waiting);
        self.started = self.started.saturating_add(1);
        self.running = Some(
            tokio::task::spawn_blocking(work)
                .map(|joined| joined.map_err(|e| e.to_string()).and_then(|r| r))
                .boxed(),
        );
    }

    /// Waits for the running work to end (forever when none runs: the
    /// loop's branch is disabled then) and hands back its result with the
    /// waiters it covers.
    pub(super) async fn done(&mut self) -> (Result<T, String>, Vec<Waiter>) {
        let result = match &mut self.running {
            Some(running) => running.await,
            None => std::future::pending().await,
        };
        self.running = None;
        (result, std::mem::take(&mut self.covered))
    }
}

/// Calls every waiter with the same outcome.
pub(super) fn call_all(waiters: Vec<Waiter>, done: Result<(), &str>) {
    for waiter in waiters {
        waiter(done);
    }
}

fn flush(store: Store) -> impl FnOnce() -> Result<(), String> + Send + 'static {
    move || store.flush().map_err(|e| e.to_string())
}

fn compile(
    store: Store,
    network: NetworkId,
) -> impl FnOnce() -> Result<Compiled, String> + Send + 'static {
    move || Moderation::compile(&store, &network).map_err(|e| e.to_string())
}

impl Service {
    /// Calls `waiter` once every write so far is durable: at once with a
    /// temporary store, which nothing outlives.
    pub(super) fn after_flush(&mut self, waiter: Waiter) {
        if self.store.is_temporary() {
            return waiter(Ok(()));
        }
        self.flushes.waiting.push(waiter);
        self.start_flush();
    }

    /// Answers `reply` with `result` once it is durable; an error at once.
    pub(super) fn reply_flushed<T: Send + 'static>(
        &mut self,
        result: Result<T, NodeError>,
        reply: oneshot::Sender<Result<T, NodeError>>,
    ) {
        match result {
            Ok(value) => self.after_flush(answer(reply, value)),
            Err(e) => {
                let _ = reply.send(Err(e));
            }
        }
    }

    /// Arms the flush timer for received data, if it is not armed.
    pub(super) fn flush_soon(&mut self) {
        if self.store.is_temporary() {
            return;
        }
        self.flush_due
            .get_or_insert_with(|| tokio::time::Instant::now() + FLUSH_DELAY);
    }

    /// The flush timer fired: received data wants a flush.
    pub(super) fn flush_timer(&mut self) {
        self.flush_due = None;
        self.flushes.wanted = true;
        self.start_flush();
    }

    /// Starts a flush if none runs and one is wanted.
    fn start_flush(&mut self) {
        if self.flushes.should_start() {
            // It covers the received data written so far.
            self.flush_due = None;
            self.metrics.store_flush();
            self.flushes.start(flush(self.store.clone()));
        }
    }

    /// A flush ended: its waiters are answered, and the next one starts if
    /// anything waits for it.
    pub(super) fn on_flushed(&mut self, result: Result<(), String>, waiters: Vec<Waiter>) {
        match result {
            Ok(()) => call_all(waiters, Ok(())),
            Err(e) => {
                tracing::error!(error = %e, "flushing the store failed");
                call_all(waiters, Err(&e));
            }
        }
        self.start_flush();
    }

    /// Recompiles the policy from the store off the task; `waiter` (if any)
    /// is called once the new policy is in use and durable.
    pub(super) fn recompile(&mut self, waiter: Option<Waiter>) {
        match waiter {
            Some(waiter) => self.compiles.waiting.push(waiter),
            None => self.compiles.wanted = true,
        }
        self.start_compile();
    }

    /// Answers `reply` with `result` once the policy reflects it and it is
    /// durable; an error at once.
    pub(super) fn reply_recompiled<T: Send + 'static>(
        &mut self,
        result: Result<T, NodeError>,
        reply: oneshot::Sender<Result<T, NodeError>>,
    ) {
        match result {
            Ok(value) => self.recompile(Some(answer(reply, value))),
            Err(e) => {
                let _ = reply.send(Err(e));
            }
        }
    }

    fn start_compile(&mut self) {
        if self.compiles.should_start() {
            self.metrics.policy_compile();
            self.compiles
                .start(compile(self.store.clone(), self.network.clone()));
        }
    }

    /// A compilation ended: the policy is swapped in, and its waiters wait
    /// for the flush that makes the change durable.
    pub(super) fn on_compiled(&mut self, result: Result<Compiled, String>, waiters: Vec<Waiter>) {
        match result {
            Ok(compiled) => {
                self.moderation.swap(compiled);
                for waiter in waiters {
                    self.after_flush(waiter);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "compiling the policy failed; the old one stays");
                call_all(waiters, Err(&e));
            }
        }
        self.start_compile();
    }

    /// At shutdown: finishes the running compilation and any wanted one,
    /// then every flush, answering every waiter.
    pub(super) async fn finish_background(&mut self) -> Result<(), StoreError> {
        while self.compiles.is_running() || self.compiles.should_start() {
            if !self.compiles.is_running() {
                self.start_compile();
            }
            let (result, waiters) = self.compiles.done().await;
            self.on_compiled(result, waiters);
        }
        if self.flushes.is_running() {
            let (result, waiters) = self.flushes.done().await;
            call_all(waiters, result.as_ref().map(|_| ()).map_err(String::as_str));
        }
        self.flush_due = None;
        let result = self.store.flush_async().await;
        let waiters = std::mem::take(&mut self.flushes.waiting);
        match &result {
            Ok(()) => call_all(waiters, Ok(())),
            Err(e) => call_all(waiters, Err(&e.to_string())),
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A waiter that records `n` and how its work ended.
    fn note(calls: &Arc<Mutex<Vec<(u32, bool)>>>, n: u32) -> Waiter {
        let calls = Arc::clone(calls);
        Box::new(move |done| calls.lock().unwrap().push((n, done.is_ok())))
    }

    #[tokio::test]
    async fn waiters_that_arrive_during_a_run_share_the_next_one() {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let mut flushes = Background::<()>::default();
        let (release, gate) = std::sync::mpsc::channel::<()>();
        flushes.waiting.push(note(&calls, 1));
        assert!(flushes.should_start());
        flushes.start(move || gate.recv().map_err(|e| e.to_string()));
        // A burst arrives while the first run is in flight: no second run
        // starts beside it.
        for n in 2..=4 {
            flushes.waiting.push(note(&calls, n));
            assert!(!flushes.should_start(), "never two runs at once");
        }
        release.send(()).unwrap();
        let (result, waiters) = flushes.done().await;
        call_all(waiters, result.as_ref().map(|_| ()).map_err(String::as_str));
        assert_eq!(*calls.lock().unwrap(), [(1, true)], "only what it covered");
        // The whole burst shares the next run.
        assert!(flushes.should_start());
        flushes.start(|| Ok(()));
        let (result, waiters) = flushes.done().await;
        call_all(waiters, result.as_ref().map(|_| ()).map_err(String::as_str));
        assert_eq!(
            *calls.lock().unwrap(),
            [(1, true), (2, true), (3, true), (4, true)]
        );
        assert_eq!(flushes.started, 2);
        assert!(!flushes.should_start());
    }

    #[tokio::test]
    async fn a_failed_run_fails_every_waiter_it_covers() {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let mut flushes = Background::<()>::default();
        flushes.waiting.push(note(&calls, 1));
        flushes.waiting.push(note(&calls, 2));
        flushes.start(|| Err("disk full".to_owned()));
        let (result, waiters) = flushes.done().await;
        assert_eq!(result, Err("disk full".to_owned()));
        call_all(waiters, Err("disk full"));
        assert_eq!(*calls.lock().unwrap(), [(1, false), (2, false)]);
    }

    #[test]
    fn a_waiter_answers_its_caller_with_the_value_or_the_failure() {
        let (reply, answered) = oneshot::channel();
        answer(reply, 7_u32)(Ok(()));
        assert_eq!(answered.blocking_recv().unwrap().unwrap(), 7);
        let (reply, answered) = oneshot::channel::<Result<u32, NodeError>>();
        answer(reply, 7_u32)(Err("disk full"));
        let error = answered.blocking_recv().unwrap().unwrap_err();
        assert!(error.to_string().contains("disk full"), "{error}");
    }
}
