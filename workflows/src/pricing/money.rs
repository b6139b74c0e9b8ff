//! Display labels for amounts (the amounts themselves travel as exact decimal strings).

use rust_decimal::Decimal;

use super::round_money;

/// ISO-4217 codes the catalogue accepts, with their symbols.
pub const CURRENCIES: &[(&str, &str)] = &[("EUR", "€"), ("USD", "$"), ("GBP", "£"), ("CHF", "CHF")];

/// `1234.5, EUR` → `€1,234.50` (English) or `1 234,50 €` (French, with the narrow
/// no-break space as thousands separator and a no-break space before the symbol).
pub fn format_money(amount: Decimal, currency: &str, french: bool) -> String {
    let symbol = CURRENCIES
        .iter()
        .find(|(c, _)| *c == currency)
        .map_or(currency, |(_, s)| *s);
    let rounded = round_money(amount);
    let negative = rounded.is_sign_negative() && !rounded.is_zero();
    let text = format!("{:.2}", rounded.abs());
    let (int, frac) = text.split_once('.').unwrap_or((&text, "00"));
    let sep = if french { '\u{202f}' } else { ',' };
    let mut grouped = String::with_capacity(int.len() + int.len() / 3);
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(sep);
        }
        grouped.push(ch);
    }
    let sign = if negative { "-" } else { "" };
    if french {
        format!("{sign}{grouped},{frac}\u{a0}{symbol}")
    } else if symbol.len() > 1 && symbol.chars().all(|c| c.is_ascii_alphabetic()) {
        format!("{sign}{symbol}\u{a0}{grouped}.{frac}")
    } else {
        format!("{sign}{symbol}{grouped}.{frac}")
    }
}
