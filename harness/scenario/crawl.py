"""Finding signup and login forms where real apps put them: on the pages a visitor reaches.

Route names miss a login form on the landing page, or a signup at
``/members/new``. When the planner cannot place signup or login from the
app's rules, the harness looks the way a visitor would: ``GET /``, then the
pages it links to, breadth first, and reads every form it finds
(:func:`harness.scenario.forms.form_role`)::

    found = crawl(fetch, max_pages=10)
    found.forms["login"].page        # "/"
    found.pages                      # ("/", "/about", "/members/new")

The crawl is bounded and harmless: at most ``max_pages`` GETs, same origin
only (relative links and root-relative paths; an absolute URL is another
site), never a link that looks like it logs out or deletes something, never
the harness's own probe routes, never a static file. It is a fresh visitor
(its own cookies) sending no PostHog headers, and its requests are not
scenario steps.
"""

from __future__ import annotations

import collections
import dataclasses
import typing as t
import urllib.parse
from html.parser import HTMLParser

from harness.scenario.forms import find_forms
from harness.scenario.forms import form_role
from harness.scenario.forms import tokens
from harness.scenario.transport import TransportError

if t.TYPE_CHECKING:
    from harness.scenario.transport import Transport

MAX_PAGES = 10
ROLES = ("signup", "login")
_AVOID_WORDS = frozenset(
    {"logout", "signout", "logoff", "delete", "remove", "destroy", "unsubscribe", "deactivate"}
)
_STATIC_SUFFIXES = (
    ".css", ".js", ".png", ".jpg", ".jpeg", ".gif", ".svg", ".ico", ".webp",
    ".pdf", ".zip", ".woff", ".woff2", ".ttf", ".map", ".txt", ".xml", ".json",
)  # fmt: skip
_PROBE_PREFIX = "/__posthog_verify__"

USER_AGENT = "Mozilla/5.0 (compatible; posthog-verify/0.1; crawl)"


@dataclasses.dataclass(frozen=True)
class Page:
    """One answer the crawl read. ``location`` is a redirect's target."""

    status: int
    content_type: str
    body: str
    location: str = ""


#: ``fetch(path)`` -> the page, or None when no answer came.
Fetch = t.Callable[[str], Page | None]


def fetcher(transport: Transport, timeout_s: float) -> Fetch:
    """A :data:`Fetch` over a transport of the crawl's own (its own cookies)."""

    def fetch(path: str) -> Page | None:
        headers = {"Accept": "text/html", "User-Agent": USER_AGENT}
        try:
            answer = transport.request("GET", path, headers=headers, timeout=timeout_s)
        except TransportError:
            return None
        location = urllib.parse.urlsplit(answer.headers.get("Location", ""))
        if location.netloc == urllib.parse.urlsplit(answer.url).netloc:
            # the app's own host, written out: keep the path (another host stays absolute)
            location = location._replace(scheme="", netloc="")
        content_type = answer.headers.get("Content-Type", "")
        return Page(answer.status, content_type, answer.text, location.geturl())

    return fetch


@dataclasses.dataclass(frozen=True)
class FoundForm:
    """A signup or login form the crawl found.

    :param page: the page that shows it (GET it to get a fresh CSRF token).
    :param why: what made it that role (fields or wording), for reports.
    """

    role: str
    page: str
    action: str
    method: str
    fields: tuple[str, ...]
    why: str

    def describe(self) -> str:
        """``a login form on / (fields email, password: its submit button says 'Log in')``."""
        return f"a {self.role} form on {self.page} (fields {', '.join(self.fields)}: {self.why})"


@dataclasses.dataclass(frozen=True)
class CrawlResult:
    """The pages read, in order, and the first form found for each role."""

    pages: tuple[str, ...] = ()
    forms: dict[str, FoundForm] = dataclasses.field(default_factory=dict)

    def summary(self) -> str:
        shown = ", ".join(self.pages[:5]) + (", ..." if len(self.pages) > 5 else "")
        return f"{len(self.pages)} page(s) crawled from / ({shown})"


class _LinkParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str]] = []  # (href, link text)
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href = dict(attrs).get("href") or None
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            self.links.append((self._href, " ".join("".join(self._text).split())))
            self._href = None


def links(html: str, page: str) -> list[str]:
    """The same-origin GET targets of a page's ``<a href>`` links, as paths
    with query, in document order, without the ones the crawl must not follow."""
    parser = _LinkParser()
    parser.feed(html)
    parser.close()
    out: list[str] = []
    for href, text in parser.links:
        target = _same_origin(href, page)
        if target is not None and followable(target, text):
            out.append(target)
    return list(dict.fromkeys(out))


def _same_origin(href: str, page: str) -> str | None:
    parts = urllib.parse.urlsplit(href.strip())
    if parts.scheme or parts.netloc or href.strip().startswith(("#", "//")):
        return None  # another site (or a scheme such as mailto:, javascript:)
    base = urllib.parse.urljoin("http://app.invalid/", page)
    resolved = urllib.parse.urlsplit(urllib.parse.urljoin(base, href.strip()))
    path = resolved.path or "/"
    return f"{path}?{resolved.query}" if resolved.query else path


def followable(path: str, text: str = "") -> bool:
    """Not a logout (or delete) link, not a static file, not the harness's probe."""
    bare = path.split("?")[0]
    words = set(tokens(bare)) | set(tokens(text))
    words |= {a + b for a, b in zip(tokens(text), tokens(text)[1:], strict=False)}
    if words & _AVOID_WORDS:
        return False
    return not bare.startswith(_PROBE_PREFIX) and not bare.lower().endswith(_STATIC_SUFFIXES)


def crawl(fetch: Fetch, *, start: str = "/", max_pages: int = MAX_PAGES) -> CrawlResult:
    """Read ``start`` and the pages it links to, breadth first, up to
    ``max_pages`` GETs; stop early once both a signup and a login form are found."""
    queue: collections.deque[str] = collections.deque([start])
    seen: set[str] = {start}
    pages: list[str] = []
    forms: dict[str, FoundForm] = {}
    while queue and len(pages) < max_pages and len(forms) < len(ROLES):
        page = queue.popleft()
        answer = fetch(page)
        pages.append(page)
        if answer is None:
            continue
        targets = _read(answer, page, forms)
        for target in targets:
            if target not in seen:
                seen.add(target)
                queue.append(target)
    return CrawlResult(tuple(pages), forms)


def _read(answer: Page, page: str, forms: dict[str, FoundForm]) -> list[str]:
    """Record the page's signup/login forms in ``forms``; return where it leads."""
    if 300 <= answer.status < 400 and answer.location:
        target = _same_origin(answer.location, page)
        return [target] if target is not None and followable(target) else []
    if answer.status >= 400 or "html" not in answer.content_type:
        return []
    for form in find_forms(answer.body, page):
        found = form_role(form)
        if found is not None and found[0] not in forms:
            names = tuple(f.name for f in form.fields if f.type != "hidden")
            forms[found[0]] = FoundForm(found[0], page, form.action, form.method, names, found[1])
    return links(answer.body, page)
