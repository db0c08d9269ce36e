"""Analytics: counters of published posts, read from each platform on a tiered schedule and kept as
append-only snapshots (docs/analytics.md)."""
