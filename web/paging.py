"""Links to the pages before and after a page of a list paged with a cursor (store/paging.py)."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from domain import DomainError
from store.paging import Page


def cursor_links(request: Request, page: Page[Any], param: str, anchor: str = "") -> dict[str, str | None]:
    """The URLs of this page's previous and next pages and of the first one (None: there is none): this
    page's own URL with ``param`` set to their cursor (the other lists' cursors and filters kept)."""
    def at(cursor: str | None) -> str:
        url = request.url.remove_query_params([param, "lang"])
        if cursor is not None:
            url = url.include_query_params(**{param: cursor})
        return f"{url.path}?{url.query}{anchor}" if url.query else f"{url.path}{anchor}"

    return {"previous": at(page.previous) if page.previous else None, "next": at(page.next) if page.next else None,
            "first": at(None) if page.previous else None, "id": f"pages-{param}"}


def bad_cursor(error: DomainError) -> bool:
    """A cursor the list did not give out (an old bookmark, an edited link): the page shows its first page."""
    return isinstance(error.details, dict) and "cursor" in error.details
