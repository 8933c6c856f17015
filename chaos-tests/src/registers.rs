//! The KV register workload: clients putting unique values to a few keys and reading
//! them back (linearizable reads), every call recorded for
//! [`crate::check::registers::check_registers`].

use crate::check::registers::{KvAnswer, KvCall};
use crate::history::Recorder;
use crate::rng::Rng;
use serde_json::{Map, Value};
use std::time::Duration;
use strata_client::StorageContext;

/// The KV collection the workload uses.
pub const COLLECTION: &str = "registers";

/// How the clients behave.
#[derive(Clone, Debug)]
pub struct RegisterWorkload {
    /// Concurrent clients.
    pub clients: u64,
    /// Keys they share (few keys, many operations each: contention is the point).
    pub keys: u64,
    /// Each call's deadline: past it the call is `Unknown`.
    pub deadline: Duration,
}

fn value_of(v: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("v".into(), Value::from(v));
    m
}

fn read_value(found: &Option<Map<String, Value>>) -> Option<String> {
    found.as_ref().and_then(|m| m.get("v")).and_then(Value::as_str).map(str::to_string)
}

/// A client connection, retried until it is made or `stop` turns true (`None`).
pub async fn connect(
    addrs: &[String],
    deadline: Duration,
    stop: &tokio::sync::watch::Receiver<bool>,
) -> Option<StorageContext> {
    loop {
        match StorageContext::connect_within(addrs, deadline).await {
            Ok(ctx) => return Some(ctx),
            Err(_) if !*stop.borrow() => tokio::time::sleep(Duration::from_millis(200)).await,
            Err(_) => return None,
        }
    }
}

/// Runs one client until `stop` turns true.
pub async fn client(
    addrs: Vec<String>,
    work: RegisterWorkload,
    process: u64,
    seed: u64,
    history: Recorder<KvCall, KvAnswer>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut rng = Rng::new(seed ^ process.wrapping_mul(0x9E37_79B9));
    let mut n = 0u64;
    let Some(ctx) = connect(&addrs, work.deadline, &stop).await else { return };
    let kv = ctx.kv_store();
    while !*stop.borrow_and_update() {
        let key = format!("k{}", rng.below(work.keys));
        n += 1;
        let roll = rng.below(100);
        let call = if roll < 45 {
            KvCall::Get { key }
        } else if roll < 90 {
            KvCall::Put { key, value: format!("p{process}-{n}") }
        } else {
            let other = format!("k{}", rng.below(work.keys));
            let mut entries = vec![(key, format!("p{process}-{n}a"))];
            if other != entries[0].0 {
                entries.push((other, format!("p{process}-{n}b")));
            }
            KvCall::PutAll { entries }
        };
        let op = history.invoke(process, call.clone());
        let run = async {
            match &call {
                KvCall::Get { key } => kv.get(key, COLLECTION).await.map(|v| KvAnswer::Value(read_value(&v))),
                KvCall::Put { key, value } => kv.put(key, &value_of(value), COLLECTION).await.map(|()| KvAnswer::Done),
                KvCall::PutAll { entries } => {
                    let pairs: Vec<(String, Map<String, Value>)> =
                        entries.iter().map(|(k, v)| (k.clone(), value_of(v))).collect();
                    kv.put_all(&pairs, COLLECTION).await.map(|()| KvAnswer::Done)
                }
                KvCall::Delete { key } => kv.delete(key, COLLECTION).await.map(|_| KvAnswer::Done),
            }
        };
        // The client's own deadline bounds every call; this one is a backstop for a
        // call that would hang past it (it then counts as unknown, as it should).
        let result = match tokio::time::timeout(work.deadline * 2, run).await {
            Ok(r) => r,
            Err(_) => Err(strata_client::Error::Store(strata_api::Error::Unavailable("call timed out".into()))),
        };
        history.finish(op, &result, Clone::clone);
    }
}
