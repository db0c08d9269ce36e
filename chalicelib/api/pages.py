"""Small HTML pages for the few routes a person's browser lands on (the X OAuth callback).

Everything else in the API answers JSON; these routes are reached by a redirect from the platform,
so a person reads the answer, and a page says plainly what happened. Anything echoed from the
request or a platform is HTML-escaped.
"""

from __future__ import annotations

import html
from collections.abc import Mapping

from chalice import Response

PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - openpost</title>
<style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;line-height:1.5}}
code{{background:#f2f2f2;padding:0 .25rem}}</style></head>
<body><h1>{title}</h1>
<p>{message}</p>
{code}</body>
</html>
"""


def wants_json(headers: Mapping[str, str]) -> bool:
    """True when the client asked for JSON (a program), rather than a page (a browser)."""
    accept = (headers.get("accept") or "").lower()
    return "json" in accept and "text/html" not in accept


def page(status: int, title: str, message: str, code: str = "") -> Response:
    shown_code = f"<p>Error code: <code>{html.escape(code)}</code></p>\n" if code else ""
    body = PAGE.format(title=html.escape(title), message=html.escape(message), code=shown_code)
    return Response(
        body=body,
        status_code=status,
        headers={
            "Content-Type": "text/html; charset=utf-8",
            "Cache-Control": "no-store",
            # Nothing on this page loads or runs anything from elsewhere.
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
        },
    )
