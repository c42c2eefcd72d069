//! Wall-clock time as StreamHouse stores it: milliseconds since the Unix epoch.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch on this machine's clock (0 if the clock is before it).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Milliseconds since the Unix epoch as RFC 3339 in UTC, to the second, such as
/// `2027-01-01T00:00:00Z` (clamped to years 1970..=9999).
pub fn rfc3339(ms: i64) -> String {
    // 9999-12-31T23:59:59Z, the last second RFC 3339 can write.
    const LAST: u64 = 253_402_300_799;
    let secs = (ms.max(0) as u64 / 1000).min(LAST);
    humantime::format_rfc3339_seconds(UNIX_EPOCH + std::time::Duration::from_secs(secs)).to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_read_as_rfc3339() {
        assert_eq!(super::rfc3339(1_798_761_600_000), "2027-01-01T00:00:00Z");
        assert_eq!(super::rfc3339(-5), "1970-01-01T00:00:00Z");
        assert_eq!(super::rfc3339(i64::MAX), "9999-12-31T23:59:59Z");
    }
}
