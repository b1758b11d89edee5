"""Data: registry, readers, frames, splits and reference-data generators (``generate``)."""
