//! Money: exact decimal amounts of at most six decimal places that fit `NUMERIC(20,6)`.
//!
//! [`Money`] is any such amount (a balance may be negative); [`Amount`] is a strictly positive
//! one, the only kind a transfer may move. Both are parsed, never trusted: every bad form of input
//! has its own [`MoneyError`]. The one rounding rule of the platform, [`round_billing`], lives here.

use std::fmt;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// Decimal places kept by the ledger (`NUMERIC(20,6)`).
pub const SCALE: u32 = 6;

/// Digits before the decimal point that `NUMERIC(20,6)` can hold.
const INTEGER_DIGITS: u32 = 14;

/// Why a piece of text or a number is not acceptable money.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// Nothing (or only blanks) was given.
    #[error("amount is empty")]
    Empty,
    /// The text is not a plain decimal number such as `12.50`.
    #[error("amount {0:?} is not a decimal number")]
    NotANumber(String),
    /// More than six decimal places: the ledger would have to round, and it never does silently.
    #[error("amount {input:?} has {places} decimal places; at most 6 are allowed")]
    TooManyDecimalPlaces { input: String, places: u32 },
    /// Larger in magnitude than `NUMERIC(20,6)` holds (14 digits before the point).
    #[error("amount {0:?} is out of range: at most 14 digits before the decimal point")]
    OutOfRange(String),
    /// Below zero where only zero or more is allowed.
    #[error("amount {0:?} is negative")]
    Negative(String),
    /// Zero where a strictly positive amount is required (a transfer of nothing).
    #[error("amount must be greater than zero")]
    Zero,
}

/// An exact amount of money in some currency: scale at most 6, magnitude below 10^14.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Deserialize)]
#[serde(try_from = "Decimal")]
pub struct Money(Decimal);

impl Serialize for Money {
    /// A string with six decimal places, as stored: `"12.500000"`.
    #[inline]
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl Money {
    /// Zero.
    pub const ZERO: Money = Money(Decimal::ZERO);

    /// Parses text such as `"12.5"`, `"-3"` or `"0.000001"`. Exponents, thousands separators,
    /// currency signs and blanks inside are refused.
    #[inline]
    pub fn parse(input: &str) -> Result<Self, MoneyError> {
        let text = input.trim();
        if text.is_empty() {
            return Err(MoneyError::Empty);
        }
        if !is_plain_decimal(text) {
            return Err(MoneyError::NotANumber(input.to_owned()));
        }
        let places = text
            .split_once('.')
            .map_or(0, |(_, frac)| frac.len() as u32);
        if places > SCALE {
            // Trailing zeros are harmless ("1.50000000" is 1.5); anything else would need rounding.
            let trimmed = text.trim_end_matches('0');
            let significant = trimmed
                .split_once('.')
                .map_or(0, |(_, frac)| frac.len() as u32);
            if significant > SCALE {
                return Err(MoneyError::TooManyDecimalPlaces {
                    input: input.to_owned(),
                    places,
                });
            }
        }
        let int_digits = text
            .trim_start_matches(['-', '+'])
            .split('.')
            .next()
            .unwrap_or("")
            .trim_start_matches('0')
            .len() as u32;
        if int_digits > INTEGER_DIGITS {
            return Err(MoneyError::OutOfRange(input.to_owned()));
        }
        let value =
            Decimal::from_str(text).map_err(|_| MoneyError::NotANumber(input.to_owned()))?;
        Money::try_from(value)
    }

    /// Parses text that must be zero or more.
    #[inline]
    pub fn parse_non_negative(input: &str) -> Result<Self, MoneyError> {
        let money = Money::parse(input)?;
        if money.is_negative() {
            return Err(MoneyError::Negative(input.trim().to_owned()));
        }
        Ok(money)
    }

    /// The exact decimal value.
    #[inline]
    pub fn as_decimal(self) -> Decimal {
        self.0
    }

    /// The amount in millionths (the ledger's scale), or `None` beyond what an `i64` holds
    /// (about 9.2 trillion units).
    #[inline]
    pub fn to_micros(self) -> Option<i64> {
        let mut fixed = self.0;
        fixed.rescale(SCALE);
        i64::try_from(fixed.mantissa()).ok()
    }

    /// The amount of `micros` millionths; every `i64` is in the ledger's range.
    #[inline]
    pub fn from_micros(micros: i64) -> Money {
        Money(Decimal::new(micros, SCALE))
    }

    /// True below zero.
    #[inline]
    pub fn is_negative(self) -> bool {
        self.0.is_sign_negative() && !self.0.is_zero()
    }

    /// `self + other`, or `None` when the result leaves the ledger's range.
    #[inline]
    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0
            .checked_add(other.0)
            .and_then(|d| Money::try_from(d).ok())
    }

