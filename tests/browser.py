"""Headless Chromium for tests, driven over the DevTools protocol.

The protocol runs over a pipe (`--remote-debugging-pipe`: Chromium reads commands on
its fd 3 and writes replies and events on its fd 4, each a JSON text ended by a NUL
byte), so there is no port to pick or race for and no websocket to speak. A Page
records, from the moment it opens, what a person would see in the DevTools console as
an error (console.error and console.assert calls, uncaught exceptions, and the
browser's own error entries: a refused script, a failed load) and every request the
page makes.

    with Chromium() as browser:
        page = browser.open(path.as_uri(), width=1280, height=1600)
        assert page.errors == []
        png = page.screenshot()
"""
from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import tempfile
import time

import pytest

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
INSTALL = ("Chromium is needed for this test and was not found (looked for $CHROMIUM, then "
           f"{', '.join(NAMES)} on PATH). Install it: `apt-get update && apt-get install -y chromium` "
           "on Debian or Ubuntu (.ci/run does this), or set CHROMIUM=/path/to/chrome.")


def find_chromium() -> str:
    """The browser's executable; a missing browser FAILS the test (never a skip) and says how
    to install one."""
    named = os.environ.get("CHROMIUM")
    found = shutil.which(named) if named else next(filter(None, map(shutil.which, NAMES)), None)
    if not found:
        pytest.fail(INSTALL, pytrace=False)
    return found


class Chromium:
    def __init__(self, executable: str | None = None, timeout: float = 20.0):
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="ag-chromium-")
        to_browser, self._in = os.pipe()        # we write commands into _in; Chromium reads fd 3
        self._out, from_browser = os.pipe()     # Chromium writes fd 4; we read _out

        def fds():                              # in the child, before exec (fds made by os.pipe
            # are not inheritable, so only these two copies reach Chromium)
            a, b = os.dup(to_browser), os.dup(from_browser)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [executable or find_chromium(), "--headless", "--no-sandbox", "--disable-gpu",
             "--remote-debugging-pipe", f"--user-data-dir={self.profile}", "--no-first-run",
             "--no-default-browser-check", "--disable-extensions", "--disable-sync",
             "--disable-background-networking", "--disable-component-update", "--hide-scrollbars",
             "--mute-audio", "about:blank"],
            close_fds=False, preexec_fn=fds, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_browser)
        os.close(from_browser)
        self._buffer = b""
        self._next_id = 0
        self._pages: dict[str, Page] = {}

    # ------------------------------------------------------------------ the protocol

    def call(self, method: str, session: str | None = None, **params) -> dict:
        """Send one command and wait for its reply; events that arrive meanwhile go to their page."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._in, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._receive(deadline)
            if reply is None:
                raise TimeoutError(f"Chromium did not answer {method} in {self.timeout:g}s")
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def wait_for(self, page: "Page", event: str, timeout: float | None = None) -> dict:
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            for i, (name, params) in enumerate(page.events):
                if name == event:
                    del page.events[i]
                    return params
            if self._receive(deadline) is None:
                raise TimeoutError(f"no {event} in {timeout or self.timeout:g}s")

    def drain(self, seconds: float) -> None:
        """Take in whatever arrives for a while (late console messages)."""
        deadline = time.monotonic() + seconds
        while self._receive(deadline) is not None:
            pass

    def _receive(self, deadline: float) -> dict | None:
        """The next message (an event is also handed to its page), or None at the deadline."""
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._out], [], [], left)[0]:
                return None
            chunk = os.read(self._out, 1 << 20)
            if not chunk:
                raise RuntimeError(f"Chromium exited (status {self.proc.poll()})")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        message = json.loads(raw)
        page = self._pages.get(message.get("sessionId", ""))
        if page is not None and "method" in message:
            page.record(message["method"], message.get("params", {}))
        return message

    # ------------------------------------------------------------------ pages

    def open(self, url: str, width: int = 1280, height: int = 1600, media: str = "") -> "Page":
        """A new tab showing `url`, loaded (its load event fired), `media` emulated if given."""
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        page = self._pages[session] = Page(self, target, session)
        for domain in ("Runtime", "Log", "Page", "Network"):
            page.call(f"{domain}.enable")
        page.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                  deviceScaleFactor=1, mobile=False)
        if media:
            page.call("Emulation.setEmulatedMedia", media=media)
        page.call("Page.navigate", url=url)
        self.wait_for(page, "Page.loadEventFired")
        self.drain(0.2)
        return page

    def close(self) -> None:
        try:
            self.call("Browser.close")
        except (OSError, RuntimeError, TimeoutError):
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._in)
        os.close(self._out)
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> "Chromium":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Page:
    def __init__(self, browser: Chromium, target: str, session: str):
        self.browser, self.target, self.session = browser, target, session
        self.errors: list[str] = []             # what the console shows as errors
        self.requests: list[str] = []           # every URL the page asked for
        self.events: list[tuple[str, dict]] = []

    def record(self, method: str, params: dict) -> None:
        if method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
            self.errors.append("console.%s: %s" % (params["type"], " ".join(
                str(a.get("value", a.get("description", ""))) for a in params.get("args", []))))
        elif method == "Runtime.exceptionThrown":
            d = params["exceptionDetails"]
            self.errors.append("exception: " + d.get("exception", {}).get("description", d.get("text", "")))
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            self.errors.append(f"{params['entry']['source']}: {params['entry']['text']}")
        elif method == "Network.requestWillBeSent":
            self.requests.append(params["request"]["url"])
        self.events.append((method, params))

    def call(self, method: str, **params) -> dict:
        return self.browser.call(method, self.session, **params)

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self) -> bytes:
        """A PNG of the viewport."""
        return base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"])

    def pdf(self) -> bytes:
        """The page printed (print media, A4), as a PDF."""
        return base64.b64decode(self.call("Page.printToPDF", paperWidth=8.27, paperHeight=11.69,
                                          printBackground=True)["data"])

    def close(self) -> None:
        self.browser.call("Target.closeTarget", targetId=self.target)
        self.browser._pages.pop(self.session, None)
