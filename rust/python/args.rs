//! Argument parsing shared by every binding, so one rule (and one message)
//! holds for `J`, `window`, `timesteps`, `num_threads`, ... alike.

use numpy::ndarray::Dimension;
use numpy::{PyReadonlyArray, PyUntypedArrayMethods};
use pyo3::exceptions::{PyOverflowError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyFloat};

use crate::memory::try_with_capacity;

/// Most threads one call may ask for: a typo like `num_threads=10**6` is an
/// error, not a million OS threads.
pub(super) const MAX_THREADS: usize = 256;

/// An integer argument as `i64`. Accepts `int` and anything with `__index__`
/// (numpy integers); `bool` and `float` are a `TypeError` (a silent `True == 1`
/// or truncated `2.5` is worse than an error); an int beyond i64 a `ValueError`.
pub(super) fn int_arg(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<i64> {
    extract_int(obj, name, "is out of range")
}

/// A `u64` argument (seed, offset), by the rules of [`int_arg`]; a negative
/// or too large int is a `ValueError`.
pub(super) fn u64_arg(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<u64> {
    extract_int(obj, name, "must be in [0, 2**64)")
}

fn extract_int<'py, T: FromPyObjectOwned<'py>>(obj: &Bound<'py, PyAny>, name: &str, out_of_range: &str) -> PyResult<T> {
    let type_error = || -> PyResult<PyErr> {
        Ok(PyTypeError::new_err(format!(
            "{name} must be an int, got {}",
            obj.get_type().name()?
        )))
    };
    if obj.is_instance_of::<PyBool>() || obj.is_instance_of::<PyFloat>() {
        return Err(type_error()?);
    }
    match obj.extract::<T>().map_err(Into::<PyErr>::into) {
        Ok(v) => Ok(v),
        Err(e) if e.is_instance_of::<PyOverflowError>(obj.py()) => {
            Err(PyValueError::new_err(format!("{name} {out_of_range}")))
        }
        Err(_) => Err(type_error()?),
    }
}

/// The optional `num_threads` argument: `None` (rayon's global pool, all
/// cores) or an int in `1..=MAX_THREADS`.
pub(super) fn threads_arg(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<usize>> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(None);
    };
    let v = int_arg(obj, "num_threads")?;
    if !(1..=MAX_THREADS as i64).contains(&v) {
        return Err(PyValueError::new_err(format!(
            "num_threads must be between 1 and {MAX_THREADS}, got {v}"
        )));
    }
    Ok(Some(v as usize))
}

/// The values of a borrowed int64 array (`t`, `offsets`) in C order: the
/// array's own memory when it is C-contiguous, else a copy kept in `copy`.
pub(super) fn int64_values<'a, D: Dimension>(
    array: &'a PyReadonlyArray<'_, i64, D>,
    copy: &'a mut Vec<i64>,
    what: &str,
) -> PyResult<&'a [i64]> {
    if let Ok(values) = array.as_slice() {
        return Ok(values);
    }
    *copy = try_with_capacity(&format!("a contiguous copy of {what}"), array.len())?;
    copy.extend(array.as_array().iter().copied());
    Ok(copy)
}
