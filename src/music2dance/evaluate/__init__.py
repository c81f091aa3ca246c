"""Metrics of the field and our own, reference baselines and the evaluation report."""
