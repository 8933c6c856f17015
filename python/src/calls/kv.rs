//! `StrataKVStore`: `put`, `put_all`, `get`, `get_all`, `delete`.

use super::{Args, done, unknown_op};
use serde_json::{Map, Value};
use strata_client::{Result, StorageContext};

pub async fn run(ctx: &StorageContext, op: &str, args: &Args) -> Result<Value> {
    let kv = ctx.kv_store();
    let collection: String = args.req("collection")?;
    Ok(match op {
        "put" => {
            let val: Map<String, Value> = args.req("val")?;
            kv.put(&args.req::<String>("key")?, &val, &collection).await?;
            done()
        }
        "put_all" => {
            let pairs: Vec<(String, Map<String, Value>)> = args.req("pairs")?;
            kv.put_all(&pairs, &collection).await?;
            done()
        }
        "get" => kv.get(&args.req::<String>("key")?, &collection).await?.map_or(Value::Null, Value::Object),
        "get_all" => {
            Value::Object(kv.get_all(&collection).await?.into_iter().map(|(k, v)| (k, Value::Object(v))).collect())
        }
        "delete" => Value::Bool(kv.delete(&args.req::<String>("key")?, &collection).await?),
        _ => return Err(unknown_op("kv", op)),
    })
}
