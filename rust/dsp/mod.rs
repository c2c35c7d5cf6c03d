//! Signal-processing numerics that reproduce scipy.signal to rounding, used by
//! [`crate::segment`]: polyphase resampling ([`resample`]), Butterworth
//! band-pass design ([`butter`]) and zero-phase filtering ([`sosfilt`]).

pub mod butter;
pub mod resample;
pub mod sosfilt;

pub use butter::{butter_bandpass, Sos, MAX_BAND_ORDER};
pub use resample::{rational_ratio, resample_poly, resampled_len, MAX_RATE_FACTOR};
pub use sosfilt::{sosfiltfilt, sosfiltfilt_padlen};
