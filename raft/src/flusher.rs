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
    /// Starts the flusher of `db` on the current tokio runtime.
    pub fn start(db: sled::Db) -> Self {
        let (tx, mut rx) = mpsc::unbounded_channel::<Waiter>();
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut waiters = vec![first];
                while let Ok(w) = rx.try_recv() {
                    waiters.push(w);
                }
                let result = db.flush_async().await.map(|_| ()).map_err(|e| e.to_string());
                for w in waiters {
                    let _ = w.send(result.clone());
                }
            }
        });
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
