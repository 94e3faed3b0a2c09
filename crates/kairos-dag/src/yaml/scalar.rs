//! Scalar resolution as PyYAML does it (YAML 1.1 implicit types).
//!
//! dag-factory reads files with PyYAML, so a DAG file means what PyYAML makes of
//! it: `catchup: yes` is `True`, `retries: 0o3`... is a string in 1.1 but `03` is
//! octal 3, `1e5` is a string (1.1 floats need a dot). Only plain (unquoted)
//! scalars are resolved; quoted and block scalars are always strings.

use super::tree::Value;

/// Resolves a plain scalar's text to a value, following PyYAML's implicit resolvers.
pub(super) fn resolve_plain(text: &str) -> Value {
    if is_null(text) {
        return Value::Null;
    }
    if let Some(b) = parse_bool(text) {
        return Value::Bool(b);
    }
    if let Some(i) = parse_int(text) {
        return Value::Int(i);
    }
    if let Some(f) = parse_float(text) {
        return Value::Float(f);
    }
    Value::Str(text.to_string())
}

/// Resolves a scalar carrying an explicit core-schema tag (`!!str`, `!!int`, ...).
/// Returns `None` when the text does not fit the tag, so the caller can report it.
pub(super) fn resolve_tagged(tag_suffix: &str, text: &str) -> Option<Value> {
    match tag_suffix {
        "str" => Some(Value::Str(text.to_string())),
        "int" => parse_int(text).map(Value::Int),
        "float" => parse_float(text)
            .or_else(|| parse_int(text).map(|i| i as f64))
            .map(Value::Float),
        "bool" => parse_bool(text).map(Value::Bool),
        "null" => is_null(text).then_some(Value::Null),
        // Other tags (timestamps, user tags) keep the text; the field that reads it decides.
        _ => Some(Value::Str(text.to_string())),
    }
}

fn is_null(text: &str) -> bool {
    matches!(text, "" | "~" | "null" | "Null" | "NULL")
}

fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => Some(true),
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => Some(false),
        _ => None,
    }
}

/// Splits an optional leading sign off, returning (is_negative, rest).
fn split_sign(text: &str) -> (bool, &str) {
    match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    }
}

fn parse_int(text: &str) -> Option<i64> {
    let (negative, body) = split_sign(text);
    if body.is_empty() {
        return None;
    }
    let magnitude: i64 = if let Some(bin) = body.strip_prefix("0b") {
        parse_radix(bin, 2)?
    } else if let Some(hex) = body.strip_prefix("0x") {
        parse_radix(hex, 16)?
    } else if body.len() > 1 && body.starts_with('0') {
        // PyYAML 1.1: a leading zero means octal (`0755`).
        parse_radix(&body[1..], 8)?
    } else if body.contains(':') {
        parse_sexagesimal_int(body)?
    } else {
        if !body.as_bytes()[0].is_ascii_digit() || body.starts_with('_') {
            return None;
        }
        parse_radix(body, 10)?
    };
    Some(if negative { -magnitude } else { magnitude })
}

/// Digits in `radix`, with `_` separators allowed (as PyYAML allows), at least one digit.
fn parse_radix(digits: &str, radix: u32) -> Option<i64> {
    let cleaned: String = digits.chars().filter(|c| *c != '_').collect();
    if cleaned.is_empty() || !cleaned.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    i64::from_str_radix(&cleaned, radix).ok()
}

/// `1:30:00` style base-60 integers (YAML 1.1): first part `[1-9][0-9_]*`, then `:[0-5]?[0-9]` parts.
fn parse_sexagesimal_int(body: &str) -> Option<i64> {
    let mut parts = body.split(':');
    let first = parts.next()?;
    if first.is_empty() || first.starts_with('0') || first.starts_with('_') {
        return None;
    }
    let mut total = parse_radix(first, 10)?;
    for part in parts {
        if part.is_empty() || part.len() > 2 || !part.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let v: i64 = part.parse().ok()?;
        if v > 59 {
            return None;
        }
        total = total.checked_mul(60)?.checked_add(v)?;
    }
    Some(total)
}

