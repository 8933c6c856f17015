//! `ChatStore`: LlamaIndex's `BaseChatStore` API.

use crate::backend::{Backend, unexpected};
use crate::error::Result;
use std::sync::Arc;
use strata_api::{ChatCommand, ChatMessage, ChatQuery, Command, Query, Response};

/// A handle on the chat store. Cheap to clone; safe to share between tasks.
#[derive(Clone)]
pub struct ChatStore {
    backend: Arc<Backend>,
}

impl ChatStore {
    pub(crate) fn new(backend: Arc<Backend>) -> Self {
        Self { backend }
    }

    async fn write(&self, cmd: ChatCommand) -> Result<Response> {
        self.backend.apply(Command::Chat(cmd)).await
    }

    /// `set_messages(key, messages)`: replaces the history.
    pub async fn set_messages(&self, key: &str, messages: &[ChatMessage]) -> Result<()> {
        self.write(ChatCommand::SetMessages { key: key.into(), messages: messages.to_vec() }).await?;
        Ok(())
    }

    /// `get_messages(key)`: the history, empty for an unknown key.
    pub async fn get_messages(&self, key: &str) -> Result<Vec<ChatMessage>> {
        match self.backend.query(Query::Chat(ChatQuery::GetMessages { key: key.into() })).await? {
            Response::Messages(m) => Ok(m.unwrap_or_default()),
            other => Err(unexpected("get_messages", &other)),
        }
    }

    /// `add_message(key, message, idx)`: appends, or inserts as Python's `list.insert`.
    pub async fn add_message(&self, key: &str, message: &ChatMessage, idx: Option<i64>) -> Result<()> {
        self.write(ChatCommand::AddMessage { key: key.into(), message: message.clone(), idx }).await?;
        Ok(())
    }

    /// `delete_messages(key)`: removes the key and answers its history (none if absent).
    pub async fn delete_messages(&self, key: &str) -> Result<Option<Vec<ChatMessage>>> {
        match self.write(ChatCommand::DeleteMessages { key: key.into() }).await? {
            Response::Messages(m) => Ok(m),
            other => Err(unexpected("delete_messages", &other)),
        }
    }

    /// `delete_message(key, idx)`: answers the removed message; none when the key is absent
    /// or `idx` is out of range (negative indexes count from the end).
    pub async fn delete_message(&self, key: &str, idx: i64) -> Result<Option<ChatMessage>> {
        match self.write(ChatCommand::DeleteMessage { key: key.into(), idx }).await? {
            Response::Message(m) => Ok(m),
            other => Err(unexpected("delete_message", &other)),
        }
    }

    /// `delete_last_message(key)`: none when the key is absent or its history empty.
    pub async fn delete_last_message(&self, key: &str) -> Result<Option<ChatMessage>> {
        match self.write(ChatCommand::DeleteLastMessage { key: key.into() }).await? {
            Response::Message(m) => Ok(m),
            other => Err(unexpected("delete_last_message", &other)),
        }
    }

    /// `get_keys()`: keys in insertion order (a key whose history was emptied stays).
    pub async fn get_keys(&self) -> Result<Vec<String>> {
        match self.backend.query(Query::Chat(ChatQuery::GetKeys)).await? {
            Response::Names(k) => Ok(k),
            other => Err(unexpected("get_keys", &other)),
        }
    }
}
