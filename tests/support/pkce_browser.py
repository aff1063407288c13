"""A stand-in for the browser flytekit opens in the PKCE flow (set as $BROWSER): it logs in on the
server's login page with $PKCE_USER / $PKCE_PASSWORD, follows the authorize redirect and delivers the
code to flytekit's local callback server, as a person clicking through would.

Python's ``webbrowser`` waits for a $BROWSER command to exit, while flytekit only starts answering its
callback after that; so the script hands the work to a detached copy of itself and returns at once."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from urllib.parse import urlsplit

import httpx


def main(url: str) -> None:
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
    with httpx.Client(base_url=origin, timeout=30) as browser:
        login = browser.get(url, follow_redirects=True)
        csrf = re.search(r'name="csrf" value="([^"]+)"', login.text)
        target = re.search(r'name="next" value="([^"]+)"', login.text)
        assert csrf and target, login.text
        form = {
            "csrf": csrf[1],
            "next": target[1].replace("&amp;", "&"),
            "username": os.environ["PKCE_USER"],
            "password": os.environ["PKCE_PASSWORD"],
        }
        back = browser.post("/auth/login", data=form)
        authorized = browser.get(back.headers["location"])
        callback = authorized.headers["location"]
    for _ in range(50):
        try:
            httpx.get(callback, timeout=10)
            return
        except httpx.TransportError:
            time.sleep(0.2)


if __name__ == "__main__":
    if os.environ.get("PKCE_BROWSER_CHILD"):
        main(sys.argv[1])
    else:
        env = {**os.environ, "PKCE_BROWSER_CHILD": "1"}
        subprocess.Popen([sys.executable, __file__, sys.argv[1]], env=env, start_new_session=True)
