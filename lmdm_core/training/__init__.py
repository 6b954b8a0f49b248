"""Training the embedded default model: autoencoder (ae.py), latents (latents.py), DiT (dit.py), DDP helpers (ddp.py),
resumable state (state.py), loss plots (plots.py); run.py chains them; cli.py is `lmdm train`."""
