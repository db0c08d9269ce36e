"""openpost: a self-hostable API for scheduling and cross-posting to social platforms."""
