"""The README's screenshots, taken from the real app: `.venv/bin/python scripts/screenshots.py`.

It starts the embedded database (nx-27017, in memory, on a free port) and the app as `make run`
starts it (scripts/run.sh, production mode, through tests/servers.py's AppServer), built in a
REFLEX_WEB_WORKDIR of its own (never the checkout's .web, which test runs use: a directory kept
between runs under the system temp dir and locked while the app runs; a second run at the same
time gets a fresh one). It then drives Chromium (launched as the widget tests launch it: third-
party storage partitioned, as in a user's Chrome) and writes viewport PNGs to docs/screenshots/:

- chat-desktop-{light,dark}.png (1280x800): a customer on /chat/<id> with three conversations in
  the sidebar and two answered questions, each with its "Sources";
- chat-phone-{light,dark}.png (390x844, scale 2, touch) and chat-phone-menu-light.png (the
  "Conversations" drawer open): the same conversation on a phone;
- widget-phone-light.png and widget-desktop-dark.png: the website widget open, with an answer,
  on examples/widget-demo.html served from another site listed in WIDGET_ALLOWED_ORIGINS;
- inbox-desktop-light.png: the team inbox as an admin, a waiting conversation open;
- insights-desktop-light.png (1280x1500): /inbox/insights over `make demo-data`'s month.

Every wait polls a condition; nothing sleeps for a fixed time. Running it again replaces the
PNGs (a fresh database each time).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright  # noqa: E402

from bench.common import bench_dir  # noqa: E402
from tests.e2e.conftest import CHROMIUM_ARGS, make_admin  # noqa: E402
from tests.e2e.test_widget import PLAYWRIGHT_DISABLED  # noqa: E402
from tests.e2e.widget_host import DEMO_HTML, Site  # noqa: E402
from tests.servers import AppServer, DatabaseServer, free_port  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
LOGS = ROOT / "test-results"
MAX_BYTES = 250_000
NEW_CHAT = re.compile(r"/chat/?$")
THREAD = re.compile(r"/chat/[0-9a-f]{16}/?$")
TIMEOUT = 30_000  # ms, for anything the app does (an answer is written in well under a second)

DESKTOP = {"viewport": {"width": 1280, "height": 800}}
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
         "has_touch": True}

CUSTOMER = "maria_lopez"
OTHER_CUSTOMER = "tom_becker"
PASSWORD = "correct horse battery"
ADMIN_EMAIL = "alex@example.com"
ADMIN_PASSWORD = "correct horse staple"
# Asked in this order: the last conversation is the one shown (newest activity, top of the list).
EARLIER = ["Can I upgrade my plan in the middle of the month?", "Does Ellavox work with HubSpot?"]
SHOWN = ["How do I reset my password?", "How do I turn on two-factor authentication?"]
HANDOFF = "I was charged twice this month, can I get a refund?"
OTHER_HANDOFF = "Can you send me a copy of last month's invoice with our VAT number on it?"
WIDGET_QUESTION = "How do I download an invoice?"

# Playwright's own --disable-features list turns off third-party storage partitioning; the
# widget needs it on, as in a user's Chrome (see tests/e2e/test_widget.py).
KEPT_FEATURES = ",".join(f for f in PLAYWRIGHT_DISABLED if f != "ThirdPartyStoragePartitioning")
SETTLED = "() => document.getAnimations().every(a => a.playState !== 'running')"


# Pages -------------------------------------------------------------------------------------------

def answers(page_or_frame):
    return page_or_frame.locator(".message-assistant:not(.message-live)")


def ask(page_or_frame, text: str, answered: int) -> None:
    """Send `text` and wait until `answered` answers are stored, the last with its sources.

    A page still loading its conversation may empty the composer just as the text goes in; then
    the message never shows, and it is typed again (a message that shows is never sent twice)."""
    mine = page_or_frame.locator(".message-user").filter(has_text=text)
    for attempt in range(3):
        page_or_frame.get_by_label("Message").fill(text)
        page_or_frame.get_by_role("button", name="Send").click()
        try:
            expect(mine.first).to_be_visible(timeout=5_000)
            break
        except AssertionError:
            if attempt == 2:
                raise
    expect(answers(page_or_frame)).to_have_count(answered, timeout=TIMEOUT)
    expect(page_or_frame.locator(".message-live")).to_have_count(0, timeout=TIMEOUT)


def sign_up(page: Page, username: str) -> None:
    page.goto("/signup")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Email").fill(f"{username}@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_label("Message")).to_be_editable(timeout=TIMEOUT)


def log_in(page: Page, login: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("Email or username").fill(login)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def new_chat(page: Page) -> None:
    page.get_by_role("link", name="New chat").first.click()
    expect(page).to_have_url(NEW_CHAT, timeout=TIMEOUT)
    expect(page.locator(".message")).to_have_count(0, timeout=TIMEOUT)
    expect(page.get_by_label("Message")).to_be_editable(timeout=TIMEOUT)


def settle(page: Page) -> None:
    """No focus ring on whatever was clicked last, webfonts loaded, animations over."""
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    page.evaluate("() => document.fonts.ready.then(() => true)")
    page.wait_for_function(SETTLED, timeout=TIMEOUT)


def shoot(page: Page, name: str, shots: list[Path]) -> None:
    settle(page)
    path = OUT / name
    page.screenshot(path=str(path), animations="disabled", caret="hide")
    shots.append(path)
    print(f"  {name}: {path.stat().st_size / 1000:.0f} KB", flush=True)


def sideways(page: Page) -> int:
    return page.evaluate("() => document.scrollingElement.scrollWidth - window.innerWidth")


# Scrolls the thread so the last question is 12 px below its top (or to the end, when the rest is
# shorter than the view), and resolves once the position holds for two frames.
LAST_EXCHANGE = """scroller => new Promise((done) => {
  let steady = 0;
  const step = () => {
    const asked = [...scroller.querySelectorAll('.message-user')].at(-1);
    if (!asked) return done(true);
    const top = asked.getBoundingClientRect().top - scroller.getBoundingClientRect().top;
    const end = scroller.scrollTop + scroller.clientHeight >= scroller.scrollHeight - 2;
    if (Math.abs(top - 12) < 2 || (end && top > 12)) {
      if (++steady >= 2) return done(true);
    } else {
      steady = 0;
      scroller.scrollTop += top - 12;
    }
    requestAnimationFrame(step);
  };
  step();
})"""


def show_last_exchange(page_or_frame) -> None:
    """The last question at the top of the view, with its answer and the answer's sources below."""
    page_or_frame.locator("#scroller").evaluate(LAST_EXCHANGE)


