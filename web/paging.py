"""Lists paged with a cursor (store/paging.py): the API's ``Link`` header, and the pages' links to the pages
before and after."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request, Response

from domain import DomainError
from store.paging import MAX_CURSOR_CHARS, MAX_LIMIT, Page


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


Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"items on this page (at most {MAX_LIMIT})")]
Cursor = Annotated[str | None, Query(min_length=1, max_length=MAX_CURSOR_CHARS, description=(
    "where this page begins: the cursor the previous page gave (its Link rel=\"next\" header)"))]


def paged(request: Request, response: Response, page: Page[Any]) -> list[Any]:
    """A page of a list as the list it always was, with the next and previous pages' URLs in the ``Link``
    header (RFC 8288) and the next cursor in ``X-Next-Cursor``."""
    links = [f'<{request.url.include_query_params(cursor=cursor)}>; rel="{rel}"'
             for rel, cursor in (("next", page.next), ("prev", page.previous)) if cursor is not None]
    if links:
        response.headers["Link"] = ", ".join(links)
    if page.next is not None:
        response.headers["X-Next-Cursor"] = page.next
    return page.items
