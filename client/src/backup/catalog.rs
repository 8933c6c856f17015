//! Backups kept side by side under one location (a directory, or an S3 prefix), one per
//! name: what scheduled backups list, read the newest of, and prune. Names are UTC
//! timestamps (`20261207T153000Z`), so their order is their age.

use super::manifest::{MANIFEST, Manifest};
use super::remote::{Location, Remote};
use crate::error::Result;

/// The name of a backup started at `ms` (since the Unix epoch): `YYYYMMDDTHHMMSSZ`.
pub fn name_at(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// The complete backups (those with a manifest) under `location`, oldest first.
pub async fn list(location: &Location) -> Result<Vec<String>> {
    match location {
        Location::Dir(dir) => {
            let Ok(entries) = std::fs::read_dir(dir) else { return Ok(Vec::new()) };
            let mut names: Vec<String> = entries
                .flatten()
                .filter(|e| e.path().join(MANIFEST).is_file())
                .filter_map(|e| e.file_name().to_str().map(str::to_string))
                .collect();
            names.sort();
            Ok(names)
        }
        Location::S3 { bucket, prefix } => {
            let remote = Remote::new(bucket, prefix)?;
            let mut complete = Vec::new();
            for name in remote.children().await? {
                if remote.child(&name).manifest().await?.is_some() {
                    complete.push(name);
                }
            }
            Ok(complete)
        }
    }
}

/// The manifest of backup `name` under `location`.
pub async fn manifest(location: &Location, name: &str) -> Result<Option<Manifest>> {
    match location {
        Location::Dir(dir) => match std::fs::read(dir.join(name).join(MANIFEST)) {
            Ok(text) => Manifest::parse(&text, &dir.join(name).join(MANIFEST)).map(Some),
            Err(_) => Ok(None),
        },
        Location::S3 { bucket, prefix } => Remote::new(bucket, prefix)?.child(name).manifest().await,
    }
}

/// Deletes backup `name` under `location`.
pub async fn delete(location: &Location, name: &str) -> Result<()> {
    match location {
        Location::Dir(dir) => {
            let path = dir.join(name);
            std::fs::remove_dir_all(&path).map_err(super::io_err(&path))
        }
        Location::S3 { bucket, prefix } => Remote::new(bucket, prefix)?.child(name).delete_all().await,
    }
}

/// The location of backup `name` under `location`.
pub fn child(location: &Location, name: &str) -> Location {
    match location {
        Location::Dir(dir) => Location::Dir(dir.join(name)),
        Location::S3 { bucket, prefix } => Location::S3 {
            bucket: bucket.clone(),
            prefix: if prefix.is_empty() { name.to_string() } else { format!("{prefix}/{name}") },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_utc_timestamps_that_sort_by_age() {
        assert_eq!(name_at(0), "19700101T000000Z");
        assert_eq!(name_at(1_796_830_230_000), "20261209T153030Z");
        assert_eq!(name_at(951_782_400_000), "20000229T000000Z");
        assert!(name_at(1_796_830_230_000) < name_at(1_796_830_231_000));
    }
}
