"""Django's ASGI handler with the request threads kept, as a WSGI server keeps its workers.

Django runs each request's sync code (sync views, the request signals that return database
connections) on a thread of its own: stock ``ASGIHandler`` makes a new thread for every
request and joins it at the end. Creating and joining that thread cost the hotline intake
about as much CPU as its own database work. Here each request borrows a one-thread executor
from a pool and gives it back, so a thread serves one request at a time, as under WSGI, and
Django's request-finished handlers leave it clean for the next one.
"""

from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import ThreadSensitiveContext
from django.core.handlers.asgi import ASGIHandler

# Idle threads kept for the next requests; a burst beyond this makes (and then drops) more.
IDLE_THREADS_KEPT = 32


class PooledThreadsASGIHandler(ASGIHandler):
    def __init__(self) -> None:
        super().__init__()
        self._idle: list[ThreadPoolExecutor] = []

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        executor = (
            self._idle.pop()
            if self._idle
            else ThreadPoolExecutor(max_workers=1, thread_name_prefix="django-request")
        )
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.handle(scope, receive, send)
        finally:
            if len(self._idle) < IDLE_THREADS_KEPT:
                self._idle.append(executor)
            else:
                executor.shutdown(wait=False)


def get_asgi_application() -> PooledThreadsASGIHandler:
    """``django.core.asgi.get_asgi_application`` with the pooled handler."""
    import django

    django.setup(set_prefix=False)
    return PooledThreadsASGIHandler()
