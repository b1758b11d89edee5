"""Metrics: errors, structure, dynamics, stability and statistics."""
