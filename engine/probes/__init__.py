"""Probes: what a trained model is measured by (docs/jobs.md, kinds linear, finetune,
sensitivity, accuracy). Each module holds one job function `run`."""
