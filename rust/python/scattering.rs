//! `dacl._native.Scattering1D`: the Python face of [`crate::scattering`].

use numpy::{IxDyn, PyArray1, PyArrayDyn, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use super::args::{int_arg, threads_arg};
use super::{run_detached, without_panics};
use crate::real::Real;
use crate::scattering::{PathKind, Reduction, Scattering1D, MAX_J};

fn non_negative(value: i64, name: &str) -> PyResult<usize> {
    usize::try_from(value).map_err(|_| PyValueError::new_err(format!("{name} must be >= 0, got {value}")))
}

/// An int, or a tuple of 1..=max ints.
fn int_or_tuple(value: &Bound<'_, PyAny>, name: &str, max: usize) -> PyResult<Vec<i64>> {
    if let Ok(tuple) = value.cast::<PyTuple>() {
        if tuple.is_empty() || tuple.len() > max {
            return Err(PyValueError::new_err(format!(
                "{name} must be an int or a tuple of 1 to {max} ints, got a tuple of {}",
                tuple.len()
            )));
        }
        return tuple.iter().map(|v| int_arg(&v, name)).collect();
    }
    Ok(vec![int_arg(value, name)?])
}

/// `Q`: an int `q1` (meaning `(q1, 1)`) or a tuple `(q1,)` / `(q1, q2)`, all >= 1.
fn q_arg(value: &Bound<'_, PyAny>) -> PyResult<(usize, usize)> {
    let q = int_or_tuple(value, "Q", 2)?;
    if q.iter().any(|&v| v < 1) {
        return Err(PyValueError::new_err(format!("Q should always be >= 1, got {q:?}")));
    }
    Ok((q[0] as usize, q.get(1).map_or(1, |&v| v as usize)))
}

fn max_order_arg(value: &Bound<'_, PyAny>) -> PyResult<usize> {
    non_negative(int_arg(value, "max_order")?, "max_order")
}

/// 1-D wavelet scattering, numerically identical to kymatio's Scattering1D.
#[pyclass(module = "dacl._native", name = "Scattering1D", frozen)]
pub struct PyScattering1D {
    inner: Scattering1D,
}

#[pymethods]
impl PyScattering1D {
    #[new]
    #[pyo3(
        signature = (J, shape, Q=(1, 1), T=None, max_order=2, reduction="mean"),
        // Written out because pyo3 renders a tuple default as `...`.
        text_signature = "(J, shape, Q=1, T=None, max_order=2, reduction='mean')"
    )]
    #[allow(non_snake_case)]
    fn new(
        J: &Bound<'_, PyAny>,
        shape: &Bound<'_, PyAny>,
        #[pyo3(from_py_with = q_arg)] Q: (usize, usize),
        T: Option<&Bound<'_, PyAny>>,
        #[pyo3(from_py_with = max_order_arg)] max_order: usize,
        reduction: &str,
    ) -> PyResult<Self> {
        let j = int_arg(J, "J")?;
        let j = u32::try_from(j).map_err(|_| {
            let bound = if j < 0 {
                ">= 0".to_string()
            } else {
                format!("at most {MAX_J}")
            };
            PyValueError::new_err(format!("J must be {bound}, got {j}"))
        })?;
        let n = int_or_tuple(shape, "shape", 1)?.first().copied().unwrap_or(0);
        let n = non_negative(n, "shape")?;
        let t = match T {
            None => None,
            Some(t) if t.is_none() => None,
            Some(t) => {
                let t = int_arg(t, "T")?;
                Some(usize::try_from(t).map_err(|_| PyValueError::new_err(format!("T must be >= 1, got {t}")))?)
            }
        };
        let reduction = match reduction {
            "mean" => Reduction::Mean,
            "sum" => Reduction::Sum,
            other => {
                return Err(PyValueError::new_err(format!(
                    "reduction must be 'mean' (kymatio 0.3.0) or 'sum' (kymatio main), got {other:?}"
                )))
            }
        };
        let inner = without_panics(|| Ok(Scattering1D::new(j, n, Q, t, max_order, reduction)?))?;
        Ok(PyScattering1D { inner })
    }

    #[getter(J)]
    fn j(&self) -> u32 {
        self.inner.j()
    }

    #[getter]
    fn shape(&self) -> (usize,) {
        (self.inner.n(),)
    }

    #[getter(Q)]
    fn q(&self) -> (usize, usize) {
        self.inner.q()
    }

    #[getter(T)]
    fn t(&self) -> usize {
        self.inner.t()
    }

    #[getter]
    fn max_order(&self) -> usize {
        self.inner.max_order()
    }

    #[getter]
    fn reduction(&self) -> &'static str {
        self.inner.reduction().name()
    }

    #[getter(N_padded)]
    fn n_padded(&self) -> usize {
        self.inner.n_padded()
    }

    /// Number of scattering paths (rows of the output per signal).
    fn output_size(&self) -> usize {
        self.inner.n_paths()
    }

    /// Per-path metadata, as kymatio's `meta()`: 'order' (P,), 'xi', 'sigma',
    /// 'j', 'n' (P, max_order) padded with NaN, and 'key' (list of tuples).
    fn meta<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let (fam1, fam2) = self.inner.families();
        let paths = self.inner.paths();
        let width = self.inner.max_order();
        let mut order = Vec::with_capacity(paths.len());
        let mut xi = Vec::with_capacity(paths.len() * width);
        let mut sigma = Vec::with_capacity(paths.len() * width);
        let mut j = Vec::with_capacity(paths.len() * width);
        let mut n = Vec::with_capacity(paths.len() * width);
        let keys = pyo3::types::PyList::empty(py);
        for path in &paths {
            let filters: Vec<(usize, usize)> = match *path {
                PathKind::Zeroth => vec![],
                PathKind::First { n1 } => vec![(1, n1)],
                PathKind::Second { n1, n2 } => vec![(1, n1), (2, n2)],
            };
            order.push(filters.len() as i64);
            for slot in 0..width {
                match filters.get(slot) {
                    Some(&(level, idx)) => {
                        let fam = if level == 1 { fam1 } else { fam2 };
                        xi.push(fam.xi[idx]);
                        sigma.push(fam.sigma[idx]);
                        j.push(fam.j[idx] as f64);
                        n.push(idx as f64);
                    }
                    None => {
                        for v in [&mut xi, &mut sigma, &mut j, &mut n] {
                            v.push(f64::NAN);
                        }
                    }
                }
            }
            keys.append(PyTuple::new(py, filters.iter().map(|&(_, idx)| idx))?)?;
        }
        let dict = PyDict::new(py);
        let rows = paths.len();
        dict.set_item("order", PyArray1::from_vec(py, order))?;
        for (name, values) in [("xi", xi), ("sigma", sigma), ("j", j), ("n", n)] {
            dict.set_item(name, PyArray1::from_vec(py, values).reshape([rows, width])?)?;
        }
        dict.set_item("key", keys)?;
        Ok(dict)
    }

    /// Scattering coefficients of `x` (..., N), float32 or float64, as an array
    /// (..., P, T_out) of the same dtype.
    #[pyo3(signature = (x, num_threads=None))]
    fn scattering<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        num_threads: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let num_threads = threads_arg(num_threads)?;
        if let Ok(array) = x.cast::<PyArrayDyn<f64>>() {
            return self.run(py, array, num_threads);
        }
        if let Ok(array) = x.cast::<PyArrayDyn<f32>>() {
            return self.run(py, array, num_threads);
        }
        match x.cast::<PyUntypedArray>() {
            Ok(array) => Err(PyTypeError::new_err(format!(
                "x must be a float32 or float64 array, got dtype {}",
                array.dtype()
            ))),
            Err(_) => Err(PyTypeError::new_err(format!(
                "x must be a numpy array, got {}",
                x.get_type().name()?
            ))),
        }
    }

    #[pyo3(signature = (x, num_threads=None))]
    fn __call__<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        num_threads: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.scattering(py, x, num_threads)
    }

    fn __repr__(&self) -> String {
        let s = &self.inner;
        format!(
            "Scattering1D(J={}, shape=({},), Q={:?}, T={}, max_order={}, reduction='{}')",
            s.j(),
            s.n(),
            s.q(),
            s.t(),
            s.max_order(),
            s.reduction().name()
        )
    }
}

