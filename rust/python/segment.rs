//! Bindings for [`crate::segment`]: `segment` (a sequence of 1-D arrays) and
//! `segment_flat` (one flat buffer + record offsets).

use numpy::ndarray::Array2;
use numpy::{
    dtype, Element, IntoPyArray, PyArray1, PyArrayDescrMethods, PyArrayMethods, PyReadonlyArray1, PyUntypedArray,
    PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use super::args::{int64_values, int_arg, threads_arg};
use super::run_detached;
use crate::real::Real;
use crate::segment::{segment as segment_core, split_flat, SegmentParams, Segments, Tail};

/// A positive count argument (`window`, `hop`, ...).
pub(super) fn positive_arg(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<usize> {
    let v = int_arg(obj, name)?;
    if v <= 0 {
        return Err(PyValueError::new_err(format!("{name} must be > 0, got {v}")));
    }
    Ok(v as usize)
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum FloatKind {
    F32,
    F64,
}

/// Checks that `obj` is a 1-D C-contiguous float32/float64 ndarray; returns its dtype.
fn check_1d_float(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<FloatKind> {
    let py = obj.py();
    let arr = obj
        .cast::<PyUntypedArray>()
        .map_err(|_| PyTypeError::new_err(format!("{what} must be a numpy.ndarray, got {}", type_name(obj))))?;
    let dt = arr.dtype();
    let kind = if dt.is_equiv_to(&dtype::<f64>(py)) {
        FloatKind::F64
    } else if dt.is_equiv_to(&dtype::<f32>(py)) {
        FloatKind::F32
    } else {
        return Err(PyTypeError::new_err(format!(
            "{what} must have dtype float32 or float64, got {dt}"
        )));
    };
    if arr.ndim() != 1 {
        return Err(PyValueError::new_err(format!(
            "{what} must be 1-D, got ndim={}",
            arr.ndim()
        )));
    }
    if !arr.is_c_contiguous() {
        return Err(PyValueError::new_err(format!(
            "{what} is not C-contiguous (pass numpy.ascontiguousarray(x))"
        )));
    }
    Ok(kind)
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into())
}

fn readonly<'py, T: Element>(obj: &Bound<'py, PyAny>, what: &str) -> PyResult<PyReadonlyArray1<'py, T>> {
    obj.cast::<PyArray1<T>>()
        .map_err(|_| PyTypeError::new_err(format!("{what} has an unexpected dtype")))?
        .try_readonly()
        .map_err(|e| PyValueError::new_err(format!("{what} cannot be borrowed: {e}")))
}

fn to_python<'py, T: Real + Element>(py: Python<'py>, seg: Segments<T>) -> PyResult<Bound<'py, PyTuple>> {
    let rows = seg.len();
    let windows = Array2::from_shape_vec((rows, seg.window), seg.windows)
        .map_err(|e| PyValueError::new_err(format!("internal shape error: {e}")))?
        .into_pyarray(py);
    let record_index = seg.record_index.into_pyarray(py);
    let starts = seg.starts.into_pyarray(py);
    PyTuple::new(py, [windows.into_any(), record_index.into_any(), starts.into_any()])
}

