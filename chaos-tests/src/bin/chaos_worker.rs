//! Helper process for the chaos tests.
//!
//! * `chaos_worker write DIR START`: runs workload steps from START on, printing `ack N`
//!   after step N is durable, until killed.
//! * `chaos_worker hold DIR`: opens DIR, prints `ready`, and keeps it open until stdin closes.

use std::io::{BufRead, Write};
use strata_client::StorageContext;

fn fail(msg: String) -> ! {
    eprintln!("chaos_worker: {msg}");
    std::process::exit(2)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let runtime = tokio::runtime::Runtime::new().unwrap_or_else(|e| fail(format!("runtime: {e}")));
    match args.get(1).map(String::as_str) {
        Some("write") => {
            let dir = args.get(2).unwrap_or_else(|| fail("write needs DIR".into()));
            let start: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(0);
            let ctx = StorageContext::open(dir).unwrap_or_else(|e| fail(format!("open: {e}")));
            runtime.block_on(async {
                let mut stdout = std::io::stdout();
                for i in start.. {
                    strata_chaos::workload::step(&ctx, i).await.unwrap_or_else(|e| fail(format!("step {i}: {e}")));
                    let _ = writeln!(stdout, "ack {i}");
                    let _ = stdout.flush();
                }
            });
        }
        Some("hold") => {
            let dir = args.get(2).unwrap_or_else(|| fail("hold needs DIR".into()));
            let _ctx = StorageContext::open(dir).unwrap_or_else(|e| fail(format!("open: {e}")));
            println!("ready");
            let _ = std::io::stdout().flush();
            for _ in std::io::stdin().lock().lines() {}
        }
        _ => fail("usage: chaos_worker write DIR START | hold DIR".into()),
    }
}
