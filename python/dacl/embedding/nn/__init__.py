"""The networks: the U-Net encoder, the denoising autoencoder, DiffAug's encoder, head and denoiser."""
