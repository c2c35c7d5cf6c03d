//! PyO3 bindings: the `dacl._native` extension module.
//!
//! Each submodule wraps one pure-Rust module; the wrappers validate inputs,
//! borrow numpy arrays without copying where the layout allows, and run the
//! Rust work with the GIL released (`py.detach`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

use crate::error::DaclError;

mod args;
mod scattering;
mod schedule;
mod segment;

/// Rayon pools for explicit `num_threads`, built once per size.
pub(crate) fn thread_pool(num_threads: usize) -> PyResult<Arc<rayon::ThreadPool>> {
    static POOLS: OnceLock<Mutex<HashMap<usize, Arc<rayon::ThreadPool>>>> = OnceLock::new();
    let mut pools = POOLS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(pool) = pools.get(&num_threads) {
        return Ok(pool.clone());
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(num_threads)
        .build()
        .map_err(|e| PyValueError::new_err(format!("cannot start {num_threads} threads: {e}")))?;
    let pool = Arc::new(pool);
    pools.insert(num_threads, pool.clone());
    Ok(pool)
}

/// Run `f` on a rayon pool of `num_threads` threads (`None`: the global pool).
pub(crate) fn with_threads<T: Send>(num_threads: Option<usize>, f: impl FnOnce() -> T + Send) -> PyResult<T> {
    match num_threads {
        None => Ok(f()),
        Some(n) => Ok(thread_pool(n)?.install(f)),
    }
}

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
