//! The data model: LlamaIndex's nodes, ref-doc info, index structs and chat messages.

pub mod bin;
pub mod chat;
pub mod f32_bytes;
pub mod graph;
pub mod graph_json;
pub mod hash;
pub mod index_struct;
pub mod node;
pub mod node_json;
mod node_meta;
mod node_ser;
pub mod ref_doc;
pub mod vector;

pub use chat::{ChatMessage, ContentBlock, MessageRole};
pub use graph::*;
pub use index_struct::IndexStruct;
pub use node::*;
pub use ref_doc::RefDocInfo;
pub use vector::*;

#[cfg(test)]
mod tests;
