//! PyO3 bindings: the `dacl._native` extension module.
//!
//! Each submodule wraps one pure-Rust module; the wrappers convert and check
//! arguments, borrow numpy arrays without copying where the layout allows,
//! and run the Rust work with the GIL released ([`run_detached`]).
//!
//! Errors: [`DaclError`] maps to `ValueError`, `TypeError` or `MemoryError`.
//! The core does not panic on any input; should it anyway (a bug), the panic
//! is caught here and raised as `RuntimeError` saying so, instead of pyo3's
//! `PanicException`, which derives from `BaseException` and so escapes
//! `except Exception`.

use std::any::Any;
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, OnceLock};

use pyo3::exceptions::{PyMemoryError, PyRuntimeError, PyTypeError, PyValueError};
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

/// Run the Rust work `f` with the GIL released, on a pool of `num_threads`
/// threads (`None`: rayon's global pool). A panic becomes a `RuntimeError`
/// (see the module docs).
pub(crate) fn run_detached<T: Send>(
    py: Python<'_>,
    num_threads: Option<usize>,
    f: impl FnOnce() -> crate::Result<T> + Send,
) -> PyResult<T> {
    let pool = num_threads.map(thread_pool).transpose()?;
    let outcome = py.detach(|| {
        catch_unwind(AssertUnwindSafe(|| match &pool {
            Some(pool) => pool.install(f),
            None => f(),
        }))
    });
    Ok(outcome.map_err(panic_to_error)??)
}

/// `f` with the GIL held (quick work, such as building a plan's tables), a
/// panic becoming a `RuntimeError` as in [`run_detached`].
pub(crate) fn without_panics<T>(f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| Err(panic_to_error(payload)))
}

fn panic_to_error(payload: Box<dyn Any + Send>) -> PyErr {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_string());
    PyRuntimeError::new_err(format!(
        "internal error in dacl's Rust core (a bug, please report it): {message}"
    ))
}

impl From<DaclError> for PyErr {
    fn from(err: DaclError) -> PyErr {
        match err {
            DaclError::InvalidType(_) => PyTypeError::new_err(err.to_string()),
            DaclError::OutOfMemory { .. } => PyMemoryError::new_err(err.to_string()),
            DaclError::InvalidArgument(_) | DaclError::NonFinite { .. } | DaclError::TooShort { .. } => {
                PyValueError::new_err(err.to_string())
            }
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
