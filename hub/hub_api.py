"""The hub smoke test's conversation with JupyterHub's REST API (hub/smoke-hub.sh runs it; Python's standard
library only, so that it runs on the bare CI machine).

    python3 hub/hub_api.py login-and-spawn URL USER PASSWORD   # log in with the login form, get an API token
                                                               # through the API, start the user's server, check it
    python3 hub/hub_api.py spawn URL USER ADMIN_TOKEN          # start a user's server with an admin token

Each prints what it checked and exits non-zero on the first failure.
"""
import http.cookiejar
import json
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


def fail(msg: str) -> None:
    sys.exit(f"hub/hub_api: FAILED: {msg}")


class Hub:
    def __init__(self, url: str):
        self.url = url.rstrip("/")
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect())

    def request(self, method: str, path: str, token: str | None = None, body=None, form=None, headers=None):
        h = dict(headers or {})
        data = None
        if token:
            h["Authorization"] = f"token {token}"
        if body is not None:
            data, h["Content-Type"] = json.dumps(body).encode(), "application/json"
        if form is not None:
            data, h["Content-Type"] = urllib.parse.urlencode(form).encode(), "application/x-www-form-urlencoded"
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=h)
        try:
            with self.opener.open(req, timeout=60) as r:
                return r.status, r.headers, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read().decode(errors="replace")

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.jar if c.name == name), None)

    def wait_ready(self, user: str, token: str, limit: float = 180) -> float:
        t = time.monotonic()
        while time.monotonic() - t < limit:
            code, _, text = self.request("GET", f"/hub/api/users/{user}", token)
            if code != 200:
                fail(f"GET /hub/api/users/{user}: {code} {text[:200]}")
            server = json.loads(text).get("servers", {}).get("", {})
            if server.get("ready"):
                return time.monotonic() - t
            time.sleep(1)
        fail(f"{user}'s server not ready after {limit:.0f} s")

    def check_server(self, user: str, token: str) -> None:
        """Through the hub's proxy, as the user: the course's kernel is the default, the notebooks are the root."""
        code, _, text = self.request("GET", f"/user/{user}/api/kernelspecs", token)
        if code != 200:
            fail(f"kernelspecs through the hub: {code} {text[:200]}")
        specs = json.loads(text)
        if specs["default"] != "tslab" or sorted(specs["kernelspecs"]) != ["tslab"]:
            fail(f"{user}'s kernelspecs: default {specs['default']}, {sorted(specs['kernelspecs'])}; expected tslab only")
        code, _, text = self.request("GET", f"/user/{user}/api/contents", token)
        names = [f["name"] for f in json.loads(text)["content"]] if code == 200 else []
        if "00_setup.ipynb" not in names:
            fail(f"{user}'s server root does not hold the notebooks: {code} {names}")
        print(f"hub/hub_api:    {user}'s server through the hub: kernelspecs ['tslab'] (default), notebooks/ as the root")
        # nbgrader's formgrader (grading pages and API) answers in admins' servers only (hub/jupyterhub_config.py).
        code, _, text = self.request("GET", f"/hub/api/users/{user}", token)
        admin = json.loads(text)["admin"]
        code, _, text = self.request("GET", f"/user/{user}/formgrader/manage_assignments", token)
        if code != (200 if admin else 404) or (admin and "Manage Assignments" not in text):
            fail(f"{user}'s formgrader (admin: {admin}) answered {code}; expected {200 if admin else 404}")
        print(f"hub/hub_api:    {user}'s formgrader through the hub: {code} ({'admin' if admin else 'not an admin'})")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def login_and_spawn(url: str, user: str, password: str) -> None:
    hub = Hub(url)
    code, _, _ = hub.request("GET", "/hub/login")
    if code != 200 or not hub.cookie("_xsrf"):
        fail(f"GET /hub/login: {code}, no _xsrf cookie")
    code, headers, text = hub.request("POST", "/hub/login?next=", form={
        "username": user, "password": password, "_xsrf": hub.cookie("_xsrf")})
    if code != 302 or not hub.cookie("jupyterhub-hub-login"):
        fail(f"login as {user}: {code} {text[:200]}")
    print(f"hub/hub_api: logged in as {user} (login form -> {headers.get('Location')})")
    # The API takes the session cookie with the page's XSRF token (JupyterHub 4+), here to make an API token.
    code, _, page = hub.request("GET", "/hub/token")
    m = re.search(r'xsrf_token: "([^"]+)"', page)
    if code != 200 or not m:
        fail(f"GET /hub/token: {code}, no xsrf_token in the page")
    code, _, text = hub.request("POST", f"/hub/api/users/{user}/tokens", body={"note": "smoke test", "expires_in": 3600},
                                headers={"X-XSRFToken": m.group(1)})
    if code != 201:
        fail(f"POST /hub/api/users/{user}/tokens: {code} {text[:200]}")
    token = json.loads(text)["token"]
    print(f"hub/hub_api:    API token for {user} from the hub's API")
    spawn(url, user, token, hub)


def spawn(url: str, user: str, token: str, hub: Hub | None = None) -> None:
    hub = hub or Hub(url)
    code, _, text = hub.request("POST", f"/hub/api/users/{user}/server", token)
    if code not in (201, 202):
        fail(f"POST /hub/api/users/{user}/server: {code} {text[:200]}")
    secs = hub.wait_ready(user, token)
    print(f"hub/hub_api:    {user}'s server ready in {secs:.1f} s")
    hub.check_server(user, token)


if __name__ == "__main__":
    if len(sys.argv) != 5 or sys.argv[1] not in ("login-and-spawn", "spawn"):
        sys.exit(__doc__)
    cmd, url, user, secret = sys.argv[1:]
    (login_and_spawn if cmd == "login-and-spawn" else spawn)(url, user, secret)