fn run<'py, T: Real + Element>(
    py: Python<'py>,
    records: &[Bound<'py, PyAny>],
    params: &SegmentParams,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyTuple>> {
    let arrays: Vec<PyReadonlyArray1<'py, T>> = records
        .iter()
        .enumerate()
        .map(|(i, r)| readonly::<T>(r, &format!("record {i}")))
        .collect::<PyResult<_>>()?;
    let slices: Vec<&[T]> = arrays
        .iter()
        .map(|a| a.as_slice().map_err(|e| PyValueError::new_err(e.to_string())))
        .collect::<PyResult<_>>()?;
    let seg = run_detached(py, threads, || segment_core(&slices, params))?;
    to_python(py, seg)
}

fn run_flat<'py, T: Real + Element>(
    py: Python<'py>,
    buffer: &Bound<'py, PyAny>,
    offsets: &[i64],
    params: &SegmentParams,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyTuple>> {
    let arr = readonly::<T>(buffer, "buffer")?;
    let flat = arr.as_slice().map_err(|e| PyValueError::new_err(e.to_string()))?;
    let seg = run_detached(py, threads, || segment_core(&split_flat(flat, offsets)?, params))?;
    to_python(py, seg)
}

fn band_order_arg(obj: &Bound<'_, PyAny>) -> PyResult<usize> {
    positive_arg(obj, "band_order")
}

#[allow(clippy::too_many_arguments)]
fn build_params(
    fs: f64,
    window: &Bound<'_, PyAny>,
    hop: &Bound<'_, PyAny>,
    tail: &str,
    band: Option<(f64, f64)>,
    band_order: usize,
    zscore: bool,
    target_fs: Option<f64>,
) -> PyResult<SegmentParams> {
    Ok(SegmentParams {
        fs,
        window: positive_arg(window, "window")?,
        hop: positive_arg(hop, "hop")?,
        tail: Tail::parse(tail)?,
        band,
        band_order,
        zscore,
        target_fs,
    })
}

/// Cut records into fixed windows: resample → zero-phase band-pass → windows
/// → per-window z-score. Returns `(windows, record_index, starts)`.
#[pyfunction]
#[pyo3(signature = (signals, fs, window, hop, *, tail="drop", band=None, band_order=2, zscore=false, target_fs=None, num_threads=None))]
#[allow(clippy::too_many_arguments)]
fn segment<'py>(
    py: Python<'py>,
    signals: &Bound<'py, PyAny>,
    fs: f64,
    window: &Bound<'py, PyAny>,
    hop: &Bound<'py, PyAny>,
    tail: &str,
    band: Option<(f64, f64)>,
    #[pyo3(from_py_with = band_order_arg)] band_order: usize,
    zscore: bool,
    target_fs: Option<f64>,
    num_threads: Option<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyTuple>> {
    let params = build_params(fs, window, hop, tail, band, band_order, zscore, target_fs)?;
    let threads = threads_arg(num_threads.as_ref())?;
    if signals.cast::<PyUntypedArray>().is_ok_and(|a| a.ndim() == 1) {
        return Err(PyTypeError::new_err(
            "signals must be a sequence of 1-D arrays (a list), not one 1-D array; wrap it as [x]",
        ));
    }
    let records: Vec<Bound<'py, PyAny>> = signals
        .try_iter()
        .map_err(|_| {
            PyTypeError::new_err(format!(
                "signals must be a sequence of numpy arrays, got {}",
                type_name(signals)
            ))
        })?
        .collect::<PyResult<_>>()?;
    if records.is_empty() {
        return Err(PyValueError::new_err("signals is empty: no records to segment"));
    }
    let mut kind = None;
    for (i, r) in records.iter().enumerate() {
        let k = check_1d_float(r, &format!("record {i}"))?;
        match kind {
            None => kind = Some(k),
            Some(k0) if k0 != k => {
                return Err(PyTypeError::new_err(format!(
                    "record {i} has a different dtype than record 0; all records must share float32 or float64"
                )))
            }
            _ => {}
        }
    }
    match kind {
        Some(FloatKind::F32) => run::<f32>(py, &records, &params, threads),
        _ => run::<f64>(py, &records, &params, threads),
    }
}

/// `segment` for records concatenated in one buffer: record `i` is
/// `buffer[offsets[i]:offsets[i+1]]`.
#[pyfunction]
#[pyo3(signature = (buffer, offsets, fs, window, hop, *, tail="drop", band=None, band_order=2, zscore=false, target_fs=None, num_threads=None))]
#[allow(clippy::too_many_arguments)]
fn segment_flat<'py>(
    py: Python<'py>,
    buffer: &Bound<'py, PyAny>,
    offsets: &Bound<'py, PyAny>,
    fs: f64,
    window: &Bound<'py, PyAny>,
    hop: &Bound<'py, PyAny>,
    tail: &str,
    band: Option<(f64, f64)>,
    #[pyo3(from_py_with = band_order_arg)] band_order: usize,
    zscore: bool,
    target_fs: Option<f64>,
    num_threads: Option<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyTuple>> {
    let params = build_params(fs, window, hop, tail, band, band_order, zscore, target_fs)?;
    let threads = threads_arg(num_threads.as_ref())?;
    let kind = check_1d_float(buffer, "buffer")?;
    let off_arr = offsets
        .cast::<PyUntypedArray>()
        .map_err(|_| PyTypeError::new_err(format!("offsets must be a numpy.ndarray, got {}", type_name(offsets))))?;
    if !off_arr.dtype().is_equiv_to(&dtype::<i64>(py)) {
        return Err(PyTypeError::new_err(format!(
            "offsets must have dtype int64, got {}",
            off_arr.dtype()
        )));
    }
    if off_arr.ndim() != 1 {
        return Err(PyValueError::new_err(format!(
            "offsets must be 1-D, got ndim={}",
            off_arr.ndim()
        )));
    }
    let off = readonly::<i64>(offsets, "offsets")?;
    let mut copy = Vec::new();
    let off = int64_values(&off, &mut copy, "offsets")?;
    match kind {
        FloatKind::F32 => run_flat::<f32>(py, buffer, off, &params, threads),
        FloatKind::F64 => run_flat::<f64>(py, buffer, off, &params, threads),
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(segment, m)?)?;
    m.add_function(wrap_pyfunction!(segment_flat, m)?)?;
    Ok(())
}
