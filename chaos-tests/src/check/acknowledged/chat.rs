//! Chat histories: every acknowledged append present exactly once, in an order the
//! appends' intervals allow, and every read a prefix of the final history that holds
//! every append acknowledged before the read began.

use super::{AckReport, Status, StoreRecord, answer, status};
use crate::stores::{StoreAnswer, StoreCall};
use std::collections::{BTreeMap, HashMap};

/// Checks the chat operations of `history` against `chats` (key → final messages).
pub fn check(history: &[StoreRecord], chats: &BTreeMap<String, Vec<String>>, report: &mut AckReport) {
    let mut appends: BTreeMap<&str, HashMap<&str, &StoreRecord>> = BTreeMap::new();
    let mut reads: BTreeMap<&str, Vec<&StoreRecord>> = BTreeMap::new();
    for r in history {
        match &r.call {
            StoreCall::ChatAppend { key, message } => {
                appends.entry(key).or_default().insert(message, r);
            }
            StoreCall::ChatRead { key } => reads.entry(key).or_default().push(r),
            _ => {}
        }
    }
    let empty = Vec::new();
    let no_appends = HashMap::new();
    let keys: std::collections::BTreeSet<&str> =
        appends.keys().copied().chain(chats.keys().map(String::as_str)).collect();
    for key in keys {
        let finals = chats.get(key).unwrap_or(&empty);
        let appended = appends.get(key).unwrap_or(&no_appends);
        check_final(key, finals, appended, report);
        for read in reads.get(key).into_iter().flatten() {
            if let Some(StoreAnswer::Messages(seen)) = answer(read) {
                check_read(key, read, seen, finals, appended, report);
            }
        }
    }
}

fn check_final(key: &str, finals: &[String], appended: &HashMap<&str, &StoreRecord>, report: &mut AckReport) {
    let mut position: HashMap<&str, usize> = HashMap::new();
    for (i, m) in finals.iter().enumerate() {
        if position.insert(m, i).is_some() {
            report.misordered.push(format!("chat {key}: message {m} is there twice"));
        }
        match appended.get(m.as_str()).map(|r| status(r)) {
            None => report.phantom.push(format!("chat {key}: message {m} was never appended")),
            Some(Status::Failed) => report.phantom.push(format!("chat {key}: message {m}'s append failed")),
            _ => {}
        }
    }
    for (m, r) in appended {
        if matches!(status(r), Status::Acked(_)) && !position.contains_key(m) {
            report.lost.push(format!("chat {key}: acknowledged message {m} is missing"));
        }
    }
    // Real-time order: no message may stand after one whose append was invoked after it
    // was acknowledged. Walking from the end, keep the earliest acknowledgement seen.
    let mut earliest_later_ack: Option<(u64, &str)> = None;
    for m in finals.iter().rev() {
        let Some(r) = appended.get(m.as_str()) else { continue };
        if let Some((acked, later)) = earliest_later_ack
            && acked < r.invoked
        {
            report
                .misordered
                .push(format!("chat {key}: {later} was acknowledged before {m} was sent, but stands after it"));
        }
        if let Status::Acked(t) = status(r)
            && earliest_later_ack.is_none_or(|(e, _)| t < e)
        {
            earliest_later_ack = Some((t, m));
        }
    }
}

fn check_read(
    key: &str,
    read: &StoreRecord,
    seen: &[String],
    finals: &[String],
    appended: &HashMap<&str, &StoreRecord>,
    report: &mut AckReport,
) {
    if !finals.starts_with(seen) {
        report.misordered.push(format!(
            "chat {key}: a read at {} ns ({} messages) is not a prefix of the final history",
            read.invoked,
            seen.len()
        ));
    }
    for (m, r) in appended {
        if let Status::Acked(t) = status(r)
            && t < read.invoked
            && !seen.iter().any(|s| s == m)
        {
            report.lost.push(format!("chat {key}: a read at {} ns missed {m}, acknowledged at {t} ns", read.invoked));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{acked, op, read};
    use super::*;
    use crate::history::Outcome;

    fn append(m: &str) -> StoreCall {
        StoreCall::ChatAppend { key: "c".into(), message: m.into() }
    }
    fn get() -> StoreCall {
        StoreCall::ChatRead { key: "c".into() }
    }
    fn finals(ms: &[&str]) -> BTreeMap<String, Vec<String>> {
        BTreeMap::from([("c".to_string(), ms.iter().map(|m| m.to_string()).collect())])
    }
    fn msgs(ms: &[&str]) -> StoreAnswer {
        StoreAnswer::Messages(ms.iter().map(|m| m.to_string()).collect())
    }
    fn run(h: &[StoreRecord], f: &[&str]) -> AckReport {
        let mut r = AckReport::default();
        check(h, &finals(f), &mut r);
        r
    }

    #[test]
    fn a_good_history_passes_with_unknown_appends_either_way() {
        let h = vec![
            acked(append("a"), 0, 10),
            op(append("b"), 11, None), // unknown: may land any time later
            acked(append("c"), 12, 20),
            read(get(), 21, 30, msgs(&["a", "c"])),
        ];
        assert!(run(&h, &["a", "c", "b"]).passed());
        assert!(run(&h, &["a", "c"]).passed());
    }

    #[test]
    fn a_lost_a_duplicated_and_a_misordered_message_are_named() {
        let h = vec![acked(append("a"), 0, 10), acked(append("b"), 11, 20)];
        assert_eq!(run(&h, &["b"]).lost.len(), 1, "a is lost");
        assert!(!run(&h, &["a", "b", "b"]).misordered.is_empty(), "b twice");
        assert!(!run(&h, &["b", "a"]).misordered.is_empty(), "a was acknowledged before b was sent");
        let concurrent = vec![acked(append("a"), 0, 10), acked(append("b"), 5, 20)];
        assert!(run(&concurrent, &["b", "a"]).passed(), "concurrent appends may land either way");
    }

    #[test]
    fn failed_and_unknown_appends_are_told_apart() {
        let h = vec![op(append("a"), 0, Some((5, Outcome::Fail("refused".into()))))];
        assert_eq!(run(&h, &["a"]).phantom.len(), 1, "a failed append cannot land");
        assert_eq!(run(&[], &["x"]).phantom.len(), 1, "never appended");
    }

    #[test]
    fn a_stale_or_forked_read_is_named() {
        let h = vec![acked(append("a"), 0, 10), read(get(), 11, 12, msgs(&[]))];
        assert_eq!(run(&h, &["a"]).lost.len(), 1, "the read began after a was acknowledged");
        let forked = vec![acked(append("a"), 0, 10), op(append("b"), 11, None), read(get(), 12, 13, msgs(&["b"]))];
        assert!(!run(&forked, &["a", "b"]).misordered.is_empty(), "not a prefix");
    }
}