# The screenshots -----------------------------------------------------------------------------

class Shots:
    def __init__(self, browser: Browser, app: AppServer, site: Site) -> None:
        self.browser = browser
        self.app = app
        self.site = site
        self.contexts: list[BrowserContext] = []
        self.files: list[Path] = []
        self.errors: list[str] = []
        self.thread_url = ""

    def context(self, app_pages: bool = True, **options) -> BrowserContext:
        base = {"base_url": self.app.url} if app_pages else {}
        context = self.browser.new_context(**base, **options)
        context.on("weberror", lambda error: self.errors.append(str(error.error)))
        self.contexts.append(context)
        return context

    def close(self) -> None:
        for context in self.contexts:
            context.close()

    def chat(self) -> None:
        page = self.context(**DESKTOP).new_page()
        sign_up(page, CUSTOMER)
        for n, question in enumerate(EARLIER):
            if n:
                new_chat(page)
            ask(page, question, 1)
            page.wait_for_url(THREAD)
        new_chat(page)
        for n, question in enumerate(SHOWN, start=1):
            ask(page, question, n)
        page.wait_for_url(THREAD)
        self.thread_url = page.url
        sidebar = page.get_by_role("list", name="Conversations").get_by_role("listitem")
        expect(sidebar).to_have_count(3, timeout=TIMEOUT)
        expect(answers(page).last.get_by_role("group", name="Sources")).to_be_visible()
        expect(answers(page).last.locator("ol > li").first).to_be_visible()
        show_last_exchange(page)
        shoot(page, "chat-desktop-light.png", self.files)
        page.context.close()

        dark = self.context(color_scheme="dark", **DESKTOP).new_page()
        self.open_thread(dark)
        shoot(dark, "chat-desktop-dark.png", self.files)

        for scheme in ("light", "dark"):
            phone = self.context(color_scheme=scheme, **PHONE).new_page()
            self.open_thread(phone)
            if (extra := sideways(phone)) > 0:
                print(f"  note: the phone page scrolls {extra} px sideways ({scheme})")
            shoot(phone, f"chat-phone-{scheme}.png", self.files)
            if scheme == "light":
                phone.get_by_role("button", name="Conversations").click()
                menu = phone.get_by_role("list", name="Conversations")
                expect(menu.get_by_role("listitem")).to_have_count(3, timeout=TIMEOUT)
                shoot(phone, "chat-phone-menu-light.png", self.files)

    def open_thread(self, page: Page) -> None:
        log_in(page, CUSTOMER, PASSWORD)
        expect(page.get_by_label("Message")).to_be_editable(timeout=TIMEOUT)
        page.goto(self.thread_url)
        expect(answers(page)).to_have_count(len(SHOWN), timeout=TIMEOUT)
        expect(answers(page).last.get_by_role("group", name="Sources")).to_be_visible()
        expect(page.get_by_label("Message")).to_be_editable(timeout=TIMEOUT)
        show_last_exchange(page)

    def widget(self) -> None:
        demo = DEMO_HTML.read_text().replace('src="/widget.js"', f'src="{self.app.url}/widget.js"')
        url = self.site.page("/", demo)
        for name, options in (("widget-phone-light.png", PHONE),
                              ("widget-desktop-dark.png", {"color_scheme": "dark", **DESKTOP})):
            page = self.context(app_pages=False, **options).new_page()
            page.goto(url)
            page.get_by_role("button", name="Chat with us").click()
            frame = page.frame_locator("iframe[title='Support chat']")
            expect(frame.get_by_role("button", name="Send")).to_be_enabled(timeout=TIMEOUT)
            ask(frame, WIDGET_QUESTION, 1)
            expect(answers(frame).last.get_by_role("group", name="Sources")).to_be_visible()
            show_last_exchange(frame)
            frame.locator("body").evaluate("b => document.activeElement && document.activeElement.blur()")
            frame.locator("body").evaluate(
                "b => new Promise(r => { const check = () => document.getAnimations().every("
                "a => a.playState !== 'running') ? r(true) : requestAnimationFrame(check); check(); })")
            shoot(page, name, self.files)

    def inbox(self) -> None:
        # The admin is online first (so customers are told the team is in), then two customers
        # hand a conversation to the team: Maria first (hers is opened, with her earlier ones
        # beside it), so hers is the oldest in "Waiting".
        make_admin({k: self.app.env[k] for k in ("MONGODB_URI", "MONGODB_DB")}, ADMIN_EMAIL,
                   ADMIN_PASSWORD)
        agent = self.context(**DESKTOP).new_page()
        log_in(agent, ADMIN_EMAIL, ADMIN_PASSWORD)
        expect(agent.get_by_role("tablist", name="Views")).to_be_visible(timeout=TIMEOUT)
        expect(agent.locator(".presence-online")).to_have_count(1, timeout=TIMEOUT)

        for login, question in ((CUSTOMER, HANDOFF), (OTHER_CUSTOMER, OTHER_HANDOFF)):
            page = self.context(**DESKTOP).new_page()
            if login == CUSTOMER:
                log_in(page, login, PASSWORD)
                expect(page.get_by_label("Message")).to_be_editable(timeout=TIMEOUT)
                new_chat(page)
            else:
                sign_up(page, login)
            ask(page, question, 1)
            page.get_by_role("button", name="Talk to a person").click()
            expect(page.get_by_role("status").filter(has_text="queue")).to_be_visible(timeout=TIMEOUT)
            page.context.close()

        queue = agent.get_by_role("list", name="Conversations").get_by_role("link")
        expect(queue).to_have_count(2, timeout=TIMEOUT)
        queue.filter(has_text=HANDOFF).click()
        expect(agent.get_by_role("region", name="Summary")).to_be_visible(timeout=TIMEOUT)
        expect(agent.locator(".inbox-customer")).to_contain_text(f"{CUSTOMER}@example.com")
        expect(agent.get_by_role("button", name="Claim")).to_be_visible()
        expect(answers(agent)).to_have_count(1, timeout=TIMEOUT)
        expect(agent.locator(".conversation-state")).to_be_visible(timeout=TIMEOUT)
        show_last_exchange(agent)
        shoot(agent, "inbox-desktop-light.png", self.files)

    def insights(self) -> None:
        """`make demo-data`'s month on the dashboard, as the admin of `inbox` sees it."""
        subprocess.run([sys.executable, str(ROOT / "scripts" / "demo_data.py")], check=True, cwd=ROOT,
                       env={**os.environ, **self.app.env}, stdout=subprocess.DEVNULL)
        page = self.context(viewport={"width": 1280, "height": 1500}).new_page()
        log_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
        expect(page.get_by_role("tablist", name="Views")).to_be_visible(timeout=TIMEOUT)
        page.goto("/inbox/insights?days=30")
        expect(page.get_by_role("heading", name="Knowledge gaps")).to_be_visible(timeout=TIMEOUT)
        shoot(page, "insights-desktop-light.png", self.files)


