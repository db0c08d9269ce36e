"""Domain logic: what openpost does, independent of HTTP and of how records are stored."""
