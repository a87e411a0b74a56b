"""The WeChat Official Account's callback (服务器配置 URL): ``/wechat/callback/``.

Signed by WeChat (the Token), not by a session: CSRF-exempt as the Twilio webhooks are. Off (404)
until the account is configured. A bad signature is 403; a body that is not a message (bad XML,
bad crypto, no sender) is 400; nothing is written for either.
"""

import re
import struct
from xml.parsers.expat import ExpatError

from django.conf import settings
from django.http import (
    Http404,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseForbidden,
)
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from wechatpy import parse_message
from wechatpy.exceptions import InvalidSignatureException, WeChatException
from wechatpy.replies import TextReply
from wechatpy.utils import check_signature

from hotline.services.wechat import Texts, receive_wechat
from hotline.wechat import wechat_configured, wechat_crypto

# WeChat's messages are a few KB; anything much larger is not one.
MAX_BODY_BYTES = 64 * 1024
OPENID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
SUBSCRIBE_EVENTS = {"subscribe", "subscribe_scan"}
# What a body that is not a valid (or decryptable) message raises in wechatpy and xmltodict.
BAD_MESSAGE = (
    ExpatError,
    WeChatException,
    KeyError,
    TypeError,
    ValueError,
    AttributeError,
    IndexError,
    struct.error,
)


def _text(content: str) -> HttpResponse:
    return HttpResponse(content, content_type="text/plain; charset=utf-8")


@csrf_exempt
@require_http_methods(["GET", "POST"])
def callback(request):
    """GET: WeChat checks the URL (the signature, then ``echostr`` echoed). POST: a message or
    event, in plain or safe mode (``encrypt_type=aes``). Answered at once with "success" or a
    passive reply (WeChat retries after 5 s, three times; a retry is recognised by its MsgId):

    - a text message starts or continues the sender's conversation; the first one is answered
      with the welcome (110/120);
    - subscribe: a polite welcome saying how to write to us; unsubscribe and other events
      (menu clicks, location reports): ignored;
    - pictures, voice, video, links, locations: a polite reply that only text is read; nothing
      recorded (the operator cannot see them)."""
    if not wechat_configured():
        raise Http404
    params = request.GET
    timestamp, nonce = params.get("timestamp", ""), params.get("nonce", "")
    try:
        check_signature(settings.WECHAT_TOKEN, params.get("signature", ""), timestamp, nonce)
    except InvalidSignatureException:
        return HttpResponseForbidden("bad signature")
    if request.method == "GET":
        return _text(params.get("echostr", ""))
    if len(request.body) > MAX_BODY_BYTES:
        return HttpResponseBadRequest("too large")
    crypto = None
    if params.get("encrypt_type") == "aes":
        crypto = wechat_crypto()
        if crypto is None:
            return HttpResponseBadRequest("safe mode is not configured")
    try:
        xml = request.body
        if crypto is not None:
            xml = crypto.decrypt_message(xml, params.get("msg_signature", ""), timestamp, nonce)
        message = parse_message(xml)
        kind = message.type
        openid = message.source
        event = getattr(message, "event", "") if kind == "event" else ""
        text = (message.content, str(message.id)) if kind == "text" else None
    except InvalidSignatureException:
        return HttpResponseForbidden("bad signature")
    except BAD_MESSAGE:
        return HttpResponseBadRequest("not a WeChat message")
    if not isinstance(openid, str) or not OPENID.match(openid):
        return HttpResponseBadRequest("no sender")
    if text is not None:
        body, msg_id = text
        if not isinstance(body, str | None) or msg_id == "0":
            return HttpResponseBadRequest("not a text message")  # no MsgId: not from WeChat
        _, reply = receive_wechat(openid=openid, body=body or "", msg_id=msg_id)
    elif kind == "event":
        reply = Texts.SUBSCRIBE if event in SUBSCRIBE_EVENTS else ""
    else:
        reply = Texts.TEXT_ONLY
    if not reply:
        return _text("success")
    xml = TextReply(message=message, content=reply).render()
    if crypto is not None:
        xml = crypto.encrypt_message(xml, nonce, timestamp)
    return HttpResponse(xml, content_type="application/xml; charset=utf-8")
