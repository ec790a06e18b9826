"""The web application: the JSON API under /api and the HTML pages, on one application layer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from services.app import Coopflow
from services.temporal import connect
from settings import Settings, get_settings
from store import check_schema, make_engine
from web import (
    api,
    api_me,
    api_people,
    errors,
    ops,
    pages,
    pages_audit,
    pages_dev,
    pages_language,
    pages_me,
    pages_people,
    pages_projects,
    pages_settings,
)
from web.middleware import BodyLimit, SecurityHeaders
from web.security import Browsers, Sessions, load_secret

if TYPE_CHECKING:
    from services.devstack import MailSink


def create_app(*, coopflow: Coopflow | None = None, settings: Settings | None = None,
               secret: str | None = None, mail_sink: MailSink | None = None) -> FastAPI:
    """The ASGI app. Given ``coopflow`` (tests, `coopflow dev`) it uses that application layer;
    otherwise it opens the configured store and connects to Temporal when it starts."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if coopflow is None:
            engine = make_engine(settings.store_url)
            check_schema(engine)
            client = await connect(settings)
            app.state.coopflow = Coopflow.configured(settings, engine=engine, client=client, signs=False)
        yield

    app = FastAPI(title="coopflow", version="1", lifespan=lifespan, openapi_url="/api/openapi.json",
                  docs_url=None, redoc_url=None,
                  description="Durable, auditable workflows for transnational cooperation projects.")
    app.state.coopflow = coopflow
    app.state.settings = settings
    secret = secret or load_secret(settings.secret_key, settings.data_dir)
    app.state.sessions = Sessions(secret)
    app.state.browsers = Browsers(secret)
    app.state.secure_cookies = settings.cookies_secure
    app.add_middleware(BodyLimit, upload_bytes=coopflow.max_document_bytes if coopflow else settings.max_document_bytes)
    app.add_middleware(SecurityHeaders)
    errors.install(app)
    app.include_router(api.router)
    app.include_router(api_me.router)
    app.include_router(api_me.feeds)
    app.include_router(api_people.router)
    app.include_router(ops.router)
    app.include_router(pages.router)
    app.include_router(pages_language.router)
    app.include_router(pages_projects.router)
    app.include_router(pages_audit.router)
    app.include_router(pages_settings.router)
    app.include_router(pages_people.router)
    app.include_router(pages_me.router)
    if mail_sink is not None:  # `coopflow dev` only: what the local mail sink received
        app.state.mail_sink = mail_sink
        app.include_router(pages_dev.router)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    app.mount("/api/docs/assets", StaticFiles(directory=ops.DOCS_ASSETS), name="docs-assets")
    return app
