"""Views of a sample for contrastive learning: forward diffusion, Gaussian noise, DiffAug generations."""
