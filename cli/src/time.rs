//! A moment given on the command line: a day (`2026-11-01`, its midnight UTC) or an RFC 3339
//! time.

use chrono::{DateTime, NaiveDate, Utc};

/// A parsed `--from` or `--to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Moment(pub DateTime<Utc>);

impl Moment {
    /// As the API takes times.
    pub fn to_rfc3339(self) -> String {
        self.0.to_rfc3339()
    }
}

impl std::str::FromStr for Moment {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if let Ok(time) = DateTime::parse_from_rfc3339(text) {
            return Ok(Moment(time.with_timezone(&Utc)));
        }
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .and_then(|day| day.and_hms_opt(0, 0, 0))
            .map(|midnight| Moment(midnight.and_utc()))
            .ok_or_else(|| format!("{text:?} is neither a day (2026-11-01) nor an RFC 3339 time"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_is_its_midnight_and_a_time_is_itself() {
        let day: Moment = "2026-11-01".parse().expect("day");
        assert_eq!(day.to_rfc3339(), "2026-11-01T00:00:00+00:00");
        let time: Moment = "2026-11-01T10:00:00+02:00".parse().expect("time");
        assert_eq!(time.to_rfc3339(), "2026-11-01T08:00:00+00:00");
        assert!("yesterday".parse::<Moment>().is_err());
    }
}
