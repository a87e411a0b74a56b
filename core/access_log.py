"""Daphne's access log, without query strings.

No route takes personal data in its query string (people are searched by POST), and this keeps
it so should one ever do: the log keeps the method, path, status and size only.
"""

from daphne.access import AccessLogGenerator


class PathOnlyAccessLog:
    """A Daphne ``action_logger`` that writes the standard access log minus ``?query``."""

    def __init__(self, stream):
        self.log = AccessLogGenerator(stream)

    def __call__(self, protocol, action, details):
        path = details.get("path")
        if isinstance(path, str) and "?" in path:
            details = {**details, "path": path.split("?", 1)[0]}
        self.log(protocol, action, details)
