"""Template files (YAML) and their loader; the rules themselves live in ``domain.template``."""

from templates.loader import TemplateRegistry, load_template_file, load_template_text

__all__ = ["TemplateRegistry", "load_template_file", "load_template_text"]
