//! Records the commit the binary is built from (`strata_build_info`, `/status`):
//! `STRATA_COMMIT` when set (a build from a source archive), else `git rev-parse`.

fn main() {
    println!("cargo:rerun-if-env-changed=STRATA_COMMIT");
    let commit = std::env::var("STRATA_COMMIT").ok().filter(|c| !c.is_empty()).or_else(|| {
        let out = std::process::Command::new("git").args(["rev-parse", "--short=12", "HEAD"]).output().ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    });
    if let Some(commit) = commit.filter(|c| c.chars().all(|ch| ch.is_ascii_alphanumeric())) {
        println!("cargo:rustc-env=STRATA_COMMIT={commit}");
    }
    // A new commit changes HEAD (or the branch it names).
    for path in ["../.git/HEAD", "../.git/refs/heads"] {
        if std::path::Path::new(path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
}
