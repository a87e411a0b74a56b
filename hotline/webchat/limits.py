"""Per-address limits for the anonymous visitor socket, kept in the serving process.

Bounded: at most ``MAX_ADDRESSES`` addresses are remembered (least recently seen forgotten
first), so a spray of addresses cannot grow memory. Each Daphne process keeps its own; the proxy
in front limits too.
"""

import time
from collections import OrderedDict

from django.conf import settings

from realtime.consumers import TokenBucket

MAX_ADDRESSES = 10_000


class AddressLimits:
    """Per client address: open sockets, a frame bucket and a bucket of conversations started."""

    def __init__(self, clock=time.monotonic, max_addresses: int = MAX_ADDRESSES) -> None:
        self.clock = clock
        self.max_addresses = max_addresses
        self.entries: OrderedDict[str, dict] = OrderedDict()

    def _entry(self, address: str) -> dict:
        entry = self.entries.get(address)
        if entry is None:
            hourly = settings.CHAT_IP_STARTS_PER_HOUR
            entry = {
                "sockets": 0,
                "frames": TokenBucket(
                    settings.CHAT_IP_RATE, settings.CHAT_IP_BURST, clock=self.clock
                ),
                "starts": TokenBucket(hourly / 3600, hourly, clock=self.clock),
            }
            self.entries[address] = entry
            while len(self.entries) > self.max_addresses:
                self._forget_one()
        self.entries.move_to_end(address)
        return entry

    def _forget_one(self) -> None:
        # Prefer forgetting an address with no socket open (its count must not be lost).
        for address, entry in self.entries.items():
            if entry["sockets"] == 0:
                del self.entries[address]
                return
        self.entries.popitem(last=False)

    def reset(self) -> None:
        """Forget every address (tests)."""
        self.entries.clear()

    def open_socket(self, address: str) -> bool:
        entry = self._entry(address)
        if entry["sockets"] >= settings.CHAT_IP_SOCKETS:
            return False
        entry["sockets"] += 1
        return True

    def close_socket(self, address: str) -> None:
        entry = self.entries.get(address)
        if entry is not None and entry["sockets"] > 0:
            entry["sockets"] -= 1

    def take_frame(self, address: str) -> bool:
        return self._entry(address)["frames"].take()

    def take_start(self, address: str) -> bool:
        return self._entry(address)["starts"].take()


addresses = AddressLimits()
