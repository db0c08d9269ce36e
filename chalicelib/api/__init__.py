"""The HTTP API: one blueprint per resource, each handler parses, calls the domain, serialises."""
