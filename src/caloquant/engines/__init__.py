"""Inference engines behind one contract (caloquant.contract): latent vectors in, showers out."""
