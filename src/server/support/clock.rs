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

/// A time as a program writes it: milliseconds since the Unix epoch, or RFC 3339
/// (`2026-12-04T09:30:00Z`, `2026-12-04T10:30:00.5+01:00`); in milliseconds.
pub fn parse_millis(text: &str) -> Result<i64, String> {
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text
            .parse::<i64>()
            .map_err(|_| "that many milliseconds is past any date".to_string());
    }
    let at = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|_| "a time is RFC 3339 (2026-12-04T09:30:00Z) or milliseconds since 1970".to_string())?;
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).map_err(|_| "that time is out of range".to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn milliseconds_read_as_rfc_3339_with_three_digits() {
        assert_eq!(super::rfc3339_millis(1_796_378_400_000), "2026-12-04T10:00:00.000Z");
        assert_eq!(super::rfc3339_millis(1_796_378_400_120), "2026-12-04T10:00:00.120Z");
        assert_eq!(super::rfc3339_millis(i64::MAX), "");
    }

    #[test]
    fn a_program_writes_a_time_as_rfc_3339_or_milliseconds() {
        assert_eq!(super::parse_millis("1796378400120"), Ok(1_796_378_400_120));
        assert_eq!(super::parse_millis("2026-12-04T10:00:00.120Z"), Ok(1_796_378_400_120));
        assert_eq!(super::parse_millis("2026-12-04T11:00:00+01:00"), Ok(1_796_378_400_000));
        for bad in ["", "yesterday", "2026-12-04", "-5", "99999999999999999999"] {
            assert!(super::parse_millis(bad).is_err(), "{bad}");
        }
    }
}
