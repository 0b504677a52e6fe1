"""The emulator's browser pages: tiny self-contained HTML (no scripts, no external resources).

The forms are plain `<form method="post">` with hidden fields and `<button name="action">`
Allow / Deny, so a test can drive them with urllib and `browser.py` can play the user.
"""

from __future__ import annotations

from html import escape

_STYLE = (
    "body{font-family:sans-serif;max-width:32em;margin:3em auto;padding:0 1em}"
    "code{font-size:1.6em;letter-spacing:.1em}button{font-size:1.1em;margin:.3em}"
)


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>\n"
        f"<body><h1>{escape(title)}</h1>\n{body}\n</body></html>\n"
    )


def _decision_form(action: str, hidden: dict[str, str]) -> str:
    fields = "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in hidden.items()
    )
    return (
        f'<form method="post" action="{escape(action)}">{fields}\n'
        '<button type="submit" name="action" value="allow">Allow</button>\n'
        '<button type="submit" name="action" value="deny">Deny</button>\n</form>'
    )


def authorize_page(client_name: str, scopes: tuple[str, ...], request_id: str) -> str:
    scope_text = ", ".join(scopes) if scopes else "(default)"
    return _page(
        "Allow access?",
        f"<p>The application <b>{escape(client_name)}</b> asks to access your AWS accounts"
        f" (scopes: {escape(scope_text)}).</p>\n"
        + _decision_form("/authorize/decision", {"request_id": request_id}),
    )


def device_page(user_code: str) -> str:
    return _page(
        "Authorize request",
        "<p>Check that this code matches the one shown by the application:</p>\n"
        f'<p><code id="user_code">{escape(user_code)}</code></p>\n'
        + _decision_form("/device/decision", {"user_code": user_code}),
    )


def device_entry_page() -> str:
    return _page(
        "Enter your code",
        '<form method="get" action="/device"><input name="user_code" '
        'placeholder="XXXX-XXXX" autofocus> <button type="submit">Next</button></form>',
    )


def result_page(title: str, message: str) -> str:
    return _page(title, f'<p id="result">{escape(message)}</p>')


def error_page(message: str) -> str:
    return _page("Error", f'<p id="error">{escape(message)}</p>')


def index_page(url: str) -> str:
    return _page(
        "aws-sso-tray emulator",
        "<p>A local IAM Identity Center for tests and the demo.</p>\n"
        f"<pre>export AWS_ENDPOINT_URL_SSO={escape(url)}\n"
        f"export AWS_ENDPOINT_URL_SSO_OIDC={escape(url)}</pre>\n"
        '<p><a href="/device">Enter a device code</a></p>',
    )
