//! Plain aligned tables for people (scripts use `--output json`).

/// Renders rows under a header, columns padded to their widest cell.
pub fn render(header: &[&str], rows: &[Vec<String>]) -> String {
    let cols = header.len();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(cols) {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| -> String {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                out.push_str(cell);
                out.push_str(&" ".repeat(widths[i] - cell.chars().count() + 2));
            }
        }
        out.trim_end().to_string()
    };
    let mut out = line(header.to_vec());
    out.push('\n');
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
        out.push('\n');
    }
    out
}

/// An optional value as a cell: `-` when there is none, as [`cell`] shows null.
pub fn optional(value: Option<impl std::fmt::Display>) -> String {
    value.map_or_else(|| "-".to_string(), |v| v.to_string())
}

/// A time as the API writes it (RFC 3339, UTC as `Z`, fractions of a second
/// only when there are some).
pub fn date(at: &chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// A JSON value as a cell: a string as itself, null as `-`, anything else as JSON.
pub fn cell(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => "-".to_string(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn columns_align() {
        let t = super::render(
            &["ID", "STATE"],
            &[
                vec!["a".into(), "ok".into()],
                vec!["long_id".into(), "x".into()],
            ],
        );
        assert_eq!(t, "ID       STATE\na        ok\nlong_id  x\n");
    }

    #[test]
    fn typed_cells_read_as_their_json_would() {
        use super::{cell, date, optional};
        assert_eq!(optional(None::<&str>), cell(&serde_json::Value::Null));
        assert_eq!(optional(Some("etl")), cell(&serde_json::json!("etl")));
        assert_eq!(optional(Some(3u64)), cell(&serde_json::json!(3u64)));
        for text in ["2026-01-01T00:00:00Z", "2026-01-01T06:30:00.250Z"] {
            let at: chrono::DateTime<chrono::Utc> = text.parse().expect("a date");
            assert_eq!(date(&at), cell(&serde_json::json!(at)));
            assert_eq!(date(&at), text);
        }
    }
}
