"""Sign-in, sessions and roles for the dashboard, enforced on the server for every request.

flask-login keeps the session (an HttpOnly, SameSite cookie signed with a
secret shared by every dashboard process through the database), argon2
checks passwords, and flask-wtf's CSRF protection guards every POST: the
sign-in and sign-out forms carry a token field, and Dash's renderer sends the
token from the ``_csrf_token`` cookie as the ``X-CSRFToken`` header on
every callback.

The gate in front of Dash answers an anonymous callback with 401, a callback
that does not exist with 403 and a malformed one with 400; each callback
then checks its own roles (``secure_callback``) and each page its own
(``page_roles``), so a forged request never reaches a query or an action.
Failed sign-ins are counted in the audit table (so every process sees them)
and slow the next attempts down.
"""

from __future__ import annotations

import functools
import hashlib
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode, urlsplit

import dash
import flask
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf.csrf import CSRFError, CSRFProtect, generate_csrf
from werkzeug.exceptions import Forbidden, Unauthorized

from citybrain import accounts
from citybrain.accounts import Account, Role
from citybrain.dashboard import i18n
from citybrain.dashboard.context import Context, context
from citybrain.store import users as user_store

PUBLIC_PREFIXES = ("/login", "/assets/", "/_dash-component-suites/", "/_favicon.ico", "/favicon.ico")
CSRF_COOKIE = "_csrf_token"
LANG_COOKIE = "citybrain_lang"  # its own cookie, set only when asked: a session write could race
FAILURE_WINDOW = timedelta(minutes=15)
FREE_FAILURES = 5  # per user name within the window before sign-ins slow down
FREE_FAILURES_PER_ADDR = 20  # per client address (guessing many names)
FIRST_LOCKOUT_S = 30.0  # then doubling per further failure, capped
MAX_LOCKOUT_S = 15 * 60.0
FAILURE_DELAY_S = 0.5  # every failed attempt answers this much later
WALL_SESSION = timedelta(days=365)
STAFF_SESSION = timedelta(hours=12)


class User(UserMixin):
    """The signed-in account. Its session id includes a fingerprint of the password hash,
    so changing a password signs that user out everywhere."""

    def __init__(self, account: Account) -> None:
        self.account = account

    def get_id(self) -> str:
        return f"{self.account.id}:{fingerprint(self.account.password_hash)}"

    @property
    def role(self) -> Role:
        return self.account.role

    @property
    def username(self) -> str:
        return self.account.username

    @property
    def display_name(self) -> str:
        return self.account.display_name


def fingerprint(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def current_role() -> Role | None:
    return current_user.role if current_user.is_authenticated else None


def current_lang() -> str:
    """The UI language: ?lang= on this request, else the language cookie, else Chinese."""
    if not flask.has_request_context():
        return i18n.DEFAULT
    asked = flask.request.args.get("lang")
    return i18n.lang_of(asked if asked in i18n.LANGUAGES else flask.request.cookies.get(LANG_COOKIE))


def allowed(roles: Iterable[Role]) -> bool:
    return current_user.is_authenticated and current_user.role in set(roles)


def require(roles: Iterable[Role]) -> User:
    """The signed-in user, if their role is one of ``roles``; else 401 (anonymous) or 403."""
    if not current_user.is_authenticated:
        raise Unauthorized("sign in first")
    if current_user.role not in set(roles):
        raise Forbidden(f"role {current_user.role.value} may not do this")
    return current_user


def secure_callback(roles: Iterable[Role], *args, **kwargs):
    """``dash.callback`` whose function first checks the caller's role on the server."""
    roles = frozenset(roles)

    def decorate(fn):
        @functools.wraps(fn)
        def guarded(*a, **k):
            require(roles)
            return fn(*a, **k)

        guarded.roles = roles
        return dash.callback(*args, **kwargs)(guarded)

    return decorate


def page_roles(roles: Iterable[Role]):
    """Wrap a page's layout so that it renders only for ``roles`` (others get the refusal page)."""
    roles = frozenset(roles)

    def decorate(layout):
        @functools.wraps(layout)
        def guarded(**kwargs):
            if not allowed(roles):
                return forbidden_layout(current_lang())
            return layout(**kwargs)

        return guarded

    return decorate


def forbidden_layout(lang: str):
    return dash.html.Div(
        className="page message-page",
        children=[
            dash.html.H2(i18n.t("forbidden", lang)),
            dash.html.P(i18n.t("forbidden_hint", lang)),
            dash.html.A(i18n.t("go_home", lang), href="/"),
        ],
    )


# --- the Flask side: session set-up, the gate, sign-in and sign-out -------------------------------------


def init(server: flask.Flask, ctx: Context) -> None:
    with ctx.sources.connection() as conn:
        server.secret_key = user_store.session_secret(conn)
    secure = ctx.settings.cookie_secure
    server.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        SESSION_COOKIE_NAME="citybrain_session",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=secure,
        REMEMBER_COOKIE_DURATION=WALL_SESSION,
        REMEMBER_COOKIE_NAME="citybrain_remember",
        PERMANENT_SESSION_LIFETIME=STAFF_SESSION,
        SESSION_REFRESH_EACH_REQUEST=False,
        WTF_CSRF_TIME_LIMIT=None,  # valid for the session: a console stays open through a shift
        WTF_CSRF_HEADERS=["X-CSRFToken"],
    )
    manager = LoginManager(server)
    manager.session_protection = "basic"

    @manager.user_loader
    def load_user(session_id: str) -> User | None:
        user_id, _, print_ = session_id.partition(":")
        reading = context().sources.accounts.read()
        for row in reading.value or []:
            if (
                str(row["id"]) == user_id
                and not row["disabled"]
                and fingerprint(row["password_hash"]) == print_
            ):
                return User(Account.from_row(row))
        return None

    server.before_request(_gate)  # before CSRF, so an anonymous callback is told 401, not 400
    CSRFProtect(server)
    server.after_request(_after)
    server.register_error_handler(CSRFError, _csrf_failed)
    server.add_url_rule("/login", "login", _login, methods=["GET", "POST"])
    server.add_url_rule("/logout", "logout", _logout, methods=["POST"])