impl PyScattering1D {
    fn run<'py, T: Real + numpy::Element>(
        &self,
        py: Python<'py>,
        array: &Bound<'py, PyArrayDyn<T>>,
        num_threads: Option<usize>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let n = self.inner.n();
        let shape = array.shape().to_vec();
        match shape.last() {
            None => return Err(PyValueError::new_err("x must have at least one axis (the signal)")),
            Some(&last) if last != n => {
                return Err(PyValueError::new_err(format!(
                    "x has {last} samples on its last axis, but this transform was built for shape=({n},)"
                )))
            }
            _ => {}
        }
        if array.len() == 0 {
            return Err(PyValueError::new_err(format!("x is empty (shape {shape:?})")));
        }
        if !array.is_c_contiguous() {
            return Err(PyValueError::new_err(
                "x must be C-contiguous (use numpy.ascontiguousarray)",
            ));
        }
        let readonly = array.readonly();
        let signals = readonly
            .as_slice()
            .map_err(|e| PyValueError::new_err(format!("x: {e}")))?;
        let plan = &self.inner;
        let coefficients = run_detached(py, num_threads, || plan.transform(signals))?;
        let mut out_shape = shape[..shape.len() - 1].to_vec();
        out_shape.extend([plan.n_paths(), plan.output_len()]);
        Ok(PyArray1::from_vec(py, coefficients)
            .reshape(IxDyn(&out_shape))?
            .into_any())
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyScattering1D>()
}
