//! What the error enums of the storage traits share: the boxed underlying error that their
//! `Unavailable` and `Other` variants keep as `source`, and the constructors of those
//! variants.

/// An underlying error (a driver's, an SDK's, an I/O error), kept as the `source` of a
/// StreamHouse error so that error chains and downcasts still reach it.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Constructors of the `Unavailable { message, source }` and `Other { message, source }`
/// variants, the same for every error enum that has them.
macro_rules! caused_constructors {
    ($ty:ty) => {
        impl $ty {
            /// `Unavailable` with a message and no underlying error.
            pub fn unavailable(message: impl Into<String>) -> Self {
                Self::Unavailable {
                    message: message.into(),
                    source: None,
                }
            }

            /// `Unavailable` from an underlying error, kept as `source`; the message is
            /// `context: <the error>`.
            pub fn unavailable_from(
                context: impl std::fmt::Display,
                source: impl Into<$crate::error::BoxError>,
            ) -> Self {
                let source = source.into();
                Self::Unavailable {
                    message: format!("{context}: {source}"),
                    source: Some(source),
                }
            }

            /// `Other` with a message and no underlying error.
            pub fn other(message: impl Into<String>) -> Self {
                Self::Other {
                    message: message.into(),
                    source: None,
                }
            }

            /// `Other` from an underlying error, kept as `source`; the message is
            /// `context: <the error>`.
            pub fn other_from(
                context: impl std::fmt::Display,
                source: impl Into<$crate::error::BoxError>,
            ) -> Self {
                let source = source.into();
                Self::Other {
                    message: format!("{context}: {source}"),
                    source: Some(source),
                }
            }
        }
    };
}

pub(crate) use caused_constructors;