def _wants_json() -> bool:
    return flask.request.path.startswith("/_") or flask.request.is_json


def _gate():
    request = flask.request
    if request.path.startswith(PUBLIC_PREFIXES):
        return None
    if not current_user.is_authenticated:
        if _wants_json():
            return flask.jsonify(error="sign in first"), 401
        target = request.full_path.rstrip("?")
        return flask.redirect("/login?" + urlencode({"next": _safe_next(target)}))
    if request.path == "/_dash-update-component":
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("output"), str):
            return flask.jsonify(error="malformed callback"), 400
        if body["output"] not in dash.get_app().callback_map:
            return flask.jsonify(error="no such callback"), 403
        return None
    if request.method == "GET" and not request.path.startswith("/_"):
        page = page_for(request.path)
        if page is not None and current_user.role not in page["roles"]:
            lang = current_lang()
            return flask.render_template_string(
                MESSAGE_PAGE,
                lang=lang,
                title=i18n.t("forbidden", lang),
                text=i18n.t("forbidden_hint", lang),
                link=i18n.t("go_home", lang),
            ), 403
    return None


def page_for(path: str) -> dict | None:
    """The registered page serving ``path``, or None (the 404 page)."""
    from dash._pages import _parse_path_variables

    for page in dash.page_registry.values():
        if page.get("path") == path or (
            page.get("path_template") and _parse_path_variables(path, page["path_template"]) is not None
        ):
            if page["module"].rsplit(".", 1)[-1] != "not_found_404":
                return page
    return None


def _after(response: flask.Response) -> flask.Response:
    request = flask.request
    if request.method == "GET" and request.args.get("lang") in i18n.LANGUAGES:
        response.set_cookie(
            LANG_COOKIE,
            request.args["lang"],
            max_age=365 * 86400,
            samesite="Lax",
            httponly=True,
            secure=context().settings.cookie_secure,
        )
    if current_user.is_authenticated and (request.method == "GET" or CSRF_COOKIE not in request.cookies):
        # Dash's renderer copies this (deliberately script-readable) cookie into the X-CSRFToken header.
        # Set on page loads (and whenever it is missing), not on every callback: signing a token is the
        # dearest step of a wall refresh, and the token stays valid for the session (WTF_CSRF_TIME_LIMIT)
        response.set_cookie(
            CSRF_COOKIE,
            generate_csrf(),
            samesite="Strict",
            secure=context().settings.cookie_secure,
            httponly=False,
        )
    if (
        request.method == "GET"
        and response.status_code == 200
        and response.mimetype == "text/html"
        and not request.path.startswith(PUBLIC_PREFIXES)
        and current_user.is_authenticated
        and page_for(request.path) is None
    ):
        response.status_code = 404  # Dash serves its index for any path; the 404 page renders inside it
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def _csrf_failed(error: CSRFError):
    if _wants_json():
        return flask.jsonify(error=f"CSRF check failed: {error.description}"), 400
    return _login_page(i18n.t("login_expired", current_lang()), 400)


def _safe_next(target: str | None) -> str:
    """Only a path on this site: an open redirect would let a link send officers elsewhere."""
    if not target or not target.startswith("/") or target.startswith("//") or urlsplit(target).netloc:
        return "/"
    if target.startswith(("/login", "/logout")):
        return "/"
    return target


def _client() -> tuple[str | None, str | None]:
    return flask.request.remote_addr, flask.request.headers.get("User-Agent")


