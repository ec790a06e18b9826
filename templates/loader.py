"""Read templates from YAML, refusing duplicate keys that YAML itself would silently drop.

A template may come from anyone who can write to a configured folder, so reading one is bounded:
the file's size, the nesting depth, the length of a number, and the number of values with every
alias (``*name``) written out (the way to a "billion laughs"). Whatever is wrong is a
``TemplateError`` naming the file, never a crash or a hang (``tests/templates/test_loader.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from domain import InvalidRequest, Template, TemplateError, parse_template
from domain.limits import shown

BUILTIN_DIR = Path(__file__).parent
MAX_FILE_BYTES = 256 * 1024  # the largest built-in template is about 20 KB
MAX_DEPTH = 20  # a template nests about 7 deep
MAX_NUMBER_CHARS = 20
MAX_VALUES = 20_000  # scalars, aliases written out; the largest built-in template has about 1,100
MAX_PROBLEMS = 50  # a file that is not a template at all need not be told 10,000 times


class _StrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """libyaml's parser when installed (ten times faster on a large file), the safe constructors."""


def _mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        line = key_node.start_mark.line + 1
        if not isinstance(key, (str, int, bool)) and key is not None:
            raise TemplateError([f"line {line}: a key must be a name, not {type(key).__name__}"])
        if key in seen:
            raise TemplateError([f"line {line}: duplicate key '{shown(key)}'"])
        seen.add(key)
    return loader.construct_mapping(node)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def _check_shape(text: str) -> None:
    """Walk the YAML events (no objects built yet): refuse deep nesting, overlong numbers, and aliases
    that would expand to more values than a template has (a "billion laughs")."""
    sizes: dict[str, int] = {}  # an anchor: how many values its node holds, aliases expanded
    open_nodes: list[tuple[str | None, int]] = []  # the collections being read: anchor, values so far
    total = 0

    def add(count: int, line: int) -> None:
        nonlocal total
        if open_nodes:
            anchor, n = open_nodes[-1]
            open_nodes[-1] = (anchor, n + count)
        total += count
        if total > MAX_VALUES:
            raise TemplateError([f"line {line}: more than {MAX_VALUES} values (with every alias written out)"])

    for event in yaml.parse(text, Loader=_StrictLoader):
        line = event.start_mark.line + 1 if event.start_mark else 0
        if isinstance(event, yaml.AliasEvent):
            add(sizes.get(event.anchor or "", 1), line)
        elif isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            open_nodes.append((event.anchor, 1))
            if len(open_nodes) > MAX_DEPTH:
                raise TemplateError([f"line {line}: nested more than {MAX_DEPTH} deep"])
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            anchor, n = open_nodes.pop()
            if anchor:
                sizes[anchor] = n
            if open_nodes:
                open_nodes[-1] = (open_nodes[-1][0], open_nodes[-1][1] + n)
        elif isinstance(event, yaml.ScalarEvent):
            if event.anchor:
                sizes[event.anchor] = 1
            add(1, line)
            if not event.style and len(event.value) > MAX_NUMBER_CHARS and " " not in event.value \
                    and event.value.lstrip("+-")[:1].isdigit():
                raise TemplateError([f"line {line}: the number {shown(event.value, 20)} is too long "
                                     f"(at most {MAX_NUMBER_CHARS} characters)"])


def load_template_text(text: str, source: str = "template") -> Template:
    """Parse and validate a template; a broken one raises ``TemplateError`` naming each path."""
    if len(text) > MAX_FILE_BYTES:
        raise TemplateError([f"(file): too large: at most {MAX_FILE_BYTES // 1024} KB"], source)
    try:
        _check_shape(text)
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except TemplateError as exc:
        raise TemplateError(exc.problems, source) from None
    except yaml.YAMLError as exc:
        raise TemplateError([f"not valid YAML: {shown(str(exc), 300)}"], source) from None
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:  # e.g. a date YAML reads as 0000-01-01
        raise TemplateError([f"not valid YAML: {shown(str(exc), 300)}"], source) from None
    if not isinstance(data, dict):
        raise TemplateError(["(top): a template is a mapping with id, version and phases"], source)
    try:
        return parse_template(data, source)
    except TemplateError as exc:
        if len(exc.problems) <= MAX_PROBLEMS:
            raise
        more = len(exc.problems) - MAX_PROBLEMS
        raise TemplateError([*exc.problems[:MAX_PROBLEMS], f"… and {more} more"], source) from None


def load_template_file(path: Path) -> Template:
    """Read one template file; a file that cannot be read or is not UTF-8 is a ``TemplateError`` too."""
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise TemplateError([f"(file): cannot be read: {exc.strerror or exc}"], str(path)) from None
    if len(raw) > MAX_FILE_BYTES:
        raise TemplateError([f"(file): too large: at most {MAX_FILE_BYTES // 1024} KB"], str(path))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TemplateError([f"(file): not UTF-8 (byte {exc.start})"], str(path)) from None
    return load_template_text(text, str(path))


class TemplateRegistry:
    """The templates a deployment offers: the built-in ones and every ``*.yaml`` in the given folders.

    An id and version is installed once: a running project pins it, so a second file with the same
    pair (another folder's copy of a built-in template, edited) is refused; a changed template is a
    new version in a new file.
    """

    def __init__(self, *folders: Path, builtin: bool = True) -> None:
        self._templates: dict[tuple[str, int], Template] = {}
        read_from: dict[tuple[str, int], Path] = {}
        for folder in ((BUILTIN_DIR,) if builtin else ()) + folders:
            if not folder.is_dir():
                raise TemplateError([f"(folder): {folder} is not a folder"], str(folder))
            for path in sorted(folder.glob("*.yaml")):
                template = load_template_file(path)
                key = (template.id, template.version)
                if key in read_from:
                    raise TemplateError([f"id: {template.id} version {template.version} is also in {read_from[key]}"],
                                        str(path))
                self._templates[key], read_from[key] = template, path

    def latest(self, template_id: str) -> Template:
        versions = [t for (tid, _), t in self._templates.items() if tid == template_id]
        if not versions:
            known = ", ".join(sorted({tid for tid, _ in self._templates}))
            raise InvalidRequest(f"There is no template '{shown(template_id)}' (known: {known}).",
                                 {"template": "is not a template"})
        return max(versions, key=lambda t: t.version)

    def get(self, template_id: str, version: int) -> Template:
        """The exact version a project pinned."""
        found = self._templates.get((template_id, version))
        if found is None:
            raise InvalidRequest(f"Template {template_id} version {version} is not installed here.")
        return found

    def all_latest(self) -> list[Template]:
        return [self.latest(tid) for tid in sorted({tid for tid, _ in self._templates})]
