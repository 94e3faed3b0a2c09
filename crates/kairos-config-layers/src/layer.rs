//! [`Layer`] and [`layer!`](crate::layer): a settings struct declared once, with
//! its field-by-field merge derived, so that adding a setting is one field and
//! nothing else.

/// A set of settings where any may be missing, merged with another field by field.
/// Implemented by [`layer!`](crate::layer); nothing else needs to write it.
pub trait Layer: Sized {
    /// `self`'s settings where given, `below`'s elsewhere.
    fn over(self, below: Self) -> Self;
}

/// Declares a struct whose fields are all `Option<_>` and implements
/// [`Layer`] for it: `over` keeps each field of the upper layer that
/// is set and takes the lower layer's elsewhere. Attributes pass through, so the
/// struct derives what it needs (`clap::Args` with `#[arg(long, env = "...")]`,
/// `serde::Deserialize` for a table of `kairos.toml`, ...):
///
/// ```
/// use kairos_config_layers::Layer;
///
/// kairos_config_layers::layer! {
///     /// What a sample binary reads.
///     #[derive(Debug, Default, PartialEq)]
///     pub struct Sample {
///         /// How many.
///         pub count: Option<u32>,
///         pub name: Option<String>,
///     }
/// }
///
/// let flags = Sample { count: Some(2), name: None };
/// let file = Sample { count: Some(9), name: Some("from the file".into()) };
/// assert_eq!(
///     flags.over(file),
///     Sample { count: Some(2), name: Some("from the file".into()) }
/// );
/// ```
#[macro_export]
macro_rules! layer {
    (
        $(#[$attr:meta])*
        $vis:vis struct $name:ident {
            $(
                $(#[$field_attr:meta])*
                $field_vis:vis $field:ident : Option<$ty:ty>
            ),* $(,)?
        }
    ) => {
        $(#[$attr])*
        $vis struct $name {
            $(
                $(#[$field_attr])*
                $field_vis $field: Option<$ty>,
            )*
        }

        impl $crate::Layer for $name {
            fn over(self, below: Self) -> Self {
                Self {
                    $( $field: self.$field.or(below.$field), )*
                }
            }
        }
    };
}