def main() -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # still stop everything in `finally`
    OUT.mkdir(parents=True, exist_ok=True)
    LOGS.mkdir(exist_ok=True)
    database = DatabaseServer().start()
    site = Site(port=free_port())
    app = None
    try:
        with bench_dir("screenshots-web") as workdir:  # kept between runs: the build is reused
            app = AppServer({
                "MONGODB_URI": database.uri, "MONGODB_DB": f"screens_{uuid.uuid4().hex[:8]}",
                "JWT_SECRET": "screenshots-" + "x" * 40, "APP_ENV": "production",
                "OPEN_ROUTER": "", "REDIS_URL": "", "WORKERS": "1", "KNOWLEDGE_DIR": "",
                "TRUSTED_PROXY_HOPS": "0", "SUPPORT_HOURS": "", "LOG_FORMAT": "text",
                "SIGNUPS_PER_HOUR": "1000", "AI_MESSAGES_PER_MINUTE": "1000", "GUESTS_PER_HOUR": "1000",
                "WIDGET_ALLOWED_ORIGINS": f"http://127.0.0.1:{site.port}",
                "WIDGET_IDENTITY_SECRET": "screenshots-widget-secret",
                "REFLEX_WEB_WORKDIR": workdir, "REFLEX_USE_SYSTEM_BUN": "1",
            }, LOGS / "screenshots-app.log")
            # The URLs the frontend is built for: this run's port (the environment wins over .env).
            app.env["API_URL"] = app.url
            app.env["FRONTEND_ORIGINS"] = f"{app.url},http://127.0.0.1:{app.port}"
            print(f"Starting the app on {app.url} (log: {app.log_path}); a first build takes minutes…",
                  flush=True)
            app.start(timeout=900)
            site.start()
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path="/usr/bin/chromium",
                    args=[*CHROMIUM_ARGS, f"--disable-features={KEPT_FEATURES}"],
                    ignore_default_args=["--disable-features=" + ",".join(PLAYWRIGHT_DISABLED)])
                shots = Shots(browser, app, site)
                try:
                    print("Chat:", flush=True)
                    shots.chat()
                    print("Widget:", flush=True)
                    shots.widget()
                    print("Inbox:", flush=True)
                    shots.inbox()
                    print("Insights:", flush=True)
                    shots.insights()
                finally:
                    shots.close()
                    browser.close()
    finally:
        if app:
            app.stop()
        site.stop()
        database.stop()
    big = [path for path in shots.files if path.stat().st_size > MAX_BYTES]
    for path in big:
        print(f"WARNING: {path.name} is {path.stat().st_size / 1000:.0f} KB (over {MAX_BYTES // 1000} KB)")
    if shots.errors:
        print("Page errors:", *shots.errors, sep="\n  ")
    print(f"{len(shots.files)} screenshots in {OUT.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
