//! The five fields of a cron expression: their names and ranges, month and weekday
//! names, ranges that wrap around the end of a field, and the values a field stands for.

/// Month and weekday names, for ranges written with names.
const NAMES: [&[(&str, u32)]; 5] = [
    &[],
    &[],
    &[],
    &[
        ("JAN", 1),
        ("FEB", 2),
        ("MAR", 3),
        ("APR", 4),
        ("MAY", 5),
        ("JUN", 6),
        ("JUL", 7),
        ("AUG", 8),
        ("SEP", 9),
        ("OCT", 10),
        ("NOV", 11),
        ("DEC", 12),
    ],
    &[
        ("SUN", 0),
        ("MON", 1),
        ("TUE", 2),
        ("WED", 3),
        ("THU", 4),
        ("FRI", 5),
        ("SAT", 6),
    ],
];

/// Each field's name, lowest and highest value (day-of-week 7 is Sunday, as 0 is).
pub(super) const FIELDS: [(&str, u32, u32); 5] = [
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day-of-month", 1, 31),
    ("month", 1, 12),
    ("day-of-week", 0, 7),
];

fn value_of(token: &str, field: usize) -> Option<u32> {
    token.parse::<u32>().ok().or_else(|| {
        NAMES[field]
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(token))
            .map(|(_, v)| *v)
    })
}

/// Rewrites ranges that wrap around the end of a field (`22-2`, `FRI-MON`, `DEC-FEB`),
/// which croniter accepts, as two ranges that croner understands.
pub(super) fn unwrap_ranges(field: &str, index: usize) -> Result<String, String> {
    let (_, min, max) = FIELDS[index];
    // A wrapping weekday range ends at Saturday (6); 7 is Sunday again.
    let max = if index == 4 { 6 } else { max };
    let mut parts = Vec::new();
    for part in field.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, Some(s)),
            None => (part, None),
        };
        let wrapped = range.split_once('-').and_then(|(a, b)| {
            let (a, b) = (value_of(a, index)?, value_of(b, index)?);
            (a > b && !(index == 4 && b == 7)).then_some((a, b))
        });
        match (wrapped, step) {
            (Some(_), Some(_)) => {
                return Err(format!(
                    "the range `{range}` wraps around and has a step; write it as two ranges"
                ));
            }
            (Some((a, b)), None) => parts.push(format!("{a}-{max},{min}-{b}")),
            (None, _) => parts.push(part.to_string()),
        }
    }
    Ok(parts.join(","))
}

/// The values a plain numeric field stands for (`*`, `a`, `a-b`, steps, lists), or
/// `None` when it uses a feature this does not expand (`L`, `W`, `#`, `?`).
pub(super) fn field_values(
    field: &str,
    low: u32,
    high: u32,
) -> Option<std::collections::BTreeSet<u32>> {
    let mut values = std::collections::BTreeSet::new();
    for part in field.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, s.parse::<u32>().ok().filter(|s| *s > 0)?),
            None => (part, 1),
        };
        let (from, to) = match range {
            "*" | "" => (low, high),
            r => match r.split_once('-') {
                Some((a, b)) => (a.parse().ok()?, b.parse().ok()?),
                // `5/15` runs from 5 to the end of the field.
                None if part.contains('/') => (r.parse().ok()?, high),
                None => {
                    let v = r.parse().ok()?;
                    (v, v)
                }
            },
        };
        values.extend((from..=to.min(high)).step_by(step as usize));
    }
    Some(values)
}

/// Names each field and its range, so that `0 25 * * *` says "hour 25 is out of range
/// 0-23" rather than a parser's generic complaint.
pub(super) fn check_field_ranges(written: &str, fields: &[&str]) -> Result<(), String> {
    for ((name, low, high), field) in FIELDS.iter().zip(fields) {
        for part in field.split(',') {
            // A step (`*/15`, `0/5`) is a count, not a position: only the range is checked.
            let range = part.split('/').next().unwrap_or(part);
            for n in range
                .split(['-', '#'])
                .filter_map(|v| v.parse::<u32>().ok())
            {
                if n < *low || n > *high {
                    return Err(format!(
                        "`{written}` is not a valid cron expression: {name} {n} is out of range {low}-{high}"
                    ));
                }
            }
        }
    }
    Ok(())
}
