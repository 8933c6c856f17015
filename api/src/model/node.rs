//! LlamaIndex's node family: `TextNode`, `ImageNode`, `IndexNode`, `Document`
//! (and `ImageDocument`) and the multimodal `Node`, with their relationships.

use serde_json::{Map, Value};

/// A node's metadata: an arbitrary JSON object whose key order is kept (it changes hashes).
pub type Metadata = Map<String, Value>;

/// LlamaIndex's default `metadata_template`.
pub const DEFAULT_METADATA_TEMPLATE: &str = "{key}: {value}";
/// LlamaIndex's default `text_template`.
pub const DEFAULT_TEXT_TEMPLATE: &str = "{metadata_str}\n\n{content}";
/// LlamaIndex's default `metadata_separator`.
pub const DEFAULT_METADATA_SEPARATOR: &str = "\n";

/// `NodeRelationship`: how a node relates to another (JSON keys `"1"`..`"5"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NodeRelationship {
    /// `"1"`: the document this node was parsed from.
    Source,
    /// `"2"`: the previous node of the same document.
    Previous,
    /// `"3"`: the next node of the same document.
    Next,
    /// `"4"`: the parent node.
    Parent,
    /// `"5"`: child nodes (the one relationship that may hold a list).
    Child,
}

impl NodeRelationship {
    /// The value LlamaIndex writes in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Source => "1",
            Self::Previous => "2",
            Self::Next => "3",
            Self::Parent => "4",
            Self::Child => "5",
        }
    }

    /// Parses a JSON key; `None` for anything LlamaIndex would reject.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "1" => Self::Source,
            "2" => Self::Previous,
            "3" => Self::Next,
            "4" => Self::Parent,
            "5" => Self::Child,
            _ => return None,
        })
    }
}

/// `ObjectType`: the `__type__` tag of a stored node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ObjectType {
    /// `"1"`: TextNode.
    Text,
    /// `"2"`: ImageNode.
    Image,
    /// `"3"`: IndexNode.
    Index,
    /// `"4"`: Document or ImageDocument.
    Document,
    /// `"5"`: multimodal Node.
    Multimodal,
}

impl ObjectType {
    /// The tag LlamaIndex writes.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "1",
            Self::Image => "2",
            Self::Index => "3",
            Self::Document => "4",
            Self::Multimodal => "5",
        }
    }

    /// Parses a `__type__` tag.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "1" => Self::Text,
            "2" => Self::Image,
            "3" => Self::Index,
            "4" => Self::Document,
            "5" => Self::Multimodal,
            _ => return None,
        })
    }
}

/// `RelatedNodeInfo`: a pointer to another node with a copy of its type, metadata and hash.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct RelatedNodeInfo {
    /// The related node's id.
    pub node_id: String,
    /// Its `ObjectType` value, or any string, or none.
    pub node_type: Option<String>,
    /// Its metadata at the time of linking.
    pub metadata: Metadata,
    /// Its hash at the time of linking.
    pub hash: Option<String>,
    /// Fields this version does not know, kept as they came.
    pub extra: Metadata,
}

impl RelatedNodeInfo {
    /// A bare link to `node_id`.
    pub fn new(node_id: impl Into<String>) -> Self {
        Self { node_id: node_id.into(), ..Self::default() }
    }
}

/// The value of one relationship: one node, or (for children) a list of them.
#[derive(Clone, Debug, PartialEq)]
pub enum Related {
    /// A single related node.
    One(RelatedNodeInfo),
    /// Several related nodes.
    Many(Vec<RelatedNodeInfo>),
}

/// `MediaResource`: text, image, audio or video content of a `Document`/`Node`.
/// (`data` is never serialised by LlamaIndex, so it is not kept.)
#[derive(Clone, Debug, PartialEq, Default)]
pub struct MediaResource {
    /// Multi-vector embeddings of the resource.
    pub embeddings: Option<Value>,
    /// Text representation.
    pub text: Option<String>,
    /// Filesystem path.
    pub path: Option<String>,
    /// URL.
    pub url: Option<String>,
    /// MIME type.
    pub mimetype: Option<String>,
    /// Fields this version does not know, kept as they came.
    pub extra: Metadata,
}

impl MediaResource {
    /// A text resource.
    pub fn text(text: impl Into<String>) -> Self {
        Self { text: Some(text.into()), ..Self::default() }
    }
}

