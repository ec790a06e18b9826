"""`coopflow dev` only: the mail its local SMTP sink received, as the users would read it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from web.render import render

router = APIRouter(include_in_schema=False)


@router.get("/dev/mail")
def dev_mail(request: Request) -> Response:
    return render(request, "dev_mail.html", mails=list(request.app.state.mail_sink.received))
