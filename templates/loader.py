"""Read templates from YAML, refusing duplicate keys that YAML itself would silently drop."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from domain import InvalidRequest, Template, TemplateError, parse_template
from domain.limits import shown

BUILTIN_DIR = Path(__file__).parent


class _StrictLoader(yaml.SafeLoader):
    pass


def _mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise TemplateError([f"line {key_node.start_mark.line + 1}: duplicate key '{key}'"])
        seen.add(key)
    return loader.construct_mapping(node)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def load_template_text(text: str, source: str = "template") -> Template:
    """Parse and validate a template; a broken one raises ``TemplateError`` naming each path."""
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except TemplateError as exc:
        raise TemplateError(exc.problems, source) from None
    except yaml.YAMLError as exc:
        raise TemplateError([f"not valid YAML: {exc}"], source) from None
    if not isinstance(data, dict):
        raise TemplateError(["(top): a template is a mapping with id, version and phases"], source)
    return parse_template(data, source)


def load_template_file(path: Path) -> Template:
    return load_template_text(path.read_text(encoding="utf-8"), str(path))


class TemplateRegistry:
    """The templates a deployment offers: every ``*.yaml`` in the given folders."""

    def __init__(self, *folders: Path) -> None:
        self._templates: dict[tuple[str, int], Template] = {}
        for folder in folders or (BUILTIN_DIR,):
            for path in sorted(folder.glob("*.yaml")):
                template = load_template_file(path)
                self._templates[(template.id, template.version)] = template

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
