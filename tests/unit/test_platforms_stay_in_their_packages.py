"""Everything about a platform is declared in its package under chalicelib/platforms/: no other
module of chalicelib/ names a platform. Adding a platform is then adding a package, and no table
elsewhere can fall out of step with it.

"Names a platform" means a string literal, or an identifier, equal to a platform's name or alias as
the registry knows them. Text inside f-strings is prose ("{width}x{height}"), not a literal, and is
not counted. Module names are not identifiers either: chalicelib/text/twitter.py and mastodon.py
are counting algorithms those platforms published (X's weighted length, Mastodon's status length),
which platforms select by unit in their descriptors (chalicelib/text/units.py).
"""

from __future__ import annotations

import ast
import pathlib

from chalicelib.platforms import registry

ROOT = pathlib.Path(__file__).resolve().parents[2] / "chalicelib"

# (module, name): each kept on purpose, and why.
ALLOWED = {
    # A placeholder character the length of a URL, as Mastodon counts URLs: the letter, not X.
    ("text/mastodon.py", "x"),
}


def _prose(tree: ast.AST) -> set:
    """The string constants that are the text parts of f-strings."""
    return {id(value) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for value in node.values}


def _named(path: pathlib.Path, names: set) -> set:
    tree = ast.parse(path.read_text(), filename=str(path))
    prose = _prose(tree)
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in prose:
            if node.value.lower() in names:
                found.add(node.value.lower())
        elif isinstance(node, ast.Name) and node.id.lower() in names:
            found.add(node.id.lower())
        elif isinstance(node, ast.Attribute) and node.attr.lower() in names:
            found.add(node.attr.lower())
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.arg)):
            name = node.arg if isinstance(node, ast.arg) else node.name
            if name.lower() in names:
                found.add(name.lower())
    return found


def test_no_module_outside_the_platform_packages_names_a_platform():
    names = set(registry.names()) | set(registry.aliases())
    offenders = []
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith("platforms/"):
            continue
        for name in sorted(_named(path, names)):
            if (relative, name) not in ALLOWED:
                offenders.append(f"chalicelib/{relative} names {name!r}")
    assert not offenders, "declare it in the platform's package instead:\n" + "\n".join(offenders)


def test_the_check_sees_a_platform_named_outside_its_package(tmp_path):
    # The check itself can fail: a module naming a platform, in a literal and as an identifier.
    module = tmp_path / "rules.py"
    module.write_text('LIMITS = {"bluesky": 300}\nx = 1\nprint(f"{x}x")\n')
    assert _named(module, {"bluesky", "x"}) == {"bluesky", "x"}
    module.write_text('print(f"{width}x{height}")\n')
    assert _named(module, {"x"}) == set()


def test_the_allowed_names_are_still_there():
    # An entry nobody needs any more is removed, so the list only ever shrinks to what is true.
    names = set(registry.names()) | set(registry.aliases())
    for relative, name in ALLOWED:
        assert name in _named(ROOT / relative, names), f"{relative} no longer names {name!r}: drop it from ALLOWED"
