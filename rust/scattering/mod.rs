//! kymatio-exact 1-D wavelet scattering.
