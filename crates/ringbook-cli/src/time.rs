//! Instants written for people. The server and the client store keep Unix milliseconds; every
//! command writes them through these functions, all with chrono. An instant chrono cannot hold
//! (beyond ±262,000 years) is written as its number of milliseconds, or left out in the chat's
//! short forms.

use chrono::{DateTime, Local, TimeZone, Utc};
use std::fmt::Display;

const DATE_TIME: &str = "%Y-%m-%d %H:%M:%S";

/// `2024-02-29 23:59:59` in UTC (message history, the inbox, blocked numbers).
pub fn utc(ms: i64) -> String {
    written(ms, &Utc, DATE_TIME)
}

/// `2024-02-29 23:59:59 UTC` (when a profile changed).
pub fn utc_named(ms: i64) -> String {
    written(ms, &Utc, "%Y-%m-%d %H:%M:%S UTC")
}

/// `2024-02-29 23:59:59Z` (the disclosure log).
pub fn utc_z(ms: i64) -> String {
    written(ms, &Utc, "%Y-%m-%d %H:%M:%SZ")
}

/// `2024-02-29 23:59:59` in this machine's time zone (contacts, official accounts, the chat
/// when piped).
pub fn local(ms: i64) -> String {
    written(ms, &Local, DATE_TIME)
}

fn written<Tz: TimeZone>(ms: i64, zone: &Tz, pattern: &str) -> String
where
    Tz::Offset: Display,
{
    DateTime::from_timestamp_millis(ms)
        .map(|t| t.with_timezone(zone).format(pattern).to_string())
        .unwrap_or_else(|| ms.to_string())
}

fn local_date_time(ms: i64) -> Option<DateTime<Local>> {
    DateTime::from_timestamp_millis(ms).map(|t| t.with_timezone(&Local))
}

/// Local hours and minutes.
pub fn hm(ms: i64) -> String {
    local_date_time(ms)
        .map(|t| t.format("%H:%M").to_string())
        .unwrap_or_default()
}

/// "Today", "Yesterday", else the date.
pub fn day_label(ms: i64, now: DateTime<Local>) -> String {
    let Some(t) = local_date_time(ms) else {
        return "?".into();
    };
    let days = (now.date_naive() - t.date_naive()).num_days();
    match days {
        0 => "Today".into(),
        1 => "Yesterday".into(),
        _ if t.format("%Y").to_string() == now.format("%Y").to_string() => {
            t.format("%a %-d %b").to_string()
        }
        _ => t.format("%a %-d %b %Y").to_string(),
    }
}

/// A time relative to today: "14:02", "yesterday 14:02", "Mon 3 Mar 14:02".
pub fn when_short(ms: i64, now: DateTime<Local>) -> String {
    match day_label(ms, now).as_str() {
        "Today" => hm(ms),
        "Yesterday" => format!("yesterday {}", hm(ms)),
        day => format!("{day} {}", hm(ms)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::FixedOffset;

    const EPOCH: i64 = 0;
    const BEFORE_EPOCH: i64 = -1;
    /// 2024-02-29 12:34:56.000 UTC, a leap day.
    const LEAP_DAY: i64 = 1_709_210_096_000;
    /// 2000-02-29 00:00:00.000 UTC, the leap day of a century year.
    const CENTURY_LEAP_DAY: i64 = 951_782_400_000;
    /// 2023-12-31 23:59:59.999 UTC, the last millisecond of a year.
    const BEFORE_MIDNIGHT: i64 = 1_704_067_199_999;
    /// 2024-02-29 23:59:59.999 UTC, the last millisecond of a leap day.
    const LEAP_DAY_BEFORE_MIDNIGHT: i64 = 1_709_251_199_999;
    /// 9999-12-31 23:59:59.999 UTC, the last instant with a four-digit year.
    const LAST_FOUR_DIGIT_YEAR: i64 = 253_402_300_799_999;

    /// The disclosure log's layout. The expected texts are what the hand-written civil-date
    /// code it replaces printed for the same instants.
    #[test]
    fn utc_z_writes_what_the_hand_written_formatter_did() {
        for (ms, text) in [
            (EPOCH, "1970-01-01 00:00:00Z"),
            (BEFORE_EPOCH, "1969-12-31 23:59:59Z"),
            (LEAP_DAY, "2024-02-29 12:34:56Z"),
            (CENTURY_LEAP_DAY, "2000-02-29 00:00:00Z"),
            (BEFORE_MIDNIGHT, "2023-12-31 23:59:59Z"),
            (LEAP_DAY_BEFORE_MIDNIGHT, "2024-02-29 23:59:59Z"),
            (LAST_FOUR_DIGIT_YEAR, "9999-12-31 23:59:59Z"),
        ] {
            assert_eq!(utc_z(ms), text, "{ms}");
        }
    }

    #[test]
    fn utc_writes_date_and_time_in_utc() {
        for (ms, text) in [
            (EPOCH, "1970-01-01 00:00:00"),
            (LEAP_DAY, "2024-02-29 12:34:56"),
            (BEFORE_MIDNIGHT, "2023-12-31 23:59:59"),
            (LEAP_DAY_BEFORE_MIDNIGHT, "2024-02-29 23:59:59"),
        ] {
            assert_eq!(utc(ms), text, "{ms}");
        }
    }

    #[test]
    fn utc_named_says_utc() {
        for (ms, text) in [
            (EPOCH, "1970-01-01 00:00:00 UTC"),
            (LEAP_DAY, "2024-02-29 12:34:56 UTC"),
            (BEFORE_MIDNIGHT, "2023-12-31 23:59:59 UTC"),
            (LEAP_DAY_BEFORE_MIDNIGHT, "2024-02-29 23:59:59 UTC"),
        ] {
            assert_eq!(utc_named(ms), text, "{ms}");
        }
    }

    /// `local` is `written` in the machine's zone; a fixed zone east and one west of UTC show
    /// the date moving with it (the test cannot choose the machine's zone).
    #[test]
    fn local_layout_follows_the_zone() {
        let beijing = FixedOffset::east_opt(8 * 3600).unwrap();
        let new_york = FixedOffset::west_opt(5 * 3600).unwrap();
        for (ms, zone, text) in [
            (LEAP_DAY_BEFORE_MIDNIGHT, beijing, "2024-03-01 07:59:59"),
            (BEFORE_MIDNIGHT, beijing, "2024-01-01 07:59:59"),
            (LEAP_DAY, new_york, "2024-02-29 07:34:56"),
            (CENTURY_LEAP_DAY, new_york, "2000-02-28 19:00:00"),
        ] {
            assert_eq!(written(ms, &zone, DATE_TIME), text, "{ms}");
        }
        let here = Local.timestamp_millis_opt(LEAP_DAY).unwrap();
        assert_eq!(local(LEAP_DAY), here.format(DATE_TIME).to_string());
    }

    #[test]
    fn an_instant_chrono_cannot_hold_is_written_as_its_number() {
        assert_eq!(utc(i64::MAX), i64::MAX.to_string());
        assert_eq!(utc_z(i64::MIN), i64::MIN.to_string());
        assert_eq!(hm(i64::MAX), "");
    }
}