    /// `self - other`, or `None` when the result leaves the ledger's range.
    #[inline]
    pub fn checked_sub(self, other: Money) -> Option<Money> {
        self.0
            .checked_sub(other.0)
            .and_then(|d| Money::try_from(d).ok())
    }

    /// The negated amount (always in range, the range is symmetric).
    #[inline]
    pub fn negated(self) -> Money {
        Money(-self.0)
    }
}

impl TryFrom<Decimal> for Money {
    type Error = MoneyError;

    /// Accepts a decimal of at most six significant decimal places within range.
    #[inline]
    fn try_from(value: Decimal) -> Result<Self, MoneyError> {
        let normal = value.normalize();
        if normal.scale() > SCALE {
            return Err(MoneyError::TooManyDecimalPlaces {
                input: value.to_string(),
                places: normal.scale(),
            });
        }
        if normal.abs() >= max_magnitude() {
            return Err(MoneyError::OutOfRange(value.to_string()));
        }
        let mut fixed = normal;
        fixed.rescale(SCALE);
        Ok(Money(fixed))
    }
}

impl From<Money> for Decimal {
    #[inline]
    fn from(money: Money) -> Decimal {
        money.0
    }
}

impl FromStr for Money {
    type Err = MoneyError;
    #[inline]
    fn from_str(s: &str) -> Result<Self, MoneyError> {
        Money::parse(s)
    }
}

impl fmt::Display for Money {
    /// Always six decimal places, as stored: `12.500000`.
    #[inline]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut fixed = self.0;
        fixed.rescale(SCALE);
        write!(f, "{fixed}")
    }
}

/// A strictly positive amount: what a transfer moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "Decimal", into = "Money")]
pub struct Amount(Money);

impl From<Amount> for Money {
    #[inline]
    fn from(amount: Amount) -> Money {
        amount.0
    }
}

impl Amount {
    /// Parses text that must be a positive amount.
    #[inline]
    pub fn parse(input: &str) -> Result<Self, MoneyError> {
        let money = Money::parse(input)?;
        Amount::try_from(money).map_err(|e| match e {
            MoneyError::Negative(_) => MoneyError::Negative(input.trim().to_owned()),
            other => other,
        })
    }

    /// The amount as (positive) money.
    #[inline]
    pub fn money(self) -> Money {
        self.0
    }

    /// The exact decimal value.
    #[inline]
    pub fn as_decimal(self) -> Decimal {
        self.0.as_decimal()
    }
}

impl TryFrom<Money> for Amount {
    type Error = MoneyError;
    #[inline]
    fn try_from(money: Money) -> Result<Self, MoneyError> {
        if money.is_negative() {
            Err(MoneyError::Negative(money.to_string()))
        } else if money == Money::ZERO {
            Err(MoneyError::Zero)
        } else {
            Ok(Amount(money))
        }
    }
}

impl TryFrom<Decimal> for Amount {
    type Error = MoneyError;
    #[inline]
    fn try_from(value: Decimal) -> Result<Self, MoneyError> {
        Amount::try_from(Money::try_from(value)?)
    }
}

