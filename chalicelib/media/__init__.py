"""Uploaded media: what a stored file really is (probe), read from its bytes in small ranges."""
