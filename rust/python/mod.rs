//! PyO3 bindings: the `dacl._native` extension module.
//!
//! Each submodule wraps one pure-Rust module; the wrappers validate inputs,
//! borrow numpy arrays without copying where the layout allows, and run the
//! Rust work with the GIL released (`py.detach`).

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

use crate::error::DaclError;

mod scattering;
mod schedule;
mod segment;

impl From<DaclError> for PyErr {
    fn from(err: DaclError) -> PyErr {
        match err {
            DaclError::InvalidType(_) => PyTypeError::new_err(err.to_string()),
            _ => PyValueError::new_err(err.to_string()),
        }
    }
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    scattering::register(m)?;
    segment::register(m)?;
    schedule::register(m)?;
    Ok(())
}
