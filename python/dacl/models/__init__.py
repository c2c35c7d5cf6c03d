"""Neural networks of DACL and its baselines."""

from dacl.models.unet import EncoderOutput, UNet1DEncoder
from dacl.models.vae import VAE, DenoisingAutoencoder, VAEOutput, vae_loss

__all__ = ["VAE", "VAEOutput", "vae_loss", "DenoisingAutoencoder", "UNet1DEncoder", "EncoderOutput"]
