"""The paper's networks: DU-VAE (eq. 1), MM-GAN (eq. 2-6) and the music style classifier."""
