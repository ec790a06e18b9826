"""`coopflow dev` only: the mail its local SMTP sink received, as the users would read it."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup, escape

from web.render import render

router = APIRouter(include_in_schema=False)

_LINK = re.compile(r"https?://[^\s<>\"“”„]+[^\s<>\"“”„.,;:!?)\]]")


def linked(body: str) -> Markup:
    """The mail's text, escaped, with each web address a link: the developer follows it as the user would."""
    parts, last = [], 0
    for found in _LINK.finditer(body):
        url = found.group(0)
        parts += [escape(body[last:found.start()]), Markup('<a href="{0}">{0}</a>').format(url)]
        last = found.end()
    parts.append(escape(body[last:]))
    return Markup("").join(parts)


@router.get("/dev/mail")
def dev_mail(request: Request) -> Response:
    mails = [{**mail, "body": linked(mail["body"])} for mail in request.app.state.mail_sink.received]
    return render(request, "dev_mail.html", mails=mails)
