//! The chat store (LlamaIndex's `SimpleChatStore` semantics, with upstream's fixes for
//! out-of-range deletes). Each key's history is a list of messages stored one record per
//! message at sparse positions, so appending or inserting writes one record, not the list.

use crate::error::{Error, Result};
use crate::keys::{self, Space};
use crate::ordered::{OrderedMap, Reader};
use crate::txn::Txn;
use strata_api::{ChatCommand, ChatMessage, ChatQuery, JsonText, Response};

/// Position of a key's first message, and the gap between appended ones.
const FIRST_POSITION: u64 = 1 << 62;
const GAP: u64 = 1 << 24;

fn chat_keys() -> OrderedMap<'static> {
    OrderedMap::new(Space::ChatKeyEntry, "").counted()
}

/// `(position, message)` of a key's history, in order.
fn load(r: &impl Reader, key: &str) -> Result<Vec<(u64, ChatMessage)>> {
    r.scan_raw(&keys::prefix(Space::ChatMessage, key))?
        .into_iter()
        .map(|(k, v)| {
            let pos = keys::trailing_u64(&k).ok_or_else(|| Error::Corrupt("chat key without position".into()))?;
            let msg = ChatMessage::from_json(&JsonText::from_stored(&v)?.to_map()?)?;
            Ok((pos, msg))
        })
        .collect()
}

fn message_key(key: &str, pos: u64) -> Vec<u8> {
    keys::key_u64(Space::ChatMessage, key, pos)
}

fn write(txn: &mut Txn<'_>, key: &str, pos: u64, msg: &ChatMessage) {
    txn.put(message_key(key, pos), JsonText::from_map(&msg.to_json()).as_bytes().to_vec());
}

fn register(txn: &mut Txn<'_>, key: &str) -> Result<()> {
    if !chat_keys().contains(txn, key)? {
        chat_keys().put(txn, key, &[])?;
    }
    Ok(())
}

/// Rewrites a whole history at evenly spaced positions.
fn rewrite(txn: &mut Txn<'_>, key: &str, old: &[(u64, ChatMessage)], messages: &[ChatMessage]) {
    for (pos, _) in old {
        txn.remove(message_key(key, *pos));
    }
    for (i, msg) in messages.iter().enumerate() {
        write(txn, key, FIRST_POSITION + GAP * i as u64, msg);
    }
}

/// Python's `list.insert` index: negative counts from the end, out of range clamps.
fn insert_index(idx: i64, len: usize) -> usize {
    let len_i = len as i64;
    let i = if idx < 0 { (idx + len_i).max(0) } else { idx.min(len_i) };
    i as usize
}

/// Python's `list.pop` index, or none when out of range.
fn pop_index(idx: i64, len: usize) -> Option<usize> {
    let len_i = len as i64;
    let i = if idx < 0 { idx + len_i } else { idx };
    (0..len_i).contains(&i).then_some(i as usize)
}

fn add_message(txn: &mut Txn<'_>, key: &str, msg: &ChatMessage, idx: Option<i64>) -> Result<()> {
    register(txn, key)?;
    let history = load(txn, key)?;
    let at = idx.map(|i| insert_index(i, history.len())).unwrap_or(history.len());
    let before = at.checked_sub(1).map(|i| history[i].0);
    let after = history.get(at).map(|(p, _)| *p);
    let pos = match (before, after) {
        (None, None) => Some(FIRST_POSITION),
        (Some(b), None) => b.checked_add(GAP),
        (None, Some(a)) => a.checked_sub(GAP),
        (Some(b), Some(a)) => (a - b > 1).then(|| b + (a - b) / 2),
    };
    match pos {
        Some(pos) => write(txn, key, pos, msg),
        None => {
            // No room between neighbours: respace the whole history.
            let mut messages: Vec<ChatMessage> = history.iter().map(|(_, m)| m.clone()).collect();
            messages.insert(at, msg.clone());
            rewrite(txn, key, &history, &messages);
        }
    }
    Ok(())
}

/// Applies a chat command.
pub fn apply(txn: &mut Txn<'_>, cmd: &ChatCommand) -> Result<Response> {
    match cmd {
        ChatCommand::SetMessages { key, messages } => {
            register(txn, key)?;
            let old = load(txn, key)?;
            rewrite(txn, key, &old, messages);
            Ok(Response::Done)
        }
        ChatCommand::AddMessage { key, message, idx } => {
            add_message(txn, key, message, *idx)?;
            Ok(Response::Done)
        }
        ChatCommand::DeleteMessages { key } => {
            if !chat_keys().remove(txn, key)? {
                return Ok(Response::Messages(None));
            }
            let old = load(txn, key)?;
            for (pos, _) in &old {
                txn.remove(message_key(key, *pos));
            }
            Ok(Response::Messages(Some(old.into_iter().map(|(_, m)| m).collect())))
        }
        ChatCommand::DeleteMessage { key, idx } => {
            if !chat_keys().contains(txn, key)? {
                return Ok(Response::Message(None));
            }
            let history = load(txn, key)?;
            let Some(i) = pop_index(*idx, history.len()) else { return Ok(Response::Message(None)) };
            let (pos, msg) = &history[i];
            txn.remove(message_key(key, *pos));
            Ok(Response::Message(Some(msg.clone())))
        }
        ChatCommand::DeleteLastMessage { key } => {
            let history = load(txn, key)?;
            let Some((pos, msg)) = history.last() else { return Ok(Response::Message(None)) };
            txn.remove(message_key(key, *pos));
            Ok(Response::Message(Some(msg.clone())))
        }
    }
}

/// Answers a chat query.
pub fn query(r: &impl Reader, q: &ChatQuery) -> Result<Response> {
    match q {
        ChatQuery::GetMessages { key } => {
            Ok(Response::Messages(Some(load(r, key)?.into_iter().map(|(_, m)| m).collect())))
        }
        ChatQuery::GetKeys => Ok(Response::Names(chat_keys().keys(r)?)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_insert_and_pop_indexes() {
        assert_eq!(insert_index(0, 3), 0);
        assert_eq!(insert_index(-1, 3), 2);
        assert_eq!(insert_index(-10, 3), 0);
        assert_eq!(insert_index(10, 3), 3);
        assert_eq!(pop_index(-1, 3), Some(2));
        assert_eq!(pop_index(-3, 3), Some(0));
        assert_eq!(pop_index(-4, 3), None);
        assert_eq!(pop_index(3, 3), None);
        assert_eq!(pop_index(0, 0), None);
    }
}
