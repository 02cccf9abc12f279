"""What every rank runs: the pipeline train(run), the trainer arguments, the worker entry, checkpoints and the
guards around training (non-finite loss, pre-emption). Heavy: imports torch and TRL."""
