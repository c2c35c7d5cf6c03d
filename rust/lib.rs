//! Rust core of `dacl`.
//!
//! Pure numerics live in plain modules (tested with `cargo test`, no Python
//! needed); the PyO3 bindings live in [`python`] and are only compiled with the
//! `python` feature, which maturin turns on when it builds `dacl._native`.

pub mod dsp;
pub mod error;
pub mod memory;
pub mod real;
pub mod rng;
pub mod scattering;
pub mod schedule;
pub mod segment;

#[cfg(feature = "python")]
mod python;

pub use error::{DaclError, Result};
