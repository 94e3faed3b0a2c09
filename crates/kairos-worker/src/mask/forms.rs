//! The forms a secret may take in a task's output, each masked: the value
//! itself, each line of a multi-line value (output is masked as it streams, a
//! line at a time), the value URL-encoded (as Airflow's masker adds it: secrets
//! end up in connection URIs) and the value as Python's `json.dumps` writes it
//! (the runner prints return values that way: quotes and backslashes escaped,
//! everything past ASCII as `\uXXXX`).

/// Every form of `value` worth a pattern, the value first. `min_len` is the
/// shortest form kept (in characters): a short line of a long secret would mask
/// common text.
pub fn forms(value: &str, min_len: usize) -> Vec<String> {
    let mut out = vec![value.to_string()];
    if value.contains('\n') {
        out.extend(
            value
                .lines()
                .map(|line| line.trim_end_matches('\r'))
                .filter(|line| line.chars().count() >= min_len.max(1))
                .map(str::to_string),
        );
    }
    out.push(url_encoded(value));
    out.push(python_json(value));
    out.sort();
    out.dedup();
    out
}

/// Python's `urllib.parse.quote(value)`: everything but letters, digits and
/// `_.-~/` percent-encoded, byte by byte.
fn url_encoded(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"_.-~/".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The inside of Python's `json.dumps(value)` (without the quotes).
fn python_json(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c.is_ascii() && !c.is_ascii_control() => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_value_has_one_form() {
        assert_eq!(forms("hunter22", 5), vec!["hunter22".to_string()]);
    }

    #[test]
    fn escaped_encoded_and_multi_line_forms_are_masked_too() {
        let f = forms("pä ss\"w\\d", 5);
        assert!(f.contains(&"pä ss\"w\\d".to_string()), "{f:?}");
        assert!(f.contains(&"p%C3%A4%20ss%22w%5Cd".to_string()), "{f:?}");
        assert!(f.contains(&"p\\u00e4 ss\\\"w\\\\d".to_string()), "{f:?}");
        let key = "-----BEGIN KEY-----\nMIIEvQIBADANBg\nab\n-----END KEY-----";
        let f = forms(key, 5);
        assert!(f.contains(&"MIIEvQIBADANBg".to_string()), "{f:?}");
        assert!(
            !f.contains(&"ab".to_string()),
            "a short line is not a form: {f:?}"
        );
    }
}
