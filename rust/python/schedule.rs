//! Bindings for [`crate::schedule`] and [`crate::rng`]: the schedule
//! functions, the `NoiseSchedule` class with `q_sample`, `forward_noise`
//! (the same noising at a level per row) and `standard_normal`.

use numpy::ndarray::{ArrayD, IxDyn};
use numpy::{
    dtype, Element, IntoPyArray, PyArray1, PyArray2, PyArrayDescrMethods, PyArrayDyn, PyArrayMethods, PyUntypedArray,
    PyUntypedArrayMethods, ToPyArray,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use super::args::{int64_values, int_arg, threads_arg, u64_arg};
use super::{run_detached, without_panics};
use crate::memory::{check_array_shape, product, try_zeros};
use crate::real::Real;
use crate::rng::standard_normals;
use crate::schedule::{
    cosine_betas, forward_noise as schedule_forward_noise, linear_betas, sigmoid_betas, NoiseSchedule, ScheduleKind,
};

fn offset_arg(obj: &Bound<'_, PyAny>) -> PyResult<u64> {
    u64_arg(obj, "offset")
}

fn timesteps_arg(obj: &Bound<'_, PyAny>) -> PyResult<usize> {
    let v = int_arg(obj, "timesteps")?;
    if v <= 0 {
        return Err(PyValueError::new_err(format!("timesteps must be >= 1, got {v}")));
    }
    Ok(v as usize)
}

/// A diffusion noise schedule: β, α = 1 - β and ᾱ (cumulative product), all
/// float64 of length `timesteps`; index t is diffusion step t + 1.
#[pyclass(name = "NoiseSchedule", module = "dacl._native", frozen)]
struct PyNoiseSchedule {
    inner: NoiseSchedule,
}

/// Whether the `(B, D)` rows `obj` (called `name` in messages) are float64 (else float32); any other
/// type, rank or layout is an error.
fn check_rows(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<bool> {
    let py = obj.py();
    let arr = obj
        .cast::<PyUntypedArray>()
        .map_err(|_| PyTypeError::new_err(format!("{name} must be a numpy.ndarray")))?;
    let is_f64 = if arr.dtype().is_equiv_to(&dtype::<f64>(py)) {
        true
    } else if arr.dtype().is_equiv_to(&dtype::<f32>(py)) {
        false
    } else {
        return Err(PyTypeError::new_err(format!(
            "{name} must have dtype float32 or float64, got {}",
            arr.dtype()
        )));
    };
    if arr.ndim() != 2 {
        return Err(PyValueError::new_err(format!(
            "{name} must be 2-D (B, D), got ndim={}",
            arr.ndim()
        )));
    }
    if !arr.is_c_contiguous() {
        return Err(PyValueError::new_err(format!(
            "{name} is not C-contiguous (pass numpy.ascontiguousarray({name}))"
        )));
    }
    Ok(is_f64)
}

impl PyNoiseSchedule {
    #[allow(clippy::too_many_arguments)]
    fn q_sample_typed<'py, T: Real + Element>(
        &self,
        py: Python<'py>,
        z0: &Bound<'py, PyAny>,
        t: &[i64],
        views: Option<usize>,
        seed: u64,
        offset: u64,
        threads: Option<usize>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let arr = z0
            .cast::<PyArray2<T>>()
            .map_err(|_| PyTypeError::new_err("z0 has an unexpected dtype"))?;
        let ro = arr
            .try_readonly()
            .map_err(|e| PyValueError::new_err(format!("z0 cannot be borrowed: {e}")))?;
        let (batch, dim) = (ro.shape()[0], ro.shape()[1]);
        let x = ro.as_slice().map_err(|e| PyValueError::new_err(e.to_string()))?;
        let k = views.unwrap_or(1);
        let shape: Vec<usize> = match views {
            None => vec![batch, dim],
            Some(k) => vec![batch, k, dim],
        };
        check_array_shape::<T>("q_sample's outputs", &shape)?;
        let what = format!("q_sample's outputs ({batch} × {k} × {dim} values each)");
        let n = product(&what, &[batch, k, dim])?;
        let mut z = try_zeros::<T>(&what, n)?;
        let mut e = try_zeros::<T>(&what, n)?;
        let schedule = &self.inner;
        run_detached(py, threads, || {
            schedule.q_sample(x, batch, dim, t, k, seed, offset, &mut z, &mut e)
        })?;
        let to_arr = |v: Vec<T>| -> PyResult<Bound<'py, PyAny>> {
            Ok(ArrayD::from_shape_vec(IxDyn(&shape), v)
                .map_err(|e| PyValueError::new_err(format!("internal shape error: {e}")))?
                .into_pyarray(py)
                .into_any())
        };
        PyTuple::new(py, [to_arr(z)?, to_arr(e)?])
    }
}

