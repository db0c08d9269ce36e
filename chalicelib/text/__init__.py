"""Post length, counted the way each platform counts it.

``check(platform, text, field=...)`` lists the limits a text exceeds; ``measure(platform, text)``
gives its length in each unit the platform limits. One module per counting rule: ``twitter``
(X's weighted length), ``mastodon``, ``graphemes`` (Bluesky), ``plain`` (code points, UTF-16 code
units, UTF-8 bytes); ``units`` names the units; each platform declares which it uses and why
(chalicelib/platforms/<name>/), and ``limits`` applies them.

The names below load ``limits`` on first use: the platforms' declarations import ``units`` from
this package when the API starts, and must not pull the counters (or the platforms) in with it.
"""

__all__ = ["PLATFORM_RULES", "Measurement", "PlatformRule", "Violation", "check", "measure"]


def __getattr__(name: str):
    if name not in __all__:
        raise AttributeError(name)
    from chalicelib.text import limits

    return getattr(limits, name)
