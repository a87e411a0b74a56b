"""Web chat (网上咨询): the public page ``/chat/`` and the anonymous visitor socket ``ws/chat/``.

The conversation itself (a ``Call`` with channel ``webchat``, its messages, the queue) belongs to
``hotline.services.conversations``; this package is only the public door in front of it, with
its own limits: an anonymous socket is the riskiest door the system has.
"""
