"""Cache-Control: no-store on everything Django renders.

Pages and API answers here carry case files, so no browser or proxy cache may keep them (a shared
computer at a hospital ward, a back button after log-out). Static files never reach this
middleware: ServeStatic answers them above it, with their own long-lived caching.
"""

from django.utils.cache import add_never_cache_headers


class NoStoreMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        add_never_cache_headers(response)
        return response
