//! Sizes and allocations that can fail without aborting the process.
//!
//! Every size that comes from a caller is computed with checked arithmetic
//! ([`product`]), and every buffer whose size a caller controls is allocated
//! with [`try_zeros`] or [`try_with_capacity`]. A size that does not fit
//! the address space is [`DaclError::InvalidArgument`] (Python `ValueError`,
//! as numpy's "array is too big"); memory the system refuses is
//! [`DaclError::OutOfMemory`] (Python `MemoryError`). Neither aborts, which
//! a plain `vec!` does when the allocation fails.

use std::alloc::Layout;

use rustfft::num_complex::Complex;

use crate::error::{DaclError, Result};

/// `factors` multiplied, or an `InvalidArgument` naming `what` if the
/// product overflows `usize`.
pub fn product(what: &str, factors: &[usize]) -> Result<usize> {
    factors
        .iter()
        .try_fold(1usize, |acc, &f| acc.checked_mul(f))
        .ok_or_else(|| {
            let shown: Vec<String> = factors.iter().map(|f| f.to_string()).collect();
            DaclError::invalid(format!("{what} is too large: {} overflows", shown.join(" × ")))
        })
}

/// Bytes taken by `len` values of `T`; an `InvalidArgument` when that is
/// more than any allocation may hold (`isize::MAX` bytes).
pub fn bytes_for<T>(what: &str, len: usize) -> Result<usize> {
    len.checked_mul(std::mem::size_of::<T>())
        .filter(|&bytes| bytes <= isize::MAX as usize)
        .ok_or_else(|| {
            DaclError::invalid(format!(
                "cannot allocate {what}: {len} values of {} bytes exceed the address space",
                std::mem::size_of::<T>()
            ))
        })
}

/// Refuse an array shape whose extent in bytes (the product of its axis
/// lengths, empty axes counted as 1, times the value size) exceeds
/// `isize::MAX`, as numpy does ("array is too big"): its strides are
/// computed from that extent even when the array is empty, and an
/// overflowing stride crashes numpy.
pub fn check_array_shape<T>(what: &str, shape: &[usize]) -> Result<()> {
    shape
        .iter()
        .try_fold(std::mem::size_of::<T>(), |acc, &d| acc.checked_mul(d.max(1)))
        .filter(|&bytes| bytes <= isize::MAX as usize)
        .map(|_| ())
        .ok_or_else(|| {
            DaclError::invalid(format!(
                "{what} of shape {shape:?} would span more than the address space"
            ))
        })
}

/// An empty vector with room for exactly `len` values, or an error naming
/// `what` (see the module docs).
pub fn try_with_capacity<T>(what: &str, len: usize) -> Result<Vec<T>> {
    let bytes = bytes_for::<T>(what, len)?;
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| DaclError::OutOfMemory {
        what: what.to_string(),
        bytes,
    })?;
    Ok(v)
}

/// Types whose all-zero bytes are a valid value (their zero), so that zeroed
/// memory is a vector of zeros.
///
/// # Safety
/// Implement only for types that are not zero-sized and for which every
/// all-zero byte pattern is a valid value.
pub unsafe trait ZeroBits: Copy {}

// SAFETY: +0.0 is all zero bits in IEEE 754.
unsafe impl ZeroBits for f32 {}
// SAFETY: as for f32.
unsafe impl ZeroBits for f64 {}
// SAFETY: `Complex` is `repr(C)` { re, im }, two values of a ZeroBits type.
unsafe impl<F: ZeroBits> ZeroBits for Complex<F> {}

/// `len` zeros, or an error naming `what` (see the module docs). The memory
/// comes zeroed from the allocator, as for `vec![0.0; len]`: fresh pages
/// are not written twice.
pub fn try_zeros<T: ZeroBits>(what: &str, len: usize) -> Result<Vec<T>> {
    let bytes = bytes_for::<T>(what, len)?;
    if len == 0 {
        return Ok(Vec::new());
    }
    let layout = Layout::array::<T>(len).map_err(|_| DaclError::invalid(format!("cannot allocate {what}")))?;
    // SAFETY: the layout's size is not zero (len > 0 and T is not zero-sized).
    let ptr = unsafe { std::alloc::alloc_zeroed(layout) }.cast::<T>();
    if ptr.is_null() {
        return Err(DaclError::OutOfMemory {
            what: what.to_string(),
            bytes,
        });
    }
    // SAFETY: `ptr` is from the global allocator with the layout of `len`
    // values of `T` (capacity `len`), and zero bytes are valid `T`s.
    Ok(unsafe { Vec::from_raw_parts(ptr, len, len) })
}

