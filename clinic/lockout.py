"""The login lockout (django-axes handler), counted in the cache every web process shares.

Three counts per failed login, each with its own limit (settings): the username from this
address (AXES_FAILURE_LIMIT, 5), the username from any address (AXES_USERNAME_FAILURE_LIMIT,
10: a guesser who changes address), and this address over any usernames
(AXES_ADDRESS_FAILURE_LIMIT, 20: one password sprayed over many accounts). Reaching any one
locks for AXES_COOLOFF_TIME. The address limit is the highest because a clinic's staff often
share one address, and one person's typos must not lock everyone else out.

Counts live in Django's default cache: Redis in production, a database table on the
embedded default, so two gunicorn workers see the same counts (a per-process cache would
give each worker its own five tries).
"""

import hashlib
import logging

from axes.conf import settings
from axes.handlers.base import AbstractAxesHandler, AxesBaseHandler
from axes.helpers import get_cache, get_cache_timeout, get_client_username
from axes.signals import user_locked_out

log = logging.getLogger(__name__)


def _key(kind: str, value: str) -> str:
    return "lockout:" + kind + ":" + hashlib.sha256(value.encode()).hexdigest()


class SharedCacheLockoutHandler(AbstractAxesHandler, AxesBaseHandler):
    def __init__(self):
        self.cache = get_cache()

    def _counters(self, request, credentials) -> list[tuple[str, int]]:
        username = (get_client_username(request, credentials) or "").casefold()
        address = getattr(request, "axes_ip_address", None) or ""
        counters = [(_key("address", address), settings.AXES_ADDRESS_FAILURE_LIMIT)]
        if username:
            counters += [
                (_key("username-address", f"{username}\n{address}"), settings.AXES_FAILURE_LIMIT),
                (_key("username", username), settings.AXES_USERNAME_FAILURE_LIMIT),
            ]
        return counters

    def is_locked(self, request, credentials=None) -> bool:
        counters = self._counters(request, credentials)
        counts = self.cache.get_many([key for key, _ in counters])
        return any(counts.get(key, 0) >= limit for key, limit in counters)

    def get_failures(self, request, credentials=None) -> int:
        counts = self.cache.get_many([key for key, _ in self._counters(request, credentials)])
        return max(counts.values(), default=0)

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs) -> None:
        if request is None or self.is_whitelisted(request, credentials):
            return
        if getattr(request, "axes_locked_out", False):
            return  # already locked: a try during the cool-off neither counts nor extends it
        timeout = get_cache_timeout(request)
        locked = False
        for key, limit in self._counters(request, credentials):
            if self.cache.add(key, 1, timeout=timeout):
                count = 1
            else:
                try:
                    count = self.cache.incr(key)
                except ValueError:  # expired between add() and incr()
                    self.cache.set(key, 1, timeout=timeout)
                    count = 1
            locked = locked or count >= limit
        request.axes_failures_since_start = self.get_failures(request, credentials)
        if locked and settings.AXES_LOCK_OUT_AT_FAILURE:
            username = get_client_username(request, credentials)
            log.warning("Login locked out after repeated failures (username %r).", username)
            request.axes_locked_out = True
            request.axes_credentials = credentials
            user_locked_out.send("axes", request=request, username=username, ip_address=request.axes_ip_address)

    def user_logged_in(self, sender, request, user, **kwargs) -> None:
        # A success clears this username's counts; the address count stays (a sprayer with one
        # good password must not reset the count of the others).
        if settings.AXES_RESET_ON_SUCCESS:
            credentials = {settings.AXES_USERNAME_FORM_FIELD: user.get_username()}
            keys = [key for key, _ in self._counters(request, credentials) if not key.startswith("lockout:address:")]
            self.cache.delete_many(keys)

    def user_logged_out(self, sender, request, user, **kwargs) -> None:
        pass

    def reset_attempts(self, *, ip_address=None, username=None, ip_or_username=False) -> int:
        keys = []
        if ip_address is not None:
            keys.append(_key("address", ip_address))
        if username is not None:
            keys.append(_key("username", username.casefold()))
            if ip_address is not None:
                keys.append(_key("username-address", f"{username.casefold()}\n{ip_address}"))
        self.cache.delete_many(keys)
        return len(keys)
