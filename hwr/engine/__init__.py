"""Training: the run's config, checkpoints that can be resumed, and the training loop."""
