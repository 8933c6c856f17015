//! `StrataChatStore`: LlamaIndex's `BaseChatStore` methods; messages as
//! `ChatMessage.model_dump()`.

use super::{Args, done, unknown_op};
use serde_json::Value;
use strata_api::ChatMessage;
use strata_client::{Result, StorageContext};

fn list(messages: &[ChatMessage]) -> Value {
    Value::Array(messages.iter().map(|m| Value::Object(m.to_json())).collect())
}

pub async fn run(ctx: &StorageContext, op: &str, args: &Args) -> Result<Value> {
    let chat = ctx.chat_store();
    if op == "get_keys" {
        return Ok(Value::from(chat.get_keys().await?));
    }
    let key: String = args.req("key")?;
    Ok(match op {
        "set_messages" => {
            chat.set_messages(&key, &args.req::<Vec<ChatMessage>>("messages")?).await?;
            done()
        }
        "get_messages" => list(&chat.get_messages(&key).await?),
        "add_message" => {
            chat.add_message(&key, &args.req::<ChatMessage>("message")?, args.opt("idx")?).await?;
            done()
        }
        "delete_messages" => chat.delete_messages(&key).await?.map_or(Value::Null, |m| list(&m)),
        "delete_message" => {
            chat.delete_message(&key, args.req("idx")?).await?.map_or(Value::Null, |m| Value::Object(m.to_json()))
        }
        "delete_last_message" => {
            chat.delete_last_message(&key).await?.map_or(Value::Null, |m| Value::Object(m.to_json()))
        }
        _ => return Err(unknown_op("chat", op)),
    })
}
