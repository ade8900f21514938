//! Prices at the edge. Inside servingd money is integer micros (millionths of a currency unit,
//! the ledger's scale); OpenRTB writes prices as JSON numbers. A number is read through its
//! shortest decimal text (`0.03` is 0.03, not 0.0299999...), so no binary fraction reaches a price.

use std::str::FromStr;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

/// Micros in one currency unit.
pub const MICROS: i64 = 1_000_000;

/// One cent, the price step of the auction.
pub const CENT_MICROS: i64 = 10_000;

/// The micros of a price written as a JSON number, rounded up to a whole micro (a floor read
/// low would let a bid under it through); `None` for a negative, infinite or too large number.
pub fn micros_rounded_up(price: f64) -> Option<i64> {
    if !price.is_finite() || price < 0.0 {
        return None;
    }
    let exact = Decimal::from_str(&price.to_string()).ok()?;
    (exact * Decimal::from(MICROS)).ceil().to_i64()
}

/// A price in micros as the JSON number OpenRTB expects (at most 6 decimals, exact in text).
pub fn price_number(micros: i64) -> f64 {
    Decimal::new(micros, 6).to_f64().unwrap_or(0.0)
}

/// Converts `micros` with a rate (units of the target per unit of the source, in micros of
/// rate), rounding up: used for floors, which must not shrink in conversion.
pub fn convert_up(micros: i64, rate_micros: i64) -> i64 {
    let product = i128::from(micros) * i128::from(rate_micros);
    let m = i128::from(MICROS);
    i64::try_from((product + m - 1).div_euclid(m)).unwrap_or(i64::MAX)
}

/// Converts `micros` with a rate, rounding down: used for bids, which must not grow.
pub fn convert_down(micros: i64, rate_micros: i64) -> i64 {
    let product = i128::from(micros) * i128::from(rate_micros);
    i64::try_from(product.div_euclid(i128::from(MICROS))).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_numbers_become_exact_micros() {
        assert_eq!(micros_rounded_up(0.03), Some(30_000));
        assert_eq!(micros_rounded_up(9.43), Some(9_430_000));
        assert_eq!(micros_rounded_up(0.1 + 0.2), Some(300_001)); // 0.30000000000000004
        assert_eq!(micros_rounded_up(2.5), Some(2_500_000));
        assert_eq!(micros_rounded_up(0.0000001), Some(1));
        assert_eq!(micros_rounded_up(-1.0), None);
        assert_eq!(micros_rounded_up(f64::NAN), None);
        assert_eq!(micros_rounded_up(f64::INFINITY), None);
        assert_eq!(micros_rounded_up(1e300), None);
    }

    #[test]
    fn prices_print_as_written() {
        assert_eq!(price_number(2_510_000).to_string(), "2.51");
        assert_eq!(price_number(30_000).to_string(), "0.03");
        assert_eq!(price_number(1).to_string(), "0.000001");
    }

    #[test]
    fn conversions_round_the_safe_way() {
        // 1 EUR = 1.08 USD
        assert_eq!(convert_up(1_000_001, 1_080_000), 1_080_002);
        assert_eq!(convert_down(1_000_001, 1_080_000), 1_080_001);
        assert_eq!(convert_up(2_000_000, 1_000_000), 2_000_000);
    }
}
