"""Request paths as they may be logged: no query string, no patient-link token.

A query string can hold a search term (a patient's name or phone) and a link path holds
the token that acts for the patient, so neither reaches a log file: gunicorn's access log
(`--logger-class clinic.access_log.GunicornLogger`) and Django's own request warnings
(`RedactPathsFilter` in LOGGING) both log `redact(path)`.
"""

import logging
import re

from gunicorn.glogging import Logger

_LINK = re.compile(r"^/p/(?:diary/)?[^/]+")
_LINK_ANYWHERE = re.compile(r"(?<![\w/])/p/(?:diary/)?[^/\s?\"]+")
_QUERY = re.compile(r"((?<![\w])/[^\s?\"]*)\?[^\s\"]*")


def redact(path: str) -> str:
    """`/p/diary/<token>/?x=1` → `/p/diary/[token]/`; `/api/v1/patients/?search=Ann` → `/api/v1/patients/`."""
    path = path.split("?", 1)[0]
    return _LINK.sub(lambda m: re.sub(r"[^/]+$", "[token]", m.group(0)), path)


class GunicornLogger(Logger):
    """Gunicorn's access log with the request line, path and query redacted."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        path = redact(environ.get("PATH_INFO", ""))
        atoms["U"] = path
        atoms["q"] = ""
        atoms["r"] = f"{environ.get('REQUEST_METHOD', '-')} {path} {environ.get('SERVER_PROTOCOL', '-')}"
        return atoms


def scrub(text: str) -> str:
    """`redact` applied to every path inside a log line (`"GET /p/abc/?x=1 HTTP/1.1" 200`)."""
    text = _QUERY.sub(r"\1", text)
    return _LINK_ANYWHERE.sub(lambda m: re.sub(r"[^/]+$", "[token]", m.group(0)), text)


class RedactPathsFilter(logging.Filter):
    """Django logs `Not Found: /p/<token>/` and runserver its request lines: their paths are scrubbed."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(scrub(arg) if isinstance(arg, str) else arg for arg in record.args)
        elif isinstance(record.msg, str):
            record.msg = scrub(record.msg)
        return True
