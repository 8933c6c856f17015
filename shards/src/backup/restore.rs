//! Applying a restore's writes to a shard: its records (each checked to be a store's
//! record, never the replication layer's or a derived one), then the last step that
//! recomputes what is derived from them.

use super::image::ImageReader;
use super::layout::{Place, place};
use crate::error::Result;
use crate::txn::Txn;
use strata_api::backup::RestoreCommand;
use strata_api::{Error as ApiError, Response};

/// Applies one restore command.
pub fn apply(txn: &mut Txn<'_>, cmd: &RestoreCommand) -> Result<Response> {
    match cmd {
        RestoreCommand::Records { image, .. } => {
            let mut records = ImageReader::new(image.as_slice());
            while let Some((k, v)) = records.next_record()? {
                if matches!(place(&k, &v)?, Place::Drop | Place::NextSeq(_)) {
                    return Err(ApiError::InvalidInput(format!(
                        "record {} of a restore is derived or replication state, which a restore recomputes",
                        records.records()
                    ))
                    .into());
                }
                txn.put(k, v);
            }
            Ok(Response::Done)
        }
        RestoreCommand::Finish { next_seq, .. } => {
            txn.advance_seq_past(next_seq.saturating_sub(1))?;
            crate::counts::recount(txn)?;
            crate::graph::schema::recount(txn)?;
            Ok(Response::Done)
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::Shard;
    use crate::backup::image::{ImageReader, ImageWriter};
    use crate::backup::layout::{Place, place};
    use serde_json::json;
    use strata_api::backup::RestoreCommand;
    use strata_api::model::graph::{LabelledNode, Relation};
    use strata_api::{
        ChatCommand, ChatMessage, Command, Distance, DocstoreCommand, GraphCommand, JsonText, KvCommand, MessageRole,
        NodeWrite, RelationWrite, VectorCommand, VectorNamespace, VectorRecord,
    };

    fn json(v: serde_json::Value) -> JsonText {
        JsonText::from_map(v.as_object().expect("an object"))
    }

    /// A little of every store, as LlamaIndex's calls write it.
    fn writes() -> Vec<Command> {
        let doc = |id: &str| NodeWrite {
            node_id: id.into(),
            data: Some(json(json!({"text": id}))),
            doc_hash: "h".into(),
            source: None,
        };
        let vector = |id: &str, e: [f32; 3]| VectorRecord {
            node_id: id.into(),
            embedding: e.to_vec(),
            ref_doc_id: Some("doc".into()),
            metadata: json(json!({"k": id})),
            node: None,
            exact_f32: true,
        };
        let mut alice = LabelledNode::entity("alice", "PERSON");
        alice.properties.insert("age".into(), json!(30));
        alice.embedding = Some(vec![1.0, 0.0, 0.0]);
        let knows = Relation {
            label: "KNOWS".into(),
            source_id: "alice".into(),
            target_id: "bob".into(),
            properties: Default::default(),
        };
        let rel = RelationWrite { relation: knows, order: 0, target_label: None };
        vec![
            Command::Kv(KvCommand::Put { collection: "plain".into(), key: "k".into(), value: json(json!({"v": 1})) }),
            Command::Docstore(DocstoreCommand::AddDocuments {
                namespace: "docs".into(),
                nodes: vec![doc("a"), doc("b")],
                allow_update: true,
            }),
            Command::Chat(ChatCommand::AddMessage {
                key: "u1".into(),
                message: ChatMessage::new(MessageRole::User, "hi"),
                idx: None,
            }),
            Command::Vector(VectorCommand::CreateNamespace {
                settings: VectorNamespace { name: "v".into(), dim: 3, distance: Distance::Cosine, partitions: 1 },
            }),
            Command::Vector(VectorCommand::Add {
                namespace: "v".into(),
                records: vec![vector("n1", [1.0, 0.0, 0.0]), vector("n2", [0.0, 1.0, 0.0])],
                order: vec![],
            }),
            Command::Graph(GraphCommand::UpsertNodes {
                graph: "g".into(),
                nodes: vec![alice, LabelledNode::chunk("c1", "text")],
                order: vec![],
            }),
            Command::Graph(GraphCommand::UpsertRelations {
                graph: "g".into(),
                outgoing: vec![rel.clone()],
                incoming: vec![rel],
                create: vec![("bob".into(), 0)],
            }),
            Command::Graph(GraphCommand::UpsertTriplets {
                graph: "t".into(),
                triplets: vec![("s".into(), "r".into(), "o".into())],
                order: vec![],
            }),
        ]
    }

    #[test]
    fn a_shard_restored_from_the_records_of_its_image_equals_it_record_for_record() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = sled::Config::new().path(dir.path()).open().expect("open");
        let source = Shard::open(&db, "source").expect("shard");
        for cmd in writes() {
            source.apply(&cmd).unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
        }
        let mut bytes = Vec::new();
        let (written, _) = source.export_to(b"#none", &mut bytes).expect("export");
        assert_eq!(written.bytes, bytes.len() as u64);

        // Every record the layout keeps, in one Records command; the positions in Finish.
        let mut part = ImageWriter::new(Vec::new());
        let mut next_seq = 0;
        let mut reader = ImageReader::new(bytes.as_slice());
        let mut kinds = std::collections::BTreeSet::new();
        while let Some((k, v)) = reader.next_record().expect("record") {
            match place(&k, &v).expect("placed") {
                Place::Drop => {}
                Place::NextSeq(n) => next_seq = next_seq.max(n),
                p => {
                    kinds.insert(format!("{p:?}").split(['(', ' ']).next().unwrap_or_default().to_string());
                    part.push(&k, &v).expect("push");
                }
            }
        }
        assert_eq!(kinds.len(), 5, "KV, vector settings and records, graph settings and records: {kinds:?}");
        let image = part.finish().expect("finish").1;
        let target = Shard::open(&db, "target").expect("shard");
        target.apply(&Command::Restore(RestoreCommand::Records { group: 1, image })).expect("records");
        target.apply(&Command::Restore(RestoreCommand::Finish { group: 1, next_seq })).expect("finish");
        let (want, records, _) = source.digest(b"#none").expect("digest");
        let (got, got_records, _) = target.digest(b"#none").expect("digest");
        assert_eq!((got, got_records), (want, records), "the same records, derived ones recomputed");
        let query = strata_api::Query::Graph(strata_api::GraphQuery::Schema { graph: "g".into() });
        assert_eq!(target.query(&query).expect("schema"), source.query(&query).expect("schema"));
    }

    #[test]
    fn a_restore_refuses_replication_and_derived_records() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = sled::Config::new().path(dir.path()).open().expect("open");
        let shard = Shard::open(&db, "s").expect("shard");
        for key in [b"#raft/applied".as_slice(), b"#next_seq", b"#count/x"] {
            let mut part = ImageWriter::new(Vec::new());
            part.push(key, &[0; 8]).expect("push");
            let image = part.finish().expect("finish").1;
            let e = shard.apply(&Command::Restore(RestoreCommand::Records { group: 1, image })).expect_err("refused");
            assert!(e.to_string().contains("recomputes"), "{e}");
        }
        assert!(shard.get_meta(b"#raft/applied").expect("meta").is_none(), "nothing written");
    }
}