#[pymethods]
impl PyNoiseSchedule {
    #[new]
    #[pyo3(signature = (kind, timesteps, **params))]
    fn new(kind: &str, timesteps: &Bound<'_, PyAny>, params: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let kind = ScheduleKind::parse(kind)?;
        let timesteps = timesteps_arg(timesteps)?;
        let mut overrides = Vec::new();
        if let Some(params) = params {
            for (key, value) in params.iter() {
                let key: String = key.extract()?;
                let value = value
                    .extract::<f64>()
                    .map_err(|_| PyTypeError::new_err(format!("{key} must be a real number")))?;
                overrides.push((key, value));
            }
        }
        let inner = without_panics(|| Ok(NoiseSchedule::new(kind, timesteps, &overrides)?))?;
        Ok(PyNoiseSchedule { inner })
    }

    #[getter]
    fn kind(&self) -> &'static str {
        self.inner.kind.name()
    }

    #[getter]
    fn timesteps(&self) -> usize {
        self.inner.timesteps()
    }

    /// The schedule parameters in effect (defaults filled in).
    #[getter]
    fn params<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (k, v) in &self.inner.params {
            d.set_item(k, v)?;
        }
        Ok(d)
    }

    #[getter]
    fn betas<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        self.inner.betas.to_pyarray(py)
    }

    #[getter]
    fn alphas<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        self.inner.alphas.to_pyarray(py)
    }

    #[getter]
    fn alphas_cumprod<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        self.inner.alphas_cumprod.to_pyarray(py)
    }

    fn __len__(&self) -> usize {
        self.inner.timesteps()
    }

    fn __repr__(&self) -> String {
        let p: Vec<String> = self.inner.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!(
            "NoiseSchedule(kind={:?}, timesteps={}, {})",
            self.inner.kind.name(),
            self.inner.timesteps(),
            p.join(", ")
        )
    }

    /// z_t = sqrt(ᾱ_t) z0 + sqrt(1 - ᾱ_t) ε. Returns `(z_t, eps)`.
    #[pyo3(signature = (z0, t, seed, offset=0, num_threads=None))]
    fn q_sample<'py>(
        &self,
        py: Python<'py>,
        z0: &Bound<'py, PyAny>,
        t: &Bound<'py, PyAny>,
        seed: &Bound<'py, PyAny>,
        #[pyo3(from_py_with = offset_arg)] offset: u64,
        num_threads: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let is_f64 = check_rows(z0, "z0")?;
        let seed = u64_arg(seed, "seed")?;
        let threads = threads_arg(num_threads.as_ref())?;
        let t_arr = t
            .cast::<PyUntypedArray>()
            .map_err(|_| PyTypeError::new_err("t must be a numpy.ndarray of int64"))?;
        if !t_arr.dtype().is_equiv_to(&dtype::<i64>(py)) {
            return Err(PyTypeError::new_err(format!(
                "t must have dtype int64, got {}",
                t_arr.dtype()
            )));
        }
        let views = match t_arr.ndim() {
            1 => None,
            2 => Some(t_arr.shape()[1]),
            d => return Err(PyValueError::new_err(format!("t must be (B,) or (B, K), got ndim={d}"))),
        };
        let t_rows = t_arr.shape()[0];
        let z_rows = z0.cast::<PyUntypedArray>()?.shape()[0];
        if t_rows != z_rows {
            return Err(PyValueError::new_err(format!(
                "t has {t_rows} rows but z0 has B = {z_rows}"
            )));
        }
        let t_ro = t
            .cast::<PyArrayDyn<i64>>()?
            .try_readonly()
            .map_err(|e| PyValueError::new_err(format!("t cannot be borrowed: {e}")))?;
        let mut copy = Vec::new();
        let t_values = int64_values(&t_ro, &mut copy, "t")?;
        if is_f64 {
            self.q_sample_typed::<f64>(py, z0, t_values, views, seed, offset, threads)
        } else {
            self.q_sample_typed::<f32>(py, z0, t_values, views, seed, offset, threads)
        }
    }
}