/// The text fields shared by `TextNode`, `ImageNode` and `IndexNode`.
#[derive(Clone, Debug, PartialEq)]
pub struct TextFields {
    /// The node's text.
    pub text: String,
    /// MIME type of the text (`text/plain`).
    pub mimetype: String,
    /// Start offset in the source document.
    pub start_char_idx: Option<i64>,
    /// End offset in the source document.
    pub end_char_idx: Option<i64>,
    /// How text and metadata are combined (`{metadata_str}` / `{content}`).
    pub text_template: String,
}

impl TextFields {
    /// Text with LlamaIndex's defaults for the other fields.
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            mimetype: "text/plain".into(),
            start_char_idx: None,
            end_char_idx: None,
            text_template: DEFAULT_TEXT_TEMPLATE.into(),
        }
    }
}

/// `ImageNode`'s own fields.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ImageFields {
    /// Base64 image.
    pub image: Option<String>,
    /// Image path.
    pub image_path: Option<String>,
    /// Image URL.
    pub image_url: Option<String>,
    /// Image MIME type.
    pub image_mimetype: Option<String>,
    /// Embedding of the text, when both exist.
    pub text_embedding: Option<Vec<f64>>,
}

/// The resource fields of `Document` and the multimodal `Node`.
#[derive(Clone, Debug, PartialEq)]
pub struct MediaFields {
    /// Text content.
    pub text_resource: Option<MediaResource>,
    /// Image content.
    pub image_resource: Option<MediaResource>,
    /// Audio content.
    pub audio_resource: Option<MediaResource>,
    /// Video content.
    pub video_resource: Option<MediaResource>,
    /// How text and metadata are combined.
    pub text_template: String,
}

impl MediaFields {
    /// Only a text resource, other fields at LlamaIndex's defaults.
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            text_resource: Some(MediaResource::text(text)),
            image_resource: None,
            audio_resource: None,
            video_resource: None,
            text_template: DEFAULT_TEXT_TEMPLATE.into(),
        }
    }
}

/// What kind of node this is, with the fields only that kind has.
#[derive(Clone, Debug, PartialEq)]
pub enum NodeBody {
    /// `TextNode` (`__type__` "1").
    Text(TextFields),
    /// `ImageNode` (`__type__` "2").
    Image(TextFields, ImageFields),
    /// `IndexNode` (`__type__` "3"): a reference to another index or object.
    Index {
        /// Text fields.
        text: TextFields,
        /// Id of the referenced index.
        index_id: String,
        /// The referenced object as LlamaIndex serialised it (null, a node JSON, or a string).
        obj: Value,
    },
    /// `Document` or `ImageDocument` (`__type__` "4").
    Document {
        /// Resource fields.
        media: MediaFields,
        /// True for `ImageDocument`.
        image_document: bool,
    },
    /// The multimodal `Node` (`__type__` "5").
    Multimodal(MediaFields),
}

/// One LlamaIndex node of any kind, as stored in the document store.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// `id_`.
    pub id: String,
    /// The embedding, if the node carries one (the docstore normally does not).
    pub embedding: Option<Vec<f64>>,
    /// Arbitrary JSON metadata.
    pub metadata: Metadata,
    /// Metadata keys hidden from the embedding model.
    pub excluded_embed_metadata_keys: Vec<String>,
    /// Metadata keys hidden from the LLM.
    pub excluded_llm_metadata_keys: Vec<String>,
    /// Relationships in the order they were set.
    pub relationships: Vec<(NodeRelationship, Related)>,
    /// Format of one metadata entry.
    pub metadata_template: String,
    /// Separator between metadata entries.
    pub metadata_separator: String,
    /// Kind-specific fields.
    pub body: NodeBody,
    /// `__data__` fields this version does not know, kept as they came.
    pub extra: Metadata,
}

impl Node {
    fn with_body(id: impl Into<String>, body: NodeBody) -> Self {
        Self {
            id: id.into(),
            embedding: None,
            metadata: Metadata::new(),
            excluded_embed_metadata_keys: Vec::new(),
            excluded_llm_metadata_keys: Vec::new(),
            relationships: Vec::new(),
            metadata_template: DEFAULT_METADATA_TEMPLATE.into(),
            metadata_separator: DEFAULT_METADATA_SEPARATOR.into(),
            body,
            extra: Metadata::new(),
        }
    }

    /// A `TextNode`.
    pub fn text_node(id: impl Into<String>, text: impl Into<String>) -> Self {
        Self::with_body(id, NodeBody::Text(TextFields::new(text)))
    }

