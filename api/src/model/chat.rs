//! Chat messages as LlamaIndex's `ChatMessage` serialises them.

use crate::error::Error;
use serde_json::{Map, Value};

/// `MessageRole`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MessageRole {
    /// `system`
    System,
    /// `developer`
    Developer,
    /// `user`
    User,
    /// `assistant`
    Assistant,
    /// `function`
    Function,
    /// `tool`
    Tool,
    /// `chatbot`
    Chatbot,
    /// `model`
    Model,
}

impl MessageRole {
    /// The JSON value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::System => "system",
            Self::Developer => "developer",
            Self::User => "user",
            Self::Assistant => "assistant",
            Self::Function => "function",
            Self::Tool => "tool",
            Self::Chatbot => "chatbot",
            Self::Model => "model",
        }
    }

    /// Parses a JSON value.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "system" => Self::System,
            "developer" => Self::Developer,
            "user" => Self::User,
            "assistant" => Self::Assistant,
            "function" => Self::Function,
            "tool" => Self::Tool,
            "chatbot" => Self::Chatbot,
            "model" => Self::Model,
            _ => return None,
        })
    }
}

/// One content block; text blocks are typed, the others (image, audio, tool_call, ...) are
/// kept as the JSON objects LlamaIndex wrote.
#[derive(Clone, Debug, PartialEq)]
pub enum ContentBlock {
    /// `{"block_type": "text", "text": ...}`
    Text(String),
    /// Any other block, verbatim (it has a `block_type`).
    Other(Map<String, Value>),
}

/// `ChatMessage`: role, content blocks and additional kwargs.
#[derive(Clone, Debug, PartialEq)]
pub struct ChatMessage {
    /// Who spoke.
    pub role: MessageRole,
    /// Extra provider fields (tool call ids, ...).
    pub additional_kwargs: Map<String, Value>,
    /// The content.
    pub blocks: Vec<ContentBlock>,
}

impl ChatMessage {
    /// A message with one text block.
    pub fn new(role: MessageRole, content: impl Into<String>) -> Self {
        Self { role, additional_kwargs: Map::new(), blocks: vec![ContentBlock::Text(content.into())] }
    }

    /// `content`: the text blocks joined by newlines, `None` without text blocks.
    pub fn content(&self) -> Option<String> {
        let texts: Vec<&str> = self
            .blocks
            .iter()
            .filter_map(|b| match b {
                ContentBlock::Text(t) => Some(t.as_str()),
                ContentBlock::Other(_) => None,
            })
            .collect();
        if texts.is_empty() { None } else { Some(texts.join("\n")) }
    }

    /// The JSON form LlamaIndex writes (`role`, `additional_kwargs`, `blocks`).
    pub fn to_json(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("role".into(), self.role.as_str().into());
        m.insert("additional_kwargs".into(), Value::Object(self.additional_kwargs.clone()));
        let blocks = self
            .blocks
            .iter()
            .map(|b| match b {
                ContentBlock::Text(t) => {
                    let mut bm = Map::new();
                    bm.insert("block_type".into(), "text".into());
                    bm.insert("text".into(), t.clone().into());
                    Value::Object(bm)
                }
                ContentBlock::Other(o) => Value::Object(o.clone()),
            })
            .collect();
        m.insert("blocks".into(), Value::Array(blocks));
        m
    }

    /// Reads LlamaIndex's JSON; `content` (a string) is accepted in place of `blocks`.
    pub fn from_json(m: &Map<String, Value>) -> Result<Self, Error> {
        let role = match m.get("role") {
            None => MessageRole::User,
            Some(Value::String(s)) => {
                MessageRole::parse(s).ok_or_else(|| Error::InvalidInput(format!("unknown chat role {s:?}")))?
            }
            Some(other) => return Err(Error::InvalidInput(format!("chat role must be a string, got {other}"))),
        };
        let additional_kwargs = match m.get("additional_kwargs") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(k)) => k.clone(),
            Some(_) => return Err(Error::InvalidInput("additional_kwargs must be an object".into())),
        };
        let mut blocks = Vec::new();
        match m.get("blocks") {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                for item in items {
                    let Value::Object(b) = item else {
                        return Err(Error::InvalidInput("a content block must be an object".into()));
                    };
                    match b.get("block_type").and_then(Value::as_str) {
                        Some("text") => {
                            let text = b.get("text").and_then(Value::as_str).unwrap_or_default();
                            blocks.push(ContentBlock::Text(text.to_string()));
                        }
                        Some(_) => blocks.push(ContentBlock::Other(b.clone())),
                        None => return Err(Error::InvalidInput("a content block needs a block_type".into())),
                    }
                }
            }
            Some(_) => return Err(Error::InvalidInput("blocks must be a list".into())),
        }
        match m.get("content") {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) => {
                if blocks.is_empty() {
                    blocks.push(ContentBlock::Text(s.clone()));
                }
            }
            Some(_) => return Err(Error::InvalidInput("content must be a string".into())),
        }
        Ok(Self { role, additional_kwargs, blocks })
    }
}

impl serde::Serialize for ChatMessage {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for ChatMessage {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = Map::<String, Value>::deserialize(d)?;
        ChatMessage::from_json(&map).map_err(serde::de::Error::custom)
    }
}