/// Standard normals (float64) at stream positions `offset .. offset + size`
/// of `seed`: the same numbers `q_sample` uses for its ε.
#[pyfunction]
#[pyo3(signature = (shape_or_n, seed, offset=0))]
fn standard_normal<'py>(
    py: Python<'py>,
    shape_or_n: &Bound<'py, PyAny>,
    seed: &Bound<'py, PyAny>,
    #[pyo3(from_py_with = offset_arg)] offset: u64,
) -> PyResult<Bound<'py, PyAny>> {
    let shape: Vec<usize> = if let Ok(tuple) = shape_or_n.cast::<PyTuple>() {
        tuple
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let v = int_arg(&d, &format!("shape[{i}]"))?;
                if v < 0 {
                    return Err(PyValueError::new_err(format!("shape[{i}] must be >= 0, got {v}")));
                }
                Ok(v as usize)
            })
            .collect::<PyResult<_>>()?
    } else {
        let v = int_arg(shape_or_n, "shape_or_n")?;
        if v < 0 {
            return Err(PyValueError::new_err(format!("shape_or_n must be >= 0, got {v}")));
        }
        vec![v as usize]
    };
    let seed = u64_arg(seed, "seed")?;
    let size = product("the requested shape", &shape)?;
    let out = run_detached(py, None, || standard_normals(seed, offset, size))?;
    // Only an empty shape can fail here (a non-empty one is at most 2**40 values).
    check_array_shape::<f64>("the requested array", &shape)?;
    Ok(ArrayD::from_shape_vec(IxDyn(&shape), out)
        .map_err(|e| PyValueError::new_err(format!("internal shape error: {e}")))?
        .into_pyarray(py)
        .into_any())
}

/// Forward noising at a level of its own per row: `x_t = sqrt(ᾱ) x0 + sqrt(1 - ᾱ) ε`. Returns `(x_t, eps)`.
#[pyfunction]
#[pyo3(signature = (x0, abar, seed, offset=0, num_threads=None))]
fn forward_noise<'py>(
    py: Python<'py>,
    x0: &Bound<'py, PyAny>,
    abar: &Bound<'py, PyAny>,
    seed: &Bound<'py, PyAny>,
    #[pyo3(from_py_with = offset_arg)] offset: u64,
    num_threads: Option<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyTuple>> {
    let is_f64 = check_rows(x0, "x0")?;
    let seed = u64_arg(seed, "seed")?;
    let threads = threads_arg(num_threads.as_ref())?;
    let levels = abar
        .cast::<PyArray1<f64>>()
        .map_err(|_| PyTypeError::new_err("abar must be a 1-D numpy.ndarray of float64"))?
        .try_readonly()
        .map_err(|e| PyValueError::new_err(format!("abar cannot be borrowed: {e}")))?;
    let levels = levels
        .as_slice()
        .map_err(|e| PyValueError::new_err(format!("abar: {e}")))?;
    if is_f64 {
        forward_noise_typed::<f64>(py, x0, levels, seed, offset, threads)
    } else {
        forward_noise_typed::<f32>(py, x0, levels, seed, offset, threads)
    }
}

