//! Parsing of the Scala-style durations clients send as `waitreport?atMost=`.

use std::time::Duration;

/// A wait bound: a finite duration or no bound at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitBound {
    /// Wait at most this long.
    Finite(Duration),
    /// Wait until the job ends (`Inf`).
    Infinite,
}

/// The longest finite wait accepted: one day (a client wanting longer says `Inf`).
pub const MAX_WAIT: Duration = Duration::from_secs(24 * 60 * 60);

/// Parses `Inf`, `1minute`, `1 minute`, `5seconds`, `30s`, `100ms`, `2.5 hours`… A bare number
/// is milliseconds. Returns `None` for anything else, and for waits longer than [`MAX_WAIT`].
pub fn parse_wait_bound(text: &str) -> Option<WaitBound> {
    let text = text.trim();
    let lowered = text.to_ascii_lowercase();
    if matches!(
        lowered.as_str(),
        "inf" | "infinite" | "plusinf" | "duration.inf"
    ) {
        return Some(WaitBound::Infinite);
    }
    let split = lowered
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(lowered.len());
    let (number, unit) = lowered.split_at(split);
    let number: f64 = number.parse().ok()?;
    let seconds_per_unit = match unit.trim() {
        "" | "ms" | "milli" | "millis" | "millisecond" | "milliseconds" => 0.001,
        "s" | "sec" | "secs" | "second" | "seconds" => 1.0,
        "m" | "min" | "mins" | "minute" | "minutes" => 60.0,
        "h" | "hour" | "hours" => 3600.0,
        "d" | "day" | "days" => 86_400.0,
        _ => return None,
    };
    let seconds = number * seconds_per_unit;
    (seconds.is_finite() && (0.0..=MAX_WAIT.as_secs_f64()).contains(&seconds))
        .then(|| WaitBound::Finite(Duration::from_secs_f64(seconds)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_client_form_parses() {
        let minute = Some(WaitBound::Finite(Duration::from_secs(60)));
        assert_eq!(parse_wait_bound("1minute"), minute);
        assert_eq!(parse_wait_bound("1 minute"), minute);
        assert_eq!(
            parse_wait_bound("1 second"),
            Some(WaitBound::Finite(Duration::from_secs(1)))
        );
        assert_eq!(
            parse_wait_bound("5seconds"),
            Some(WaitBound::Finite(Duration::from_secs(5)))
        );
        assert_eq!(
            parse_wait_bound("30s"),
            Some(WaitBound::Finite(Duration::from_secs(30)))
        );
        assert_eq!(parse_wait_bound("Inf"), Some(WaitBound::Infinite));
        assert_eq!(
            parse_wait_bound("250"),
            Some(WaitBound::Finite(Duration::from_millis(250)))
        );
    }

    #[test]
    fn garbage_is_refused() {
        assert_eq!(parse_wait_bound("soon"), None);
        assert_eq!(parse_wait_bound("100000000000000000000s"), None);
        assert_eq!(parse_wait_bound("2days"), None);
        assert_eq!(parse_wait_bound("5 fortnights"), None);
        assert_eq!(parse_wait_bound(""), None);
    }
}