    /// A `Document` with a text resource.
    pub fn document(id: impl Into<String>, text: impl Into<String>) -> Self {
        Self::with_body(id, NodeBody::Document { media: MediaFields::text(text), image_document: false })
    }

    /// An `ImageNode`.
    pub fn image_node(id: impl Into<String>, text: impl Into<String>, image: ImageFields) -> Self {
        Self::with_body(id, NodeBody::Image(TextFields::new(text), image))
    }

    /// An `IndexNode` pointing at `index_id`.
    pub fn index_node(id: impl Into<String>, text: impl Into<String>, index_id: impl Into<String>) -> Self {
        Self::with_body(
            id,
            NodeBody::Index { text: TextFields::new(text), index_id: index_id.into(), obj: Value::Null },
        )
    }

    /// A multimodal `Node` with the given resources.
    pub fn multimodal(id: impl Into<String>, media: MediaFields) -> Self {
        Self::with_body(id, NodeBody::Multimodal(media))
    }

    /// Sets the metadata (builder style).
    pub fn with_metadata(mut self, metadata: Metadata) -> Self {
        self.metadata = metadata;
        self
    }

    /// Sets one relationship, replacing an earlier one of the same kind (builder style).
    pub fn with_relationship(mut self, rel: NodeRelationship, related: Related) -> Self {
        self.set_relationship(rel, related);
        self
    }

    /// Links this node to the document it came from (builder style).
    pub fn with_source(self, source: RelatedNodeInfo) -> Self {
        self.with_relationship(NodeRelationship::Source, Related::One(source))
    }

    /// Sets one relationship, keeping the position of an existing one of that kind.
    pub fn set_relationship(&mut self, rel: NodeRelationship, related: Related) {
        match self.relationships.iter_mut().find(|(r, _)| *r == rel) {
            Some(slot) => slot.1 = related,
            None => self.relationships.push((rel, related)),
        }
    }

    /// The relationship of the given kind, if set.
    pub fn relationship(&self, rel: NodeRelationship) -> Option<&Related> {
        self.relationships.iter().find(|(r, _)| *r == rel).map(|(_, v)| v)
    }

    /// `node_id`.
    pub fn node_id(&self) -> &str {
        &self.id
    }

    /// `source_node`: the SOURCE relationship when it is a single node.
    pub fn source_node(&self) -> Option<&RelatedNodeInfo> {
        match self.relationship(NodeRelationship::Source)? {
            Related::One(info) => Some(info),
            Related::Many(_) => None,
        }
    }

    /// `ref_doc_id`: the id of the source document, if any.
    pub fn ref_doc_id(&self) -> Option<&str> {
        self.source_node().map(|s| s.node_id.as_str())
    }

    /// The node's `ObjectType` (its docstore `__type__`).
    pub fn object_type(&self) -> ObjectType {
        match &self.body {
            NodeBody::Text(_) => ObjectType::Text,
            NodeBody::Image(..) => ObjectType::Image,
            NodeBody::Index { .. } => ObjectType::Index,
            NodeBody::Document { .. } => ObjectType::Document,
            NodeBody::Multimodal(_) => ObjectType::Multimodal,
        }
    }

    /// LlamaIndex's `class_name()`.
    pub fn class_name(&self) -> &'static str {
        match &self.body {
            NodeBody::Text(_) => "TextNode",
            NodeBody::Image(..) => "ImageNode",
            NodeBody::Index { .. } => "IndexNode",
            NodeBody::Document { image_document: false, .. } => "Document",
            NodeBody::Document { image_document: true, .. } => "ImageDocument",
            NodeBody::Multimodal(_) => "Node",
        }
    }

    /// The text content (`get_content(MetadataMode.NONE)`).
    pub fn text(&self) -> &str {
        match &self.body {
            NodeBody::Text(t) | NodeBody::Image(t, _) | NodeBody::Index { text: t, .. } => &t.text,
            NodeBody::Document { media, .. } | NodeBody::Multimodal(media) => {
                media.text_resource.as_ref().and_then(|r| r.text.as_deref()).unwrap_or("")
            }
        }
    }

    /// `as_related_node_info()`: a link to this node carrying its type, metadata and hash.
    pub fn as_related_node_info(&self) -> RelatedNodeInfo {
        RelatedNodeInfo {
            node_id: self.id.clone(),
            node_type: Some(self.object_type().as_str().to_string()),
            metadata: self.metadata.clone(),
            hash: Some(self.hash()),
            extra: Metadata::new(),
        }
    }
}
