//! Airflow's cron presets (`@daily`, `@hourly`, ...) and the expressions they stand for.

/// Airflow's cron presets (`airflow.utils.dates.cron_presets`, plus croniter's
/// `@annually` and `@midnight`, which Airflow passes through to it).
pub(super) const PRESETS: &[(&str, &str)] = &[
    ("@hourly", "0 * * * *"),
    ("@daily", "0 0 * * *"),
    ("@midnight", "0 0 * * *"),
    ("@weekly", "0 0 * * 0"),
    ("@monthly", "0 0 1 * *"),
    ("@quarterly", "0 0 1 */3 *"),
    ("@yearly", "0 0 1 1 *"),
    ("@annually", "0 0 1 1 *"),
];

/// Names of every preset, for error messages.
pub fn preset_names() -> impl Iterator<Item = &'static str> {
    PRESETS.iter().map(|(name, _)| *name)
}
