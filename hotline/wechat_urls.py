from django.urls import path

from hotline import wechat_views

# Public: the WeChat Official Account's server configuration URL (signed by WeChat's Token).
urlpatterns = [
    path("callback/", wechat_views.callback, name="wechat-callback"),
]
