"""A tiny JSON client for the REST API of a real server (tests that run servers in subprocesses)."""

import json
import urllib.error
import urllib.request


class Api:
    def __init__(self, base_url: str, username: str, password: str):
        self.base_url = base_url
        credentials = {"username": username, "password": password}
        self.token = self.call("POST", "/api/v1/auth/token/", credentials)["token"]

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        request = urllib.request.Request(
            self.base_url + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Content-Type": "application/json", "Accept-Language": "en"},
        )
        if getattr(self, "token", None):
            request.add_header("Authorization", f"Token {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            # The answer's words in the failure, not just its status.
            error.msg = f"{error.msg}: {error.read()[:500].decode(errors='replace')}"
            raise

    def open_case(self, name: str, risk: str = "moderate") -> dict:
        """A new person and their case, opened as the signed-in operator."""
        person = self.call("POST", "/api/v1/people/", {"name": name})
        return self.call("POST", "/api/v1/cases/", {"person": person["id"], "risk": risk})

    def enter_call(self, number: str, channel: str = "walk_in") -> dict:
        """A call entered by hand (walk-in), queued exactly like a Twilio call."""
        return self.call("POST", "/api/v1/calls/", {"channel": channel, "from_number": number})
