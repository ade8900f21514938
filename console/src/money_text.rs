//! Money as the pages write it: the API's exact decimal text, its trailing zeros trimmed to two
//! places, thousands grouped. String work only: the browser never does arithmetic on money.

/// `amount` (decimal text such as `-1500.250000`) as `-1,500.25`; text that is not a decimal
/// number is shown as it is.
pub fn grouped(amount: &str) -> String {
    let (sign, digits) = match amount.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", amount),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let decimal = !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit());
    if !decimal {
        return amount.to_owned();
    }
    let mut fraction = fraction.trim_end_matches('0').to_owned();
    while fraction.len() < 2 {
        fraction.push('0');
    }
    let mut groups = Vec::new();
    let mut rest = whole;
    while rest.len() > 3 {
        let (head, tail) = rest.split_at(rest.len() - 3);
        groups.push(tail);
        rest = head;
    }
    groups.push(rest);
    groups.reverse();
    format!("{sign}{}.{fraction}", groups.join(","))
}

/// `amount` with its currency: `1,500.25 EUR`.
pub fn with_currency(amount: &str, currency: &str) -> String {
    format!("{} {currency}", grouped(amount))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_trimmed_and_grouped_exactly() {
        assert_eq!(grouped("1500.250000"), "1,500.25");
        assert_eq!(grouped("-1234567.000000"), "-1,234,567.00");
        assert_eq!(grouped("0.000001"), "0.000001", "no cent is lost");
        assert_eq!(grouped("999"), "999.00");
        assert_eq!(grouped("100.5"), "100.50");
        assert_eq!(grouped("n/a"), "n/a");
        assert_eq!(with_currency("20.000000", "EUR"), "20.00 EUR");
    }
}
