"""Bodies over the limit, over a real socket to a real uvicorn: the client hears 413, whether the body comes
in chunks (no Content-Length) or declared and sent in one write without waiting for ``100 Continue``."""

from __future__ import annotations

import asyncio
import json
import socket
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

import pytest

from services.seed import demo_email
from store import accounts
from tests.web.conftest import Live


def _token(live: Live) -> str:
    return accounts.rotate_token(live.coopflow.engine, demo_email("stadt-dortmund"))


def _big_project(megabytes: float) -> bytes:
    return json.dumps({"title": "x" * int(megabytes * 2**20), "partners": ["caritas-rs"]}).encode()


def _post_chunked(url: str, path: str, headers: dict[str, str], body: bytes, connection: str
                  ) -> tuple[int, dict[str, Any]] | str:
    """POST ``body`` with ``Transfer-Encoding: chunked`` over a plain socket; (status, the JSON answer), or
    what went wrong."""
    where = urlsplit(url)
    try:
        with socket.create_connection((where.hostname, where.port), timeout=30) as sock:
            head = [f"POST {path} HTTP/1.1", f"Host: {where.netloc}", "Content-Type: application/json",
                    "Transfer-Encoding: chunked", f"Connection: {connection}",
                    *(f"{k}: {v}" for k, v in headers.items())]
            sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
            for at in range(0, len(body), 64 * 1024):
                part = body[at:at + 64 * 1024]
                sock.sendall(b"%x\r\n%s\r\n" % (len(part), part))
            sock.sendall(b"0\r\n\r\n")
            answer = sock.makefile("rb")
            status = int(answer.readline().split()[1])
            length = 0
            while (line := answer.readline().strip()):
                name, _, value = line.partition(b":")
                length = int(value) if name.lower() == b"content-length" else length
            return status, json.loads(answer.read(length))
    except OSError as failed:
        return f"no answer: {failed!r}"


def _post_urllib(url: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]] | str:
    """POST as urllib does: headers and the whole body in one go, then the answer; or what went wrong."""
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())
    except (urllib.error.URLError, OSError) as failed:
        return f"no answer: {failed!r}"


def _is_413(answer: tuple[int, dict[str, Any]] | str) -> None:
    assert not isinstance(answer, str) and answer[0] == 413, answer if isinstance(answer, str) else answer[1]
    error = answer[1]["error"]
    assert error["code"] == "payload_too_large" and "The request body is too large (" in error["message"], error
    assert error["details"] == {"limit_bytes": 1024 * 1024}


@pytest.mark.parametrize("connection", ["keep-alive", "close"])
async def test_a_chunked_json_body_over_the_limit_is_413(live: Live, connection: str):
    auth = {"Authorization": f"Bearer {_token(live)}"}
    answer = await asyncio.to_thread(_post_chunked, live.url, "/api/projects", auth, _big_project(1.5), connection)
    print(f"chunked 1.5 MB, {connection}:", answer if isinstance(answer, str) else (answer[0], answer[1]["error"]))
    _is_413(answer)
    # under the limit, chunked, it is read as JSON (and refused here for its far too long title)
    small = await asyncio.to_thread(_post_chunked, live.url, "/api/projects", auth, _big_project(0.5), connection)
    assert not isinstance(small, str) and small[0] == 422, small
    assert list(small[1]["error"]["details"]) == ["title"], small


async def test_a_large_body_sent_in_one_write_without_expect_continue_hears_413(live: Live):
    auth = {"Authorization": f"Bearer {_token(live)}"}
    for megabytes in (5, 20):
        answer = await asyncio.to_thread(_post_urllib, live.url + "/api/projects", auth, _big_project(megabytes))
        print(f"urllib {megabytes} MB:", answer if isinstance(answer, str) else answer[0])
        _is_413(answer)


async def test_a_page_form_over_the_limit_sent_in_one_write_hears_the_page_that_says_so(live: Live):
    """The task page's form of 6 MB (4 MB at most), sent as urllib sends it: the page says the form was too
    large (it was read and dropped, not left unread under a closing connection)."""
    import httpx

    from tests.utils.app import start
    from tests.web.conftest import http_login

    pid = (await start(live.coopflow))["id"]
    async with httpx.AsyncClient(base_url=live.url) as http:
        await http_login(http, demo_email("stadt-dortmund"))
        cookie = f"coopflow_session={http.cookies['coopflow_session']}"
    body = b"summary=" + b"s" * 6 * 2**20

    def post() -> tuple[int, str] | str:
        request = urllib.request.Request(f"{live.url}/projects/{pid}/tasks/t1", data=body, method="POST", headers={
            "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as refused:
            return refused.code, refused.read().decode()
        except (urllib.error.URLError, OSError) as failed:
            return f"no answer: {failed!r}"

    answer = await asyncio.to_thread(post)
    print("a 6 MB form:", answer if isinstance(answer, str) else answer[0])
    assert not isinstance(answer, str) and answer[0] == 413, answer
    assert "The form is too large (6.0 MB; at most 4 MB)" in answer[1]
