//! The one error type of the crate. Every fallible function returns
//! [`Result`]; the bindings map each variant onto a Python exception, so no
//! Rust panic or opaque error ever reaches a user.

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum DaclError {
    /// A value is out of its allowed range or inconsistent with another one
    /// (maps to `ValueError`).
    #[error("{0}")]
    InvalidArgument(String),
    /// Wrong type or dtype (maps to `TypeError`).
    #[error("{0}")]
    InvalidType(String),
    /// An input holds NaN or infinity (maps to `ValueError`).
    #[error("{what} contains a non-finite value (NaN or inf) at index {index}")]
    NonFinite { what: String, index: usize },
    /// A signal is too short for what was asked of it (maps to `ValueError`).
    #[error("{what} has {len} samples, fewer than the {needed} needed")]
    TooShort { what: String, len: usize, needed: usize },
    /// The system refused the memory for a buffer (maps to `MemoryError`);
    /// see [`crate::memory`].
    #[error("cannot allocate {} for {what}", crate::memory::human_bytes(*bytes))]
    OutOfMemory { what: String, bytes: usize },
}

pub type Result<T> = std::result::Result<T, DaclError>;

impl DaclError {
    pub fn invalid(msg: impl Into<String>) -> Self {
        DaclError::InvalidArgument(msg.into())
    }
}

/// Index of the first non-finite value, if any.
pub fn check_finite(what: &str, values: &[f64]) -> Result<()> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(DaclError::NonFinite {
            what: what.to_string(),
            index,
        }),
        None => Ok(()),
    }
}
