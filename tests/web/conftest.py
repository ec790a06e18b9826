"""The web app served on a real port in the test's event loop, with its own worker; a browser."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from html import unescape

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright
from sqlalchemy.engine import Engine
from temporalio.client import Client

from evidence.notes import Signer
from services.app import Coopflow
from services.devstack import free_port
from services.sealing import KeyEncryptionKeys
from services.seed import DEMO_PASSWORD
from store.documents import FolderStorage
from web.app import create_app
from web.server import serve
from worker import build_worker

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update"]


@dataclass
class Live:
    url: str
    coopflow: Coopflow


@pytest.fixture
async def live(temporal_client: Client, sqlite_engine: Engine, signer: Signer, document_folder: FolderStorage,
               key_encryption_keys: KeyEncryptionKeys) -> AsyncIterator[Live]:
    task_queue = f"tq-{uuid.uuid4()}"
    coopflow = Coopflow(engine=sqlite_engine, client=temporal_client, task_queue=task_queue, signer=signer,
                        documents=document_folder, key_encryption_keys=key_encryption_keys)
    port, stop = free_port(), asyncio.Event()
    async with build_worker(temporal_client, sqlite_engine, task_queue, signer=signer, documents=document_folder):
        server = asyncio.create_task(serve(create_app(coopflow=coopflow, secret="browser-test"), "127.0.0.1",
                                           port, stop))
        url = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient() as probe:
            for _ in range(100):
                try:
                    if (await probe.get(url + "/login")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
        yield Live(url, coopflow)
        stop.set()
        await server


@pytest.fixture(scope="session")
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        launched = await p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


class Profiles:
    """Each page in a browser profile of its own (its own cookies: one signed-in person each)."""

    def __init__(self, chromium: Browser) -> None:
        self.chromium, self.contexts = chromium, list[BrowserContext]()

    async def new_page(self) -> Page:
        context = await self.chromium.new_context(viewport={"width": 1200, "height": 900}, locale="en-GB")
        self.contexts.append(context)
        return await context.new_page()


@pytest.fixture
async def browser(chromium: Browser) -> AsyncIterator[Profiles]:
    profiles = Profiles(chromium)
    yield profiles
    for context in profiles.contexts:  # closed, so that the server's shutdown waits for no one
        await context.close()


async def http_login(client: httpx.AsyncClient, email: str, lang: str | None = "en") -> None:
    """Log in as a browser does: the form's CSRF token, then the session cookie. The pages are then in the
    user's stored language; the switcher picks ``lang`` (the user keeps it, for mail too, until the test ends),
    unless it is None."""
    page = await client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    done = await client.post("/login", data={"email": email, "password": DEMO_PASSWORD, "csrf": token,
                                             "next": "/inbox"})
    assert done.status_code == 303, done.text
    if lang is not None and done.cookies.get("coopflow_lang") != lang:
        await switch_language(client, lang)


async def switch_language(client: httpx.AsyncClient, lang: str, page: str = "/inbox") -> httpx.Response:
    """Pick ``lang`` with the switcher of ``page``, as a browser without JavaScript sends its form; the page
    again, in that language."""
    form = (await client.get(page)).text.split('class="lang"')[1].split("</form>")[0]
    fields = {k: unescape(v) for k, v in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form)}
    switched = await client.post("/language", data={**fields, "lang": lang}, follow_redirects=True)
    assert f'<html lang="{lang}">' in switched.text
    return switched
