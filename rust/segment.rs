//! Segmentation of variable-length records into fixed windows.
