//! Whole-number settings parsed by clap from a flag or a `KAIROS_*` variable, with
//! an error that names where the bad value came from: `KAIROS_SLOTS="many" is not
//! a whole number` when it was the variable, the flag otherwise.

use std::ffi::OsStr;
use std::fmt::Display;
use std::marker::PhantomData;
use std::str::FromStr;

use clap::builder::TypedValueParser;
use clap::error::ErrorKind;
use clap::parser::ValueSource;
use clap::{Arg, Command, Error};

/// clap's value parser for a whole number of type `T`; use it as
/// `#[arg(long, env = "KAIROS_...", value_parser = whole_number::<u64>())]`.
pub fn whole_number<T>() -> WholeNumber<T> {
    WholeNumber(PhantomData)
}

/// See [`whole_number`].
pub struct WholeNumber<T>(PhantomData<fn() -> T>);

impl<T> Clone for WholeNumber<T> {
    fn clone(&self) -> Self {
        WholeNumber(PhantomData)
    }
}

impl<T> TypedValueParser for WholeNumber<T>
where
    T: FromStr + Clone + Send + Sync + 'static,
    T::Err: Display,
{
    type Value = T;

    fn parse_ref(&self, cmd: &Command, arg: Option<&Arg>, value: &OsStr) -> Result<T, Error> {
        self.parse_ref_(cmd, arg, value, ValueSource::CommandLine)
    }

    fn parse_ref_(
        &self,
        cmd: &Command,
        arg: Option<&Arg>,
        value: &OsStr,
        source: ValueSource,
    ) -> Result<T, Error> {
        let text = value.to_string_lossy();
        text.trim().parse::<T>().map_err(|e| {
            let message = match (source, arg.and_then(Arg::get_env)) {
                (ValueSource::EnvVariable, Some(name)) => format!(
                    "{}={text:?} is not a whole number ({e})",
                    name.to_string_lossy()
                ),
                _ => format!(
                    "invalid value '{text}' for '{}': {e}",
                    arg.map(ToString::to_string).unwrap_or_default()
                ),
            };
            cmd.clone().error(ErrorKind::ValueValidation, message)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command() -> Command {
        Command::new("test").arg(
            Arg::new("slots")
                .long("slots")
                .env("KAIROS_TEST_NUMBER_NEVER_SET")
                .value_parser(whole_number::<u32>()),
        )
    }

    #[test]
    fn a_flag_is_parsed_and_a_bad_one_names_the_flag() {
        let matches = command()
            .try_get_matches_from(["test", "--slots", "4"])
            .unwrap();
        assert_eq!(matches.get_one::<u32>("slots"), Some(&4));
        let err = command()
            .try_get_matches_from(["test", "--slots", "many"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("--slots") && err.contains("many"), "{err}");
    }

    #[test]
    fn a_bad_variable_names_the_variable() {
        let err = whole_number::<u64>()
            .parse_ref_(
                &command(),
                command().get_arguments().next(),
                OsStr::new("many"),
                ValueSource::EnvVariable,
            )
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("KAIROS_TEST_NUMBER_NEVER_SET=\"many\" is not a whole number"),
            "{err}"
        );
    }
}
