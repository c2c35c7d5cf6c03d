//! Diffusion noise schedules and batched q_sample.
