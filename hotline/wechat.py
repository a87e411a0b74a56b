"""The WeChat Official Account (微信公众号) through wechatpy: is the channel configured, the
callback's crypto, and the API client whose access token lives in Django's cache. No writes here
(``hotline.services.wechat`` records what is received and sent)."""

import time

import requests
from django.conf import settings
from django.core.cache import cache
from wechatpy import WeChatClient
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import WeChatClientException
from wechatpy.session import SessionStorage

# A token is dropped from the cache this long before WeChat says it expires (clock skew, and a
# request in flight while it expires).
TOKEN_MARGIN_SECONDS = 300


def wechat_configured() -> bool:
    return bool(settings.WECHAT_APP_ID and settings.WECHAT_TOKEN and settings.WECHAT_APP_SECRET)


def wechat_crypto() -> WeChatCrypto | None:
    """Safe mode's crypto (安全模式), or None without an EncodingAESKey (plain mode only)."""
    if not settings.WECHAT_ENCODING_AES_KEY:
        return None
    return WeChatCrypto(
        settings.WECHAT_TOKEN, settings.WECHAT_ENCODING_AES_KEY, settings.WECHAT_APP_ID
    )


class CacheStorage(SessionStorage):
    """wechatpy's session storage on Django's cache: the access token is shared by the processes
    that share the cache (with a per-process cache each process fetches its own)."""

    prefix = "wechatpy:"

    def get(self, key, default=None):
        return cache.get(self.prefix + key, default)

    def set(self, key, value, ttl=None):
        if ttl is not None:
            ttl = max(int(ttl) - TOKEN_MARGIN_SECONDS, 1)
        cache.set(self.prefix + key, value, ttl)

    def delete(self, key):
        cache.delete(self.prefix + key)


class Client(WeChatClient):
    """``WeChatClient`` on ``WECHAT_API_BASE_URL``. wechatpy 1.8 fetches the token from a fixed
    address, so ``fetch_access_token`` (the client's hook for how a token is got, as wechatpy's
    own component client overrides it) asks the configured base and stores the token in the
    session storage the same way."""

    def __init__(self, appid, secret, *, base_url: str, **kwargs):
        super().__init__(appid, secret, **kwargs)
        self.API_BASE_URL = base_url

    def fetch_access_token(self):
        response = requests.get(
            self.API_BASE_URL + "token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
            timeout=self.timeout,
        )
        try:
            response.raise_for_status()
            result = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise WeChatClientException(None, "token", client=self, response=response) from exc
        if result.get("errcode") or not result.get("access_token"):
            raise WeChatClientException(
                result.get("errcode"), result.get("errmsg", ""), client=self, response=response
            )
        expires_in = int(result.get("expires_in") or 7200)
        self.session.set(self.access_token_key, result["access_token"], expires_in)
        self.expires_at = int(time.time()) + expires_in
        return result


def wechat_client() -> Client:
    return Client(
        settings.WECHAT_APP_ID,
        settings.WECHAT_APP_SECRET,
        base_url=settings.WECHAT_API_BASE_URL,
        session=CacheStorage(),
        timeout=settings.WECHAT_TIMEOUT,
    )
