"""A real local HTTP server standing in for api.weixin.qq.com/cgi-bin/ as the hotline uses it
(``token`` and ``message/custom/send``), and the WeChat test account's settings and messages;
shared by the unit tests and the browser journey.

The server records every request as ``(method, path, query, json body)`` in ``seen``; a send is
answered with ``send_reply``, or cut off without an answer while ``cut`` > 0.
"""

import base64
import contextlib
import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

APP_ID = "wx1234567890abcdef"
SECRET = "s" * 32
TOKEN = "hotlinewechattoken"
AES_KEY = base64.b64encode(bytes(range(32))).decode().rstrip("=")  # 43 characters
ACCOUNT = "gh_0123456789ab"
ACCESS_TOKEN = "ACCESS-TOKEN-1"
SEND = "/cgi-bin/message/custom/send"


class WeChatApi(BaseHTTPRequestHandler):
    def _answer(self, payload: dict) -> None:
        body = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urlsplit(self.path)
        self.server.seen.append(("GET", url.path, parse_qs(url.query), None))
        if url.path == "/cgi-bin/token":
            self._answer({"access_token": ACCESS_TOKEN, "expires_in": 7200})
        else:
            self._answer({"errcode": 404, "errmsg": "unknown"})

    def do_POST(self):
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length).decode("utf-8"))
        self.server.seen.append(("POST", url.path, parse_qs(url.query), body))
        if self.server.cut > 0:
            self.server.cut -= 1
            self.close_connection = True  # no answer at all: the client sees the line drop
            return
        self._answer(self.server.send_reply)

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def wechat_api():
    """The stand-in, serving on a free loopback port until the block ends."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), WeChatApi)
    server.seen = []
    server.cut = 0
    server.send_reply = {"errcode": 0, "errmsg": "ok"}
    server.base_url = f"http://127.0.0.1:{server.server_port}/cgi-bin/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def signature(timestamp: str, nonce: str, token: str = TOKEN) -> str:
    # WeChat's: SHA-1 of the sorted token, timestamp and nonce (by hand, not with wechatpy, so
    # that the tests check the view rather than the library against itself).
    return hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()


def text_xml(content: str, msg_id, openid: str) -> str:
    """A text message as WeChat posts it (plain mode)."""
    return (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )
