"""Functions triggered by schedules and queues. Each module exposes ``handle(event, context)``."""
