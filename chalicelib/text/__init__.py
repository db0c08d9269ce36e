"""Post length, counted the way each platform counts it.

``check(platform, text, field=...)`` lists the limits a text exceeds; ``measure(platform, text)``
gives its length in each unit the platform limits. One module per counting rule: ``twitter``
(X's weighted length), ``mastodon``, ``graphemes`` (Bluesky), ``plain`` (code points, UTF-16 code
units, UTF-8 bytes); ``limits`` says which platform uses which, and why.
"""

from chalicelib.text.limits import (
    PLATFORM_RULES,
    Measurement,
    PlatformRule,
    Violation,
    check,
    measure,
)

__all__ = ["PLATFORM_RULES", "Measurement", "PlatformRule", "Violation", "check", "measure"]
