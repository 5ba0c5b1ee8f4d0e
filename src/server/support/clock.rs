//! The wall clock, read in one place. Core functions take `now` as a parameter, so tests decide
//! what time it is.

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|since| since.as_secs() as i64)
        .unwrap_or_default()
}

/// Milliseconds since the Unix epoch (issue timestamps).
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|since| since.as_millis() as i64)
        .unwrap_or_default()
}

/// Milliseconds since the Unix epoch as RFC 3339 in UTC (`2026-12-04T10:00:00.000Z`); empty
/// for a time out of range.
pub fn rfc3339_millis(ms: i64) -> String {
    const FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000);
    at.ok().and_then(|at| at.format(FORMAT).ok()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn milliseconds_read_as_rfc_3339_with_three_digits() {
        assert_eq!(super::rfc3339_millis(1_796_378_400_000), "2026-12-04T10:00:00.000Z");
        assert_eq!(super::rfc3339_millis(1_796_378_400_120), "2026-12-04T10:00:00.120Z");
        assert_eq!(super::rfc3339_millis(i64::MAX), "");
    }
}