fn parse_float(text: &str) -> Option<f64> {
    match text {
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Some(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Some(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Some(f64::NAN),
        _ => {}
    }
    let (negative, body) = split_sign(text);
    // PyYAML: `[0-9][0-9_]*\.[0-9_]*([eE][-+][0-9]+)?` or `\.[0-9][0-9_]*([eE][-+][0-9]+)?`.
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (int_part, frac_part) = mantissa.split_once('.')?;
    let digits_ok = |s: &str| s.chars().all(|c| c.is_ascii_digit() || c == '_');
    if !digits_ok(int_part) || !digits_ok(frac_part) {
        return None;
    }
    if int_part.is_empty() {
        // `.5` needs a digit right after the dot.
        if !frac_part.starts_with(|c: char| c.is_ascii_digit()) {
            return None;
        }
    } else if !int_part.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    if let Some(exp) = exponent {
        // A signed exponent: check the sign byte before slicing past it.
        let digits = exp.strip_prefix(['+', '-'])?;
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
    }
    let cleaned: String = body.chars().filter(|c| *c != '_').collect();
    let value: f64 = cleaned.parse().ok()?;
    Some(if negative { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pyyaml_booleans_and_nulls() {
        for t in ["yes", "Yes", "YES", "on", "On", "true", "True"] {
            assert_eq!(resolve_plain(t), Value::Bool(true), "{t}");
        }
        for t in ["no", "No", "off", "OFF", "false", "FALSE"] {
            assert_eq!(resolve_plain(t), Value::Bool(false), "{t}");
        }
        for t in ["", "~", "null", "Null", "NULL"] {
            assert_eq!(resolve_plain(t), Value::Null, "{t:?}");
        }
        // Not booleans in PyYAML:
        assert_eq!(resolve_plain("y"), Value::Str("y".into()));
        assert_eq!(resolve_plain("tRue"), Value::Str("tRue".into()));
        assert_eq!(resolve_plain("None"), Value::Str("None".into()));
    }

    #[test]
    fn pyyaml_integers() {
        assert_eq!(resolve_plain("0"), Value::Int(0));
        assert_eq!(resolve_plain("42"), Value::Int(42));
        assert_eq!(resolve_plain("-7"), Value::Int(-7));
        assert_eq!(resolve_plain("+7"), Value::Int(7));
        assert_eq!(resolve_plain("1_000"), Value::Int(1000));
        assert_eq!(resolve_plain("0x1f"), Value::Int(31));
        assert_eq!(resolve_plain("0b101"), Value::Int(5));
        assert_eq!(resolve_plain("0755"), Value::Int(0o755));
        assert_eq!(resolve_plain("1:30"), Value::Int(90));
        assert_eq!(resolve_plain("1:30:00"), Value::Int(5400));
        assert_eq!(resolve_plain("089"), Value::Str("089".into()));
        assert_eq!(
            resolve_plain("99999999999999999999"),
            Value::Str("99999999999999999999".into())
        );
    }

    #[test]
    fn pyyaml_floats() {
        assert_eq!(resolve_plain("1.5"), Value::Float(1.5));
        assert_eq!(resolve_plain("-0.25"), Value::Float(-0.25));
        assert_eq!(resolve_plain(".5"), Value::Float(0.5));
        assert_eq!(resolve_plain("1."), Value::Float(1.0));
        assert_eq!(resolve_plain("1.0e+3"), Value::Float(1000.0));
        assert_eq!(resolve_plain(".inf"), Value::Float(f64::INFINITY));
        // YAML 1.1 floats need a dot and a signed exponent.
        assert_eq!(resolve_plain("1e5"), Value::Str("1e5".into()));
        assert_eq!(resolve_plain("1.0e5"), Value::Str("1.0e5".into()));
        assert_eq!(resolve_plain("."), Value::Str(".".into()));
        // Found by review: a multi-byte character after the `e` must not panic.
        assert_eq!(resolve_plain("1.0eé"), Value::Str("1.0eé".into()));
        assert_eq!(resolve_plain("1.0e"), Value::Str("1.0e".into()));
    }

    #[test]
    fn dates_and_text_stay_strings() {
        assert_eq!(resolve_plain("2024-01-01"), Value::Str("2024-01-01".into()));
        assert_eq!(resolve_plain("0 3 * * *"), Value::Str("0 3 * * *".into()));
        assert_eq!(resolve_plain("@daily"), Value::Str("@daily".into()));
    }

    #[test]
    fn tags_force_types() {
        assert_eq!(resolve_tagged("str", "42"), Some(Value::Str("42".into())));
        assert_eq!(resolve_tagged("int", "42"), Some(Value::Int(42)));
        assert_eq!(resolve_tagged("float", "3"), Some(Value::Float(3.0)));
        assert_eq!(resolve_tagged("int", "x"), None);
    }
}
