"""One hierarchy of errors: every code a caller can meet means one HTTP status, wherever it is raised.

The codes are read from the source (each error class's ``code`` and every ``SomeError(..., code="x")``
raised in chalicelib/). A code that is some class's own answers that class's status whoever raises
it; any other code must be raised with one status only, or a new raise that gives it another fails
here.
"""

from __future__ import annotations

import ast
import json
import pathlib

from chalicelib import errors
from chalicelib.api.problems import from_error
from chalicelib.media import probe
from chalicelib.platforms import base

ROOT = pathlib.Path(__file__).resolve().parents[2] / "chalicelib"


def _literal(node: ast.AST | None):
    return node.value if isinstance(node, ast.Constant) else None


def _classes(trees: list[ast.Module]) -> dict[str, tuple[list[str], int | None, str | None]]:
    """Each error class in the source: its bases, and the status and code it sets itself."""
    found = {}
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name.endswith("Error"):
                own = {
                    target.id: _literal(statement.value)
                    for statement in node.body
                    if isinstance(statement, ast.Assign)
                    for target in statement.targets
                    if isinstance(target, ast.Name)
                }
                bases = [b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases]
                found[node.name] = (bases, own.get("status"), own.get("code"))
    return found


def _resolve(name: str, classes, attribute: int) -> object:
    while name in classes:
        bases, status, code = classes[name]
        value = (status, code)[attribute - 1]
        if value is not None:
            return value
        name = bases[0] if bases else ""
    return None


def test_each_code_means_one_status():
    trees = [ast.parse(path.read_text()) for path in ROOT.rglob("*.py")]
    classes = {name: entry for name, entry in _classes(trees).items() if _resolve(name, _classes(trees), 1) is not None}
    statuses: dict[str, set[tuple[int, str]]] = {}

    def seen(code, status, where):
        statuses.setdefault(code, set()).add((status, where))

    for name in classes:
        seen(_resolve(name, classes, 2), _resolve(name, classes, 1), name)
    for tree in trees:
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            called = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            code = next((_literal(k.value) for k in node.keywords if k.arg == "code"), None)
            if called in classes and isinstance(code, str):
                raised = errors.OpenpostError("x", code=code) if code in errors._BY_CODE else None
                seen(code, raised.status if raised else _resolve(called, classes, 1), called)
    assert len(statuses) > 20  # the scan found the hierarchy
    twice = {code: sorted(found) for code, found in statuses.items() if len({status for status, _ in found}) > 1}
    assert not twice, twice


def test_platform_media_and_fetch_errors_share_the_base_and_render_as_problems():
    for kind in (base.PlatformError, base.TransientError, errors.MediaRejectedError, errors.MediaFetchError):
        assert issubclass(kind, errors.OpenpostError)
    limited = base.PlatformRateLimitedError("Slow down.", retry_after=7)
    answer = from_error(limited)
    assert answer.status_code == 429 and answer.headers["Retry-After"] == "7"
    assert json.loads(answer.body)["code"] == "rate_limited" and limited.message == "Slow down."
    too_large = base.PermanentError("Mastodon refused the file: too large.", code="media_too_large")
    assert (too_large.status, from_error(too_large).status_code) == (422, 422)
    refused = errors.MediaRejectedError("The file is empty.", code=probe.EMPTY_FILE)
    body = json.loads(from_error(refused).body)
    assert (body["status"], body["code"], body["detail"]) == (422, "empty_file", "The file is empty.")
