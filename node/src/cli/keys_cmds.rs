//! `strata keys`: new API keys (the key once, for the client; its hash for the nodes),
//! cluster secrets (written 0600, never printed) and TLS certificates from a cluster CA.

use super::{CliError, KeysOp};
use crate::auth::{new_key, random_bytes};
use std::io::Write;
use strata_api::access::{Role, hash_key};

/// Runs a `keys` operation.
pub fn run(op: KeysOp) -> Result<(), CliError> {
    match op {
        KeysOp::New { name, role, prefixes } => {
            let role: Role = serde_json::from_value(serde_json::Value::String(role.clone()))
                .map_err(|_| CliError::Usage(format!("role {role:?}: use admin, read-write or read-only")))?;
            let key = new_key().map_err(|e| CliError::Usage(format!("randomness: {e}")))?;
            println!("# the key, for the client (--api-key or STRATA_API_KEY); it is not stored anywhere:");
            println!("# {key}");
            println!("# for every node's strata.toml:");
            println!("[[auth.api_keys]]");
            println!("name = {}", toml_string(&name));
            println!("hash = \"{}\"", hash_key(&key));
            println!("role = \"{}\"", role.name());
            let prefixes: Vec<String> = prefixes.iter().map(|p| toml_string(p)).collect();
            println!("prefixes = [{}]", prefixes.join(", "));
            Ok(())
        }
        KeysOp::Secret { file } => {
            let secret = hex_secret().map_err(|e| CliError::Usage(format!("randomness: {e}")))?;
            let mut f = strata_shards::private::private_file(&file, true)
                .map_err(|e| CliError::Usage(format!("{}: {e}", file.display())))?;
            writeln!(f, "{secret}").map_err(|e| CliError::Usage(format!("{}: {e}", file.display())))?;
            println!("wrote a cluster secret to {} (mode 0600); give every node the same file:", file.display());
            println!("[auth]\ncluster_secret_file = {}", toml_string(&file.display().to_string()));
            Ok(())
        }
        KeysOp::Tls { dir, name, hosts } => {
            let written = crate::tls::generate(&dir, &name, &hosts).map_err(CliError::Usage)?;
            let path = |p: &std::path::Path| toml_string(&p.display().to_string());
            println!(
                "# wrote {} and its key (mode 0600), signed by the CA in {}",
                written.cert.display(),
                dir.display()
            );
            println!("# for this node's strata.toml:");
            println!("[tls]");
            println!("cert_file = {}", path(&written.cert));
            println!("key_file = {}", path(&written.key));
            println!("ca_file = {}", path(&written.ca));
            println!("# clients: --ca-file {} (or STRATA_CA_FILE)", written.ca.display());
            Ok(())
        }
    }
}

fn hex_secret() -> std::io::Result<String> {
    Ok(hex::encode(random_bytes()?))
}

/// A TOML basic string.
fn toml_string(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}
