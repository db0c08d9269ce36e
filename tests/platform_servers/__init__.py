"""Local servers that behave as platforms document their APIs, for tests."""
