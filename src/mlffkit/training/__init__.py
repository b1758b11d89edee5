"""Training: losses, schedules and the trainer."""
