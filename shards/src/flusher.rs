//! Group commit for sled: callers that need their writes on disk wait on one shared
//! flush. A flush answers every waiter that asked before it started; waiters that arrive
//! during a flush are answered by the next one, so no one is told "durable" too early.

use tokio::sync::{mpsc, oneshot};

type Waiter = oneshot::Sender<Result<(), String>>;

/// A handle on the node's flusher task. Cheap to clone.
#[derive(Clone)]
pub struct Flusher {
    tx: mpsc::UnboundedSender<Waiter>,
}

impl Flusher {
    /// Starts the flusher of `db` on a thread of its own (a blocking `flush` there costs
    /// no thread hand-off per flush, unlike sled's `flush_async`).
    pub fn start(db: sled::Db) -> Self {
        let (tx, mut rx) = mpsc::unbounded_channel::<Waiter>();
        let spawned = std::thread::Builder::new().name("strata-flusher".into()).spawn(move || {
            while let Some(first) = rx.blocking_recv() {
                let mut waiters = vec![first];
                while let Ok(w) = rx.try_recv() {
                    waiters.push(w);
                }
                let began = std::time::Instant::now();
                let result = db.flush().map(|_| ()).map_err(|e| e.to_string());
                strata_api::metrics::counters().fsync.observe(began.elapsed());
                for w in waiters {
                    let _ = w.send(result.clone());
                }
            }
        });
        if let Err(e) = spawned {
            // Every flush will then fail with "flusher stopped": writes are refused, not lost.
            tracing::error!(error = %e, "cannot start the flusher thread");
        }
        Self { tx }
    }

    /// Returns once everything written to the db before this call is on disk.
    pub async fn flush(&self) -> std::io::Result<()> {
        let (tx, rx) = oneshot::channel();
        self.tx.send(tx).map_err(|_| std::io::Error::other("flusher stopped"))?;
        match rx.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(std::io::Error::other(e)),
            Err(_) => Err(std::io::Error::other("flusher stopped")),
        }
    }
}
