"""The latent stage: the lightweight VAE and the standardisers of vectors and latents."""