/// `bytes` in the largest binary unit that keeps it at least 1 (for messages).
pub fn human_bytes(bytes: usize) -> String {
    const UNITS: [&str; 6] = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_that_overflow_are_invalid_arguments() {
        assert_eq!(product("x", &[3, 4, 5]).unwrap(), 60);
        assert_eq!(product("x", &[]).unwrap(), 1);
        assert_eq!(product("x", &[0, usize::MAX]).unwrap(), 0);
        let err = product("the output", &[1 << 40, 1 << 30]).unwrap_err();
        assert!(
            matches!(&err, DaclError::InvalidArgument(m) if m.contains("the output is too large")),
            "{err}"
        );
    }

    #[test]
    fn sizes_beyond_the_address_space_are_invalid_arguments() {
        assert_eq!(bytes_for::<f64>("x", 10).unwrap(), 80);
        assert_eq!(bytes_for::<u8>("x", isize::MAX as usize).unwrap(), isize::MAX as usize);
        assert!(matches!(
            bytes_for::<u8>("x", isize::MAX as usize + 1),
            Err(DaclError::InvalidArgument(_))
        ));
        assert!(matches!(
            bytes_for::<f64>("x", 1 << 62),
            Err(DaclError::InvalidArgument(_))
        ));
        assert!(matches!(
            try_zeros::<f32>("x", usize::MAX),
            Err(DaclError::InvalidArgument(_))
        ));
    }

    #[test]
    fn array_shapes_count_empty_axes_as_one() {
        assert!(check_array_shape::<f32>("x", &[0, 1 << 30, 1 << 30]).is_ok());
        assert!(check_array_shape::<f64>("x", &[]).is_ok());
        // Empty, but its strides would overflow: numpy refuses it too.
        let err = check_array_shape::<f32>("x", &[0, (1 << 31) + 1, (1 << 31) - 1]).unwrap_err();
        assert!(
            matches!(&err, DaclError::InvalidArgument(m) if m.contains("address space")),
            "{err}"
        );
        assert!(check_array_shape::<u8>("x", &[1 << 61, 2, 0, 1]).is_ok());
        assert!(check_array_shape::<u8>("x", &[1 << 62, 2]).is_err());
        assert!(check_array_shape::<u16>("x", &[0, 1 << 62]).is_err());
    }

    #[test]
    fn refused_allocations_are_out_of_memory_not_an_abort() {
        // 2^60 bytes fit the address space but no machine's memory.
        match try_with_capacity::<u8>("a huge buffer", 1 << 60) {
            Err(DaclError::OutOfMemory { what, bytes }) => {
                assert_eq!(what, "a huge buffer");
                assert_eq!(bytes, 1 << 60);
            }
            other => panic!("{other:?}"),
        }
        match try_zeros::<f64>("zeros", 1 << 57) {
            Err(DaclError::OutOfMemory { bytes, .. }) => assert_eq!(bytes, 1 << 60),
            other => panic!("{other:?}"),
        }
        let v = try_zeros::<f64>("small", 5).unwrap();
        assert_eq!(v, vec![0.0; 5]);
        assert_eq!(v.capacity(), 5);
        let c = try_zeros::<Complex<f32>>("small", 3).unwrap();
        assert_eq!(c, vec![Complex::new(0.0, 0.0); 3]);
        assert!(try_zeros::<f32>("none", 0).unwrap().is_empty());
    }

    #[test]
    fn byte_counts_read_well() {
        assert_eq!(human_bytes(512), "512 bytes");
        assert_eq!(human_bytes(3 << 30), "3.0 GiB");
        assert_eq!(human_bytes(8 << 40), "8.0 TiB");
    }
}
