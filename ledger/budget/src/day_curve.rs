//! The shape of a day's traffic, pure: what share of a day's ad requests each hour of it
//! brings. Even pacing spends a campaign's day along it (servingd, from the curve it learns, a
//! typical diurnal one until then), and reports judge the pace against the same curve.
//! Shares are not money: floats are fine here.

/// Hours in a day.
pub const HOURS: usize = 24;

/// The share of a day's traffic in each hour of the campaign's local day.
#[derive(Debug, Clone, PartialEq)]
pub struct HourProfile {
    share: [f64; HOURS],
}

impl HourProfile {
    /// Each hour's share.
    pub fn shares(&self) -> [f64; HOURS] {
        self.share
    }

    /// A typical day of web traffic: low at night, rising through the morning, a plateau in the
    /// afternoon, the peak in the evening.
    pub fn diurnal() -> HourProfile {
        const WEIGHTS: [f64; HOURS] = [
            2.0, 1.4, 1.0, 0.8, 0.8, 1.0, 1.6, 2.6, 3.6, 4.2, 4.6, 4.8, //
            5.0, 5.0, 4.8, 4.8, 5.0, 5.4, 6.0, 6.6, 7.0, 6.4, 4.8, 3.2,
        ];
        HourProfile::from_weights(&WEIGHTS).unwrap_or_else(HourProfile::flat)
    }

    /// Every hour alike.
    pub fn flat() -> HourProfile {
        HourProfile {
            share: [1.0 / HOURS as f64; HOURS],
        }
    }

    /// Shares proportional to `weights`; `None` unless every weight is finite, none is negative
    /// and their sum is positive.
    pub fn from_weights(weights: &[f64; HOURS]) -> Option<HourProfile> {
        let total: f64 = weights.iter().sum();
        if !(total.is_finite() && total > 0.0) || weights.iter().any(|w| !w.is_finite() || *w < 0.0)
        {
            return None;
        }
        let mut share = [0.0; HOURS];
        for (s, w) in share.iter_mut().zip(weights) {
            *s = w / total;
        }
        Some(HourProfile { share })
    }

    /// The same day seen from a time zone `offset_hours` ahead (a UTC profile as seen from
    /// Paris in summer is shifted by 2: local hour 14 is UTC hour 12).
    pub fn shifted(&self, offset_hours: i32) -> HourProfile {
        let mut share = [0.0; HOURS];
        for (local, s) in share.iter_mut().enumerate() {
            let utc = (local as i32 - offset_hours).rem_euclid(HOURS as i32) as usize;
            *s = self.share[utc];
        }
        HourProfile { share }
    }

    /// The share of hour `h`.
    pub fn hour(&self, h: usize) -> f64 {
        self.share[h % HOURS]
    }

    /// The share of the day's traffic before `day_fraction` (0 at midnight, 1 at the next).
    pub fn before(&self, day_fraction: f64) -> f64 {
        let at = day_fraction.clamp(0.0, 1.0) * HOURS as f64;
        let whole = at.floor() as usize;
        let done: f64 = self.share[..whole.min(HOURS)].iter().sum();
        let partial = if whole < HOURS {
            self.share[whole] * (at - whole as f64)
        } else {
            0.0
        };
        (done + partial).min(1.0)
    }

    /// The share of the day's traffic between two moments of it.
    pub fn between(&self, from: f64, to: f64) -> f64 {
        (self.before(to) - self.before(from)).max(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_sum_to_one_and_accumulate() {
        let p = HourProfile::diurnal();
        assert!((p.before(1.0) - 1.0).abs() < 1e-12);
        assert_eq!(p.before(0.0), 0.0);
        let half_of_first_hour = p.hour(0) / 2.0;
        assert!((p.before(0.5 / 24.0) - half_of_first_hour).abs() < 1e-12);
        assert!(p.hour(20) > p.hour(4));
        assert!(HourProfile::from_weights(&[0.0; HOURS]).is_none());
        let mut bad = [1.0; HOURS];
        bad[3] = f64::NAN;
        assert!(HourProfile::from_weights(&bad).is_none());
    }

    #[test]
    fn a_shifted_profile_moves_the_hours() {
        let mut weights = [0.0; HOURS];
        weights[12] = 1.0;
        let utc = HourProfile::from_weights(&weights).expect("profile");
        assert_eq!(utc.shifted(2).hour(14), 1.0);
        assert_eq!(utc.shifted(-5).hour(7), 1.0);
        assert_eq!(utc.shifted(14).hour(2), 1.0);
    }
}
