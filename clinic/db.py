"""PostgreSQL connections: timestamps read by psycopg's C loader.

Django reads every timestamptz through a Python subclass of psycopg's pure-Python loader (to stamp the
connection's tzinfo on it), about 5 µs a value: a day view reads a thousand of them, the free-slot search
and the daily sweeps tens of thousands (issue 16). On a UTC connection, which Django makes of every
connection when USE_TZ is on and TIME_ZONE is UTC, psycopg's own loader already returns datetimes in
`datetime.timezone.utc`, the tzinfo Django would stamp; with the C extension (psycopg[binary]) it does so
in C. Each new connection gets that loader; any other set-up keeps Django's.
"""

from datetime import UTC

import psycopg
from psycopg import pq
from psycopg.postgres import types

TIMESTAMPTZ_OID = types["timestamptz"].oid


# The loader psycopg registers globally: the C one when psycopg's C extension is installed. Its class cannot
# be subclassed, so a loader of ours hands each value to an instance of it.
_PSYCOPG_LOADER = psycopg.adapters.get_loader(TIMESTAMPTZ_OID, pq.Format.TEXT)


class UtcTimestamptzLoader(psycopg.adapt.Loader):
    timezone = UTC  # what Django's cursor factory compares with the connection's before each cursor

    def __init__(self, oid: int, context=None):
        super().__init__(oid, context)
        self._loader = _PSYCOPG_LOADER(oid, context)
        self.load = self._loader.load  # psycopg calls `load` for each value: straight to the C method

    def load(self, data):  # the Loader interface; each instance has the C loader's own method instead
        return self._loader.load(data)


def fast_timestamps(sender, connection, **kwargs) -> None:
    """`connection_created` receiver: psycopg's loader for timestamptz on a UTC PostgreSQL connection."""
    if connection.vendor != "postgresql" or connection.timezone != UTC:
        return
    connection.connection.adapters.register_loader(TIMESTAMPTZ_OID, UtcTimestamptzLoader)
