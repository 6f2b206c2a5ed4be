"""The account mails (password reset, invitation) in English and Arabic.

Plain `string.Template`s: four short messages do not need a template engine. Every value
put into the HTML is escaped (a user's name is user input); the Arabic HTML is right-to-left.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from string import Template
from urllib.parse import urlencode

from alawael.infra.mail import Mail
from alawael.shared.locale import Locale


@dataclass(frozen=True)
class _Text:
    subject: str
    body: Template  # paragraphs separated by blank lines; $link is the action link
    button: str


_RESET = {
    Locale.EN: _Text(
        subject="Reset your AlAwael password",
        body=Template(
            "Hello $name,\n\n"
            "Someone (hopefully you) asked to reset the password of your AlAwael account.\n\n"
            "Open this link within $minutes minutes to choose a new password:\n$link\n\n"
            "The link works once. If you did not ask for it, ignore this mail: your "
            "password stays as it is."
        ),
        button="Choose a new password",
    ),
    Locale.AR: _Text(
        subject="إعادة تعيين كلمة المرور في الأوائل",
        body=Template(
            "مرحبًا $name،\n\n"
            "طلب أحدهم (نأمل أن تكون أنت) إعادة تعيين كلمة المرور لحسابك في الأوائل.\n\n"
            "افتح هذا الرابط خلال $minutes دقيقة لاختيار كلمة مرور جديدة:\n$link\n\n"
            "يعمل الرابط مرة واحدة فقط. إن لم تطلب ذلك فتجاهل هذه الرسالة، "
            "وستبقى كلمة مرورك كما هي."
        ),
        button="اختر كلمة مرور جديدة",
    ),
}

_INVITATION = {
    Locale.EN: _Text(
        subject="Your AlAwael account is ready",
        body=Template(
            "Hello $name,\n\n"
            "An account with the email $email has been created for you in AlAwael.\n\n"
            "Open this link within $days days to set your password:\n$link\n\n"
            "The link works once."
        ),
        button="Set your password",
    ),
    Locale.AR: _Text(
        subject="حسابك في الأوائل جاهز",
        body=Template(
            "مرحبًا $name،\n\n"
            "تم إنشاء حساب لك في الأوائل بالبريد الإلكتروني $email.\n\n"
            "افتح هذا الرابط خلال $days أيام لتعيين كلمة المرور:\n$link\n\n"
            "يعمل الرابط مرة واحدة فقط."
        ),
        button="عيّن كلمة المرور",
    ),
}


def link(base_url: str, path: str, token: str) -> str:
    return f"{base_url}/{path}?{urlencode({'token': token})}"


def _html(locale: Locale, text: str, button: str, url: str) -> str:
    direction = "rtl" if locale is Locale.AR else "ltr"
    paragraphs = "\n".join(
        f"<p>{html.escape(part).replace(chr(10), '<br>')}</p>" for part in text.split("\n\n")
    )
    href = html.escape(url, quote=True)
    return (
        f'<!doctype html>\n<html lang="{locale.value}" dir="{direction}">\n'
        '<head><meta charset="utf-8"></head>\n'
        '<body style="font-family: sans-serif">\n'
        f"{paragraphs}\n"
        f'<p><a href="{href}" style="padding: 8px 16px; background: #0b5394; color: #fff; '
        f'text-decoration: none">{html.escape(button)}</a></p>\n'
        "</body>\n</html>\n"
    )


def _render(
    text: _Text, locale: Locale, to: str, template: str, url: str, **values: object
) -> Mail:
    body = text.body.substitute(link=url, **values)
    return Mail(
        to=to,
        subject=text.subject,
        text=body + "\n",
        html=_html(locale, body, text.button, url),
        template=template,
        language=locale.value,
    )


def password_reset_mail(*, locale: Locale, to: str, name: str, url: str, minutes: int) -> Mail:
    return _render(_RESET[locale], locale, to, "password-reset", url, name=name, minutes=minutes)


def invitation_mail(*, locale: Locale, to: str, name: str, url: str, days: int) -> Mail:
    return _render(
        _INVITATION[locale], locale, to, "invitation", url, name=name, email=to, days=days
    )
