//! `StrataGraphStore`: LlamaIndex's triplet `GraphStore` (`SimpleGraphStore`'s methods).

use super::{Args, done, unknown_op};
use serde_json::{Map, Value};
use strata_client::{Result, StorageContext};

fn pairs(list: &[(String, String)]) -> Value {
    Value::Array(list.iter().map(|(r, o)| Value::from(vec![r.clone(), o.clone()])).collect())
}

pub async fn run(ctx: &StorageContext, op: &str, args: &Args) -> Result<Value> {
    let store = ctx.graph_store_in(&args.or("graph", strata_api::DEFAULT_GRAPH.to_string())?);
    let triplet =
        || -> Result<(String, String, String)> { Ok((args.req("subj")?, args.req("rel")?, args.req("obj")?)) };
    Ok(match op {
        "get" => pairs(&store.get(&args.req::<String>("subj")?).await?),
        "get_rel_map" => {
            let subjs: Option<Vec<String>> = args.opt("subjs")?;
            let map = store.get_rel_map(subjs.as_deref(), args.or("depth", 2)?, args.or("limit", 30)?).await?;
            let mut out = Map::new();
            for (subj, paths) in map {
                out.insert(subj, Value::Array(paths.iter().map(|p| Value::from(p.to_vec())).collect()));
            }
            Value::Object(out)
        }
        "upsert_triplet" => {
            let (s, r, o) = triplet()?;
            store.upsert_triplet(&s, &r, &o).await?;
            done()
        }
        "delete" => {
            let (s, r, o) = triplet()?;
            store.delete(&s, &r, &o).await?;
            done()
        }
        "graph_dict" => {
            Value::Object(store.graph_dict().await?.iter().map(|(subj, list)| (subj.clone(), pairs(list))).collect())
        }
        "get_schema" => Value::String(store.get_schema().await?),
        "query" => store.query(&args.or("query", String::new())?).await?,
        _ => return Err(unknown_op("graph", op)),
    })
}