impl From<Amount> for Decimal {
    #[inline]
    fn from(amount: Amount) -> Decimal {
        amount.as_decimal()
    }
}

impl FromStr for Amount {
    type Err = MoneyError;
    #[inline]
    fn from_str(s: &str) -> Result<Self, MoneyError> {
        Amount::parse(s)
    }
}

impl fmt::Display for Amount {
    #[inline]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The platform's one rounding rule: a computed price (say a CPM divided by 1000) becomes money
/// once, at billing, rounded toward zero to six decimal places. A charge is never above the
/// price the advertiser agreed to: an impression at a CPM of 2.0005 costs 0.002000, not the
/// 0.002001 that rounding half-up would bill (the sub-micro remainder is the platform's loss).
#[inline]
pub fn round_billing(value: Decimal) -> Result<Money, MoneyError> {
    Money::try_from(value.round_dp_with_strategy(SCALE, RoundingStrategy::ToZero))
}

/// What one impression at `cpm_micros` per thousand costs, in micros: the CPM divided by 1000,
/// rounded down to the micro, exactly what [`round_billing`] bills for it. A lease that counts
/// this for an impression covers what the impression is billed; a CPM under 0.001 costs nothing
/// per impression and is never billed.
#[inline]
pub fn impression_micros_at_most(cpm_micros: i64) -> i64 {
    cpm_micros.max(0).div_euclid(1000)
}

fn max_magnitude() -> Decimal {
    Decimal::from_i128_with_scale(10_i128.pow(INTEGER_DIGITS), 0)
}

/// An optional sign, digits, and optionally a point followed by digits (at least one digit in all).
fn is_plain_decimal(text: &str) -> bool {
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (int, frac) = match body.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let has_digit = !int.is_empty() || frac.is_some_and(|f| !f.is_empty());
    has_digit && digits(int) && frac.is_none_or(digits)
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_impression_counts_exactly_what_billing_charges_for_it() {
        assert_eq!(impression_micros_at_most(9_000_000), 9_000);
        assert_eq!(impression_micros_at_most(1_234_567), 1_234);
        assert_eq!(impression_micros_at_most(2_000_500), 2_000);
        assert_eq!(impression_micros_at_most(1_234_999), 1_234);
        assert_eq!(impression_micros_at_most(999), 0);
        assert_eq!(impression_micros_at_most(0), 0);
        for cpm in (0..20_000).chain([i64::MAX / 2, i64::MAX]) {
            let billed = round_billing(Decimal::new(cpm, 6) / Decimal::from(1000))
                .expect("in range")
                .to_micros()
                .expect("micros");
            let most = impression_micros_at_most(cpm);
            assert_eq!(billed, most, "{cpm}");
            assert!(billed * 1000 <= cpm, "{cpm}: {billed} is above the bid");
        }
    }

    use super::*;
    use proptest::prelude::*;

    fn m(s: &str) -> Money {
        Money::parse(s).expect("valid money")
    }

    #[test]
    fn parses_plain_decimals() {
        assert_eq!(m("12.5").to_string(), "12.500000");
        assert_eq!(m("-3").to_string(), "-3.000000");
        assert_eq!(m("0.000001").to_string(), "0.000001");
        assert_eq!(m(" 7 ").to_string(), "7.000000");
        assert_eq!(m(".5").to_string(), "0.500000");
        assert_eq!(m("1.500000000").to_string(), "1.500000");
        assert_eq!(
            m("99999999999999.999999").to_string(),
            "99999999999999.999999"
        );
    }

    #[test]
    fn each_bad_form_has_its_own_error() {
        assert_eq!(Money::parse(""), Err(MoneyError::Empty));
        assert_eq!(Money::parse("   "), Err(MoneyError::Empty));
        for bad in [
            "abc", "1,5", "1e3", "$5", "1.2.3", "--1", "-", ".", "1 000", "NaN", "0x10",
        ] {
            assert_eq!(
                Money::parse(bad),
                Err(MoneyError::NotANumber(bad.to_owned())),
                "{bad}"
            );
        }
        assert_eq!(
            Money::parse("0.0000001"),
            Err(MoneyError::TooManyDecimalPlaces {
                input: "0.0000001".into(),
                places: 7
            })
        );
        assert_eq!(
            Money::parse("100000000000000"),
            Err(MoneyError::OutOfRange("100000000000000".into()))
        );
        assert_eq!(
            Money::parse_non_negative("-0.01"),
            Err(MoneyError::Negative("-0.01".into()))
        );
        assert_eq!(Amount::parse("-5"), Err(MoneyError::Negative("-5".into())));
        assert_eq!(Amount::parse("0.000"), Err(MoneyError::Zero));
        assert!(Amount::parse("0.000001").is_ok());
    }

    #[test]
    fn decimals_outside_the_ledger_are_refused() {
        let seven_places = Decimal::new(1, 7);
        assert!(matches!(
            Money::try_from(seven_places),
            Err(MoneyError::TooManyDecimalPlaces { places: 7, .. })
        ));
        let huge = Decimal::from_i128_with_scale(10_i128.pow(14), 0);
        assert!(matches!(
            Money::try_from(huge),
            Err(MoneyError::OutOfRange(_))
        ));
        assert!(m("99999999999999").checked_add(m("1")).is_none());
    }

    #[test]
    fn billing_rounds_toward_zero_once_so_never_above_the_price() {
        let r = |s: &str| round_billing(Decimal::from_str(s).expect("decimal")).expect("in range");
        // a CPM of 2.0005 split into one impression: 0.0020005 is billed 0.002000
        assert_eq!(r("0.0020005").to_string(), "0.002000");
        assert_eq!(r("0.0000009").to_string(), "0.000000");
        assert_eq!(r("-0.0000009").to_string(), "0.000000");
        // a 2.5 CPM split into one impression
        assert_eq!(r("0.0025").to_string(), "0.002500");
    }

    #[test]
    fn json_uses_strings_and_checks_range() {
        let json = serde_json::to_string(&m("1.25")).expect("serialize");
        assert_eq!(json, "\"1.250000\"");
        assert!(serde_json::from_str::<Money>("\"0.0000001\"").is_err());
        assert!(serde_json::from_str::<Amount>("\"0\"").is_err());
        assert_eq!(
            serde_json::from_str::<Amount>("\"2\"")
                .expect("amount")
                .to_string(),
            "2.000000"
        );
    }

    #[test]
    fn micros_are_the_ledger_scale() {
        assert_eq!(m("1.5").to_micros(), Some(1_500_000));
        assert_eq!(m("-0.000001").to_micros(), Some(-1));
        assert_eq!(Money::from_micros(2_500).to_string(), "0.002500");
        assert_eq!(m("99999999999999").to_micros(), None);
        assert_eq!(Money::from_micros(i64::MAX).to_micros(), Some(i64::MAX));
    }

    proptest! {
        #[test]
        fn display_round_trips(units in -99_999_999_999_999_999_999i128..99_999_999_999_999_999_999i128) {
            let money = Money::try_from(Decimal::from_i128_with_scale(units, 6)).expect("in range");
            prop_assert_eq!(Money::parse(&money.to_string()), Ok(money));
        }

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,30}") {
            let _ = Money::parse(&text);
        }

        #[test]
        fn add_then_sub_is_identity(a in -1_000_000_000_000i64..1_000_000_000_000, b in -1_000_000_000_000i64..1_000_000_000_000) {
            let a = Money::try_from(Decimal::new(a, 6)).expect("in range");
            let b = Money::try_from(Decimal::new(b, 6)).expect("in range");
            prop_assert_eq!(a.checked_add(b).and_then(|s| s.checked_sub(b)), Some(a));
        }
    }
}
