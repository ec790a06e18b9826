"""The web app in-process (httpx over ASGI) on the test's application layer and worker."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from services.app import Coopflow
from services.seed import demo_email
from store import accounts
from web.app import create_app

OTHER_LEAD = "stadt-wien"


@pytest.fixture
def web(app: Coopflow) -> FastAPI:
    return create_app(coopflow=app, secret="test-secret")


@pytest.fixture
async def http(web: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=web), base_url="http://test") as client:
        yield client


@pytest.fixture
def tokens(app: Coopflow) -> dict[str, str]:
    """A fresh API token for each demo user (keyed by org), and for a second lead organisation."""
    found = {org: accounts.rotate_token(app.engine, demo_email(org)) for org in
             ("stadt-dortmund", "caritas-rs", "horizon-civitas-mk", "different-and-equal-al", "audit-office")}
    if OTHER_LEAD not in accounts.existing_orgs(app.engine, [OTHER_LEAD]):
        accounts.add_org(app.engine, org_id=OTHER_LEAD, name="Stadt Wien", country="AT")
        accounts.add_user(app.engine, email="wien@demo.coopflow.example", org_id=OTHER_LEAD, role="coordinator")
    found[OTHER_LEAD] = accounts.rotate_token(app.engine, "wien@demo.coopflow.example")
    return found


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
