//! Wall-clock time as the nodes report it to people (leader changes, `/cluster`, probes):
//! milliseconds since the Unix epoch, 0 for a clock set before 1970.

/// Milliseconds since the Unix epoch now.
pub fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
