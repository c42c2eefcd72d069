//! Group commit: a tenant's written objects are committed in flush order, and every object
//! that is written by the time the previous commit ends goes into the next one, in ONE
//! metadata transaction. On the embedded default a transaction costs an fsync of SQLite's log
//! and a dozen hand-offs to its worker thread, whatever it holds; under load, objects are
//! written faster than they could be committed one by one.

use std::collections::BTreeMap;
use std::sync::Mutex;

use tokio::sync::oneshot;

use super::{Writer, Written, before_commit, take_live};

/// A tenant's written objects waiting for their commit.
#[derive(Default)]
pub(super) struct CommitQueue {
    state: Mutex<QueueState>,
}

#[derive(Default)]
struct QueueState {
    /// The sequence number of the next flush to commit (the flush loop numbers them).
    next: u64,
    /// How many flushes are committed (or failed): the queue is idle when all are.
    settled: u64,
    /// Written objects by sequence number, each with the signal of its commit.
    ready: BTreeMap<u64, (Written, oneshot::Sender<()>)>,
    /// Whether a flush task is committing: it also commits what is written meanwhile.
    draining: bool,
}

impl CommitQueue {
    /// Adds flush `seq`'s object; true when the caller is to commit (see [`Writer::drain`]).
    pub(super) fn push(&self, seq: u64, w: Written, done: oneshot::Sender<()>) -> bool {
        let mut state = self.state.lock().expect("poisoned");
        state.ready.insert(seq, (w, done));
        !std::mem::replace(&mut state.draining, true)
    }

    /// Whether every flush numbered below `assigned` is committed (not merely taken by a
    /// commit still running: a new queue's first commit must not overtake it).
    pub(super) fn is_settled(&self, assigned: u64) -> bool {
        self.state.lock().expect("poisoned").settled == assigned
    }

    /// The written objects that are next in order, none if the next one is still being
    /// written (its flush task will drain then). Ends the draining when it returns none.
    fn take_next(&self) -> Vec<(Written, oneshot::Sender<()>)> {
        let mut state = self.state.lock().expect("poisoned");
        let mut taken = Vec::new();
        loop {
            let next = state.next;
            match state.ready.remove(&next) {
                Some(w) => {
                    taken.push(w);
                    state.next += 1;
                }
                None => break,
            }
        }
        if taken.is_empty() {
            state.draining = false;
        }
        taken
    }
}

/// Ends the draining if the task committing is dropped midway, so that the next flush task
/// commits what is left.
struct Draining<'a>(&'a CommitQueue);

impl Drop for Draining<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.state.lock().map(|mut s| s.draining = false).ok();
        }
    }
}

impl Writer {
    /// Commits the queue's objects in order, in groups, until the next one is not written.
    pub(super) async fn drain(&self, queue: &CommitQueue) {
        let _guard = Draining(queue);
        loop {
            let group = queue.take_next();
            if group.is_empty() {
                return;
            }
            let (written, done): (Vec<_>, Vec<_>) = group.into_iter().unzip();
            self.commit_group(written).await;
            queue.state.lock().expect("poisoned").settled += done.len() as u64;
            for d in done {
                let _ = d.send(());
            }
        }
    }

    /// Commits written objects in one transaction, then acknowledges them. A group the store
    /// refuses is committed again object by object, so that only what is at fault fails.
    async fn commit_group(&self, mut group: Vec<Written>) {
        if group.len() == 1 || group.iter().any(|w| w.put.is_err()) {
            for w in group {
                self.commit_object(w).await;
            }
            return;
        }
        let put_ms: Vec<u64> = group
            .iter()
            .map(|w| w.started.elapsed().as_millis() as u64)
            .collect();
        let mut live: Vec<_> = group.iter_mut().map(take_live).collect();
        if live.iter().all(Vec::is_empty) {
            return;
        }
        before_commit().await;
        let commits: Vec<_> = group
            .iter()
            .zip(&live)
            .filter(|(_, l)| !l.is_empty())
            .map(|(w, l)| self.object_commit(w, l))
            .collect();
        match self.store.commit_objects(&commits).await {
            Ok(()) => {
                for ((w, l), ms) in group.iter().zip(live).zip(put_ms) {
                    if !l.is_empty() {
                        self.acknowledge(w, l, ms);
                    }
                }
            }
            Err(e) => {
                tracing::debug!(
                    objects = group.len(),
                    "group commit refused ({e}); committing one by one"
                );
                for (mut w, l) in group.into_iter().zip(live.drain(..)) {
                    w.batches = l;
                    self.commit_object(w).await;
                }
            }
        }
    }
}
