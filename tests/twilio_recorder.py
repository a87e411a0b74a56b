"""A recording HTTP client for the Twilio SDK: the real request the SDK builds, no network."""

import itertools
import json
import logging
import re
from dataclasses import dataclass, field

from twilio.http import HttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator

_counter = itertools.count(1)


@dataclass
class RecordedRequest:
    method: str
    url: str
    params: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)
    headers: dict = field(default_factory=dict)
    auth: tuple | None = None


class RecordingHttpClient(HttpClient):
    """Records each request; answers with a plausible Twilio resource (or a queued override)."""

    def __init__(self):
        super().__init__(logging.getLogger("twilio.recording"), is_async=False)
        self.requests: list[RecordedRequest] = []
        self.responses: list[tuple[int, dict]] = []  # pushed by tests, consumed first
        self.media: list[tuple[bytes, str]] = []  # audio answered by download(), pushed by tests

    def request(self, method, uri, params=None, data=None, headers=None, auth=None, **kwargs):
        self.requests.append(
            RecordedRequest(
                method, uri, dict(params or {}), dict(data or {}), dict(headers or {}), auth
            )
        )
        if self.responses:
            status, body = self.responses.pop(0)
            return Response(status, json.dumps(body))
        return Response(201 if method == "POST" else 200, json.dumps(self._default_body(uri, data)))

    def download(self, url, auth):
        """The media client's download (core.telephony.download_media): recorded like a GET."""
        self.requests.append(RecordedRequest("GET", url, auth=auth))
        if self.media:
            return self.media.pop(0)
        return b"ID3-recorded-audio", "audio/mpeg"

    def _default_body(self, uri: str, data) -> dict:
        n = next(_counter)
        data = dict(data or {})
        if re.search(r"/Messages\.json$", uri):
            return {
                "sid": f"SM{n:032d}",
                "status": "queued",
                "to": data.get("To"),
                "body": data.get("Body"),
            }
        if re.search(r"/Calls\.json$", uri):
            return {"sid": f"CA{n:032d}", "status": "queued", "to": data.get("To")}
        if re.search(r"/Participants\.json$", uri):
            return {
                "call_sid": f"CA{n:032d}",
                "label": data.get("Label"),
                "status": "queued",
            }
        match = re.search(r"/Participants/(\w+)\.json$", uri)
        if match:
            return {"call_sid": match.group(1), "hold": data.get("Hold") == "true"}
        match = re.search(r"/Calls/(CA\w+)\.json$", uri)
        if match:
            return {"sid": match.group(1), "status": "in-progress"}
        return {"sid": f"XX{n:032d}"}

    def to(self, pattern: str) -> list[RecordedRequest]:
        return [r for r in self.requests if re.search(pattern, r.url)]


def sign(url: str, params: dict, token: str) -> str:
    """The X-Twilio-Signature Twilio would send for this POST."""
    return RequestValidator(token).compute_signature(url, params)