fn forward_noise_typed<'py, T: Real + Element>(
    py: Python<'py>,
    x0: &Bound<'py, PyAny>,
    abar: &[f64],
    seed: u64,
    offset: u64,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyTuple>> {
    let arr = x0
        .cast::<PyArray2<T>>()
        .map_err(|_| PyTypeError::new_err("x0 has an unexpected dtype"))?;
    let ro = arr
        .try_readonly()
        .map_err(|e| PyValueError::new_err(format!("x0 cannot be borrowed: {e}")))?;
    let (rows, dim) = (ro.shape()[0], ro.shape()[1]);
    if abar.len() != rows {
        return Err(PyValueError::new_err(format!(
            "abar has {} levels but x0 has {rows} rows",
            abar.len()
        )));
    }
    let x = ro.as_slice().map_err(|e| PyValueError::new_err(e.to_string()))?;
    let what = format!("forward_noise's outputs ({rows} × {dim} values each)");
    let n = product(&what, &[rows, dim])?;
    let mut out = try_zeros::<T>(&what, n)?;
    let mut eps = try_zeros::<T>(&what, n)?;
    run_detached(py, threads, || {
        schedule_forward_noise(x, rows, dim, abar, seed, offset, &mut out, &mut eps)
    })?;
    let to_arr = |v: Vec<T>| -> PyResult<Bound<'py, PyAny>> {
        Ok(ArrayD::from_shape_vec(IxDyn(&[rows, dim]), v)
            .map_err(|e| PyValueError::new_err(format!("internal shape error: {e}")))?
            .into_pyarray(py)
            .into_any())
    };
    PyTuple::new(py, [to_arr(out)?, to_arr(eps)?])
}

fn betas_array<'py>(
    py: Python<'py>,
    betas: impl FnOnce() -> crate::Result<Vec<f64>>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    Ok(without_panics(|| Ok(betas()?))?.into_pyarray(py))
}

/// Linear β (Ho et al. 2020).
#[pyfunction]
#[pyo3(name = "linear_betas", signature = (timesteps, beta_start=1e-4, beta_end=0.02))]
fn py_linear_betas<'py>(
    py: Python<'py>,
    timesteps: &Bound<'py, PyAny>,
    beta_start: f64,
    beta_end: f64,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let timesteps = timesteps_arg(timesteps)?;
    betas_array(py, || linear_betas(timesteps, beta_start, beta_end))
}

/// Cosine β (Nichol & Dhariwal 2021, eq. 17), clipped to `max_beta`.
#[pyfunction]
#[pyo3(name = "cosine_betas", signature = (timesteps, s=0.008, max_beta=0.999))]
fn py_cosine_betas<'py>(
    py: Python<'py>,
    timesteps: &Bound<'py, PyAny>,
    s: f64,
    max_beta: f64,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let timesteps = timesteps_arg(timesteps)?;
    betas_array(py, || cosine_betas(timesteps, s, max_beta))
}

/// Sigmoid β (Jabri et al. 2022), clipped to [0, `max_beta`].
#[pyfunction]
// Written out because pyo3 renders the negative default `start=-3.0` as `...`.
#[pyo3(
    name = "sigmoid_betas",
    signature = (timesteps, start=-3.0, end=3.0, tau=1.0, max_beta=0.999),
    text_signature = "(timesteps, start=-3.0, end=3.0, tau=1.0, max_beta=0.999)"
)]
fn py_sigmoid_betas<'py>(
    py: Python<'py>,
    timesteps: &Bound<'py, PyAny>,
    start: f64,
    end: f64,
    tau: f64,
    max_beta: f64,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let timesteps = timesteps_arg(timesteps)?;
    betas_array(py, || sigmoid_betas(timesteps, start, end, tau, max_beta))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyNoiseSchedule>()?;
    m.add_function(wrap_pyfunction!(standard_normal, m)?)?;
    m.add_function(wrap_pyfunction!(forward_noise, m)?)?;
    m.add_function(wrap_pyfunction!(py_linear_betas, m)?)?;
    m.add_function(wrap_pyfunction!(py_cosine_betas, m)?)?;
    m.add_function(wrap_pyfunction!(py_sigmoid_betas, m)?)?;
    Ok(())
}
