//! Folders and files only their owner can read: a node's data directory, a store's sled
//! folder, key and secret files.
//!
//! They hold every tenant's data, the node's identity and the cluster's secrets, and a
//! shared host has other users. A folder is made (or tightened, when it already exists
//! with a looser mode) 0700, so that nothing inside it is reachable by another user,
//! whatever mode sled or a library gives the files it creates there; secret files are
//! made 0600 as well, since they are also copied to other places. Other systems do the
//! same: PostgreSQL refuses a data directory others can read, OpenSSH a private key.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

/// The mode of a private folder.
pub const DIR_MODE: u32 = 0o700;
/// The mode of a private file.
pub const FILE_MODE: u32 = 0o600;

/// Creates `dir` (and its missing parents) with mode [`DIR_MODE`], or tightens it to that
/// mode when it exists with a looser one.
pub fn private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        builder.mode(DIR_MODE);
        builder.create(dir)?;
        let mode = std::fs::metadata(dir)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::info!(dir = %dir.display(), mode = format!("{mode:o}"), "made the folder private (0700)");
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(DIR_MODE))?;
        }
        Ok(())
    }
    #[cfg(not(unix))]
    builder.create(dir)
}

/// Opens `path` for writing with mode [`FILE_MODE`]: a new file only when `new`
/// (an existing one is an error), otherwise created or truncated, and tightened when it
/// existed with a looser mode (a temporary file a crash left behind, say).
pub fn private_file(path: &Path, new: bool) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true);
    if new {
        options.create_new(true);
    } else {
        options.create(true).truncate(true);
    }
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, FILE_MODE);
    let file = options.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // The mode above applies only to a file this call creates.
        if file.metadata()?.permissions().mode() & 0o077 != 0 {
            file.set_permissions(std::fs::Permissions::from_mode(FILE_MODE))?;
        }
    }
    Ok(file)
}

#[cfg(all(test, unix))]
mod tests {
    #![allow(clippy::expect_used)] // a test
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).expect("metadata").permissions().mode() & 0o777
    }

    #[test]
    fn a_new_folder_and_its_parents_are_private_and_an_open_one_is_tightened() {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = root.path().join("a/b");
        private_dir(&dir).expect("create");
        assert_eq!((mode(&dir), mode(&root.path().join("a"))), (0o700, 0o700));

        let open = root.path().join("open");
        std::fs::create_dir(&open).expect("create");
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        private_dir(&open).expect("tighten");
        assert_eq!(mode(&open), 0o700);
    }

    #[test]
    fn private_files_are_0600_and_new_ones_are_never_overwritten() {
        let root = tempfile::tempdir().expect("tempdir");
        let path = root.path().join("secret");
        std::io::Write::write_all(&mut private_file(&path, true).expect("new"), b"one").expect("write");
        assert_eq!(mode(&path), 0o600);
        assert!(private_file(&path, true).is_err(), "an existing file is not overwritten");
        std::io::Write::write_all(&mut private_file(&path, false).expect("truncate"), b"2").expect("write");
        assert_eq!(std::fs::read(&path).expect("read"), b"2");
    }

    #[test]
    fn an_existing_looser_file_is_tightened_when_rewritten() {
        let root = tempfile::tempdir().expect("tempdir");
        let path = root.path().join("node.json.tmp");
        std::fs::write(&path, b"left by a crash").expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        std::io::Write::write_all(&mut private_file(&path, false).expect("truncate"), b"new").expect("write");
        assert_eq!(mode(&path), 0o600);
        assert_eq!(std::fs::read(&path).expect("read"), b"new");
    }
}
