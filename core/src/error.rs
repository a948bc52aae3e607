//! The one error type of the core: every message names the object and the field it is about.

use std::fmt;

/// `Result` with the core's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the core. Inputs are never trusted: a bad field is an
/// error that says which object and which field, never a panic or a silent default.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A field of an input object is missing, malformed or out of range.
    /// `object` reads like `Deployment shop/web` and `field` like
    /// `spec.template.spec.containers[0].resources.requests.cpu`.
    #[error("{object}: {field}: {message}")]
    Field { object: String, field: String, message: String },
    /// A document that is not YAML or JSON at all.
    #[error("{source_name}: {message}")]
    Syntax { source_name: String, message: String },
    /// A catalog (embedded or user supplied) that cannot be used.
    #[error("catalog {source_name}: {message}")]
    Catalog { source_name: String, message: String },
    /// An argument of a core function that makes no sense (an unknown region, a bad option).
    #[error("{0}")]
    Usage(String),
    /// Several independent errors, reported together so a user can fix them in one pass.
    #[error("{}", ErrorList(.0))]
    Many(Vec<Error>),
}

impl Error {
    /// A field error; `object` is a display name such as `Pod default/web-0`.
    pub fn field(object: impl Into<String>, field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Field { object: object.into(), field: field.into(), message: message.into() }
    }

    /// Joins errors: none is `Ok`, one is itself, more are [`Error::Many`].
    pub fn collect(mut errors: Vec<Error>) -> Result<()> {
        match errors.len() {
            0 => Ok(()),
            1 => Err(errors.pop().expect("one element")),
            _ => Err(Error::Many(errors)),
        }
    }

    /// The individual errors, flattening [`Error::Many`].
    pub fn flatten(&self) -> Vec<&Error> {
        match self {
            Error::Many(list) => list.iter().flat_map(Error::flatten).collect(),
            other => vec![other],
        }
    }
}

struct ErrorList<'a>(&'a [Error]);

impl fmt::Display for ErrorList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} errors:", self.0.len())?;
        for e in self.0 {
            write!(f, "\n  - {e}")?;
        }
        Ok(())
    }
}