def lockout_left_s(failures: dict, now: datetime) -> float:
    """Seconds until the next attempt is allowed, after ``failures`` (counts and the last time)."""
    excess = max(failures["by_user"] - FREE_FAILURES + 1, failures["by_addr"] - FREE_FAILURES_PER_ADDR + 1)
    if excess <= 0 or failures["last_at"] is None:
        return 0.0
    wait = min(FIRST_LOCKOUT_S * 2 ** (excess - 1), MAX_LOCKOUT_S)
    return max(0.0, wait - (now - failures["last_at"]).total_seconds())


def _login():
    lang = current_lang()
    if flask.request.method == "GET":
        if current_user.is_authenticated:
            return flask.redirect(_safe_next(flask.request.args.get("next")))
        return _login_page(None, 200)
    form = flask.request.form
    username = (form.get("username") or "").strip().lower()[:64]
    password = form.get("password") or ""
    addr, agent = _client()
    ctx = context()
    with ctx.sources.connection() as conn:
        now = datetime.now(UTC)
        wait = lockout_left_s(user_store.recent_failures(conn, username, addr, now - FAILURE_WINDOW), now)
        if wait > 0:
            user_store.record_sign_in(conn, username, "throttled", addr, agent)
            response = _login_page(i18n.t("too_many", lang).format(s=int(wait) + 1), 429, username)
            response.headers["Retry-After"] = str(int(wait) + 1)
            return response
        account = accounts.get_or_none(conn, username) if username else None
        if account is None:
            accounts.burn_time(password)
            outcome = "unknown_user"
        elif not accounts.password_matches(account.password_hash, password):
            outcome = "bad_password"
        elif account.disabled:
            outcome = "disabled"
        else:
            outcome = "ok"
        user_store.record_sign_in(conn, username or "-", outcome, addr, agent)
        if outcome != "ok":
            time.sleep(FAILURE_DELAY_S)
            return _login_page(i18n.t("bad_login", lang), 401, username)
        user_store.touch_sign_in(conn, account.id)
    ctx.sources.accounts.invalidate()
    flask.session.clear()  # a fresh session: no fixation across sign-ins
    remember = account.role is Role.WALL or form.get("remember") == "on"
    flask.session.permanent = True
    login_user(User(account), remember=remember, duration=WALL_SESSION if remember else None)
    return flask.redirect(_safe_next(form.get("next")))


def _logout():
    if current_user.is_authenticated:
        addr, agent = _client()
        with context().sources.connection() as conn:
            user_store.record_sign_in(conn, current_user.username, "sign_out", addr, agent)
    logout_user()
    flask.session.clear()
    response = flask.redirect("/login")
    response.delete_cookie(CSRF_COOKIE)
    return response


def _login_page(error: str | None, status: int, username: str = "") -> flask.Response:
    lang = current_lang()
    ctx = context()
    html = flask.render_template_string(
        LOGIN_PAGE,
        lang=lang,
        t=lambda key: i18n.t(key, lang),
        error=error,
        username=username,
        csrf=generate_csrf(),
        next=_safe_next(flask.request.values.get("next")),
        city=ctx.city.spec.name_zh if lang == "zh" else ctx.city.spec.name_en,
        other_lang="en" if lang == "zh" else "zh",
        other_label=i18n.t("other_language", lang),
    )
    return flask.make_response(html, status)


LOGIN_PAGE = """<!DOCTYPE html>
<html lang="{{ 'zh-CN' if lang == 'zh' else 'en' }}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ t('sign_in') }} · {{ t('title') }}</title>
<link rel="stylesheet" href="/assets/citybrain.css"></head>
<body class="login-body">
<main class="login-card">
  <div class="login-city">{{ city }}</div>
  <h1>{{ t('title') }}</h1>
  <form method="post" action="/login" autocomplete="on">
    <input type="hidden" name="csrf_token" value="{{ csrf }}">
    <input type="hidden" name="next" value="{{ next }}">
    <label for="username">{{ t('username') }}</label>
    <input id="username" name="username" value="{{ username }}" autocomplete="username" required autofocus>
    <label for="password">{{ t('password') }}</label>
    <input id="password" name="password" type="password" autocomplete="current-password" required>
    <label class="login-remember"><input type="checkbox" name="remember"> {{ t('remember') }}</label>
    {% if error %}<p class="login-error" role="alert">{{ error }}</p>{% endif %}
    <button type="submit">{{ t('sign_in') }}</button>
  </form>
  <a class="login-lang" href="/login?lang={{ other_lang }}&next={{ next|urlencode }}">{{ other_label }}</a>
</main>
</body></html>
"""

MESSAGE_PAGE = """<!DOCTYPE html>
<html lang="{{ 'zh-CN' if lang == 'zh' else 'en' }}">
<head><meta charset="utf-8"><title>{{ title }}</title>\
<link rel="stylesheet" href="/assets/citybrain.css"></head>
<body class="login-body"><main class="login-card"><h1>{{ title }}</h1><p>{{ text }}</p>
<a class="login-lang" href="/">{{ link }}</a></main></body></html>
"""
