"""Parsing and validation of query parameters, with clear messages for bad input.

Every parser raises :class:`ApiError` (turned into a 4xx JSON response ``{"detail": "..."}``)
naming the parameter and what is wrong with it.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from lookout.store.base import BBox


class ApiError(Exception):
    """A client error: HTTP ``status`` with a human-readable ``detail``."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def bad_request(detail: str) -> ApiError:
    return ApiError(400, detail)


def not_found(detail: str) -> ApiError:
    return ApiError(404, detail)


def parse_time(name: str, value: str | None) -> float | None:
    """UNIX seconds (``1700000000.5``) or ISO 8601 (``2026-11-23T12:00:00Z``; no zone = UTC)."""
    if value is None or value == "":
        return None
    try:
        t = float(value)
    except ValueError:
        try:
            dt = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise bad_request(f"{name}={value!r} is not a time: give UNIX seconds or ISO 8601 "
                              "(e.g. 2026-11-23T12:00:00Z)") from None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        t = dt.timestamp()
    if not math.isfinite(t) or t < 0 or t > 1.0e10:
        raise bad_request(f"{name}={value!r} is out of range (UNIX seconds between 0 and 1e10)")
    return t


def parse_window(start: str | None, end: str | None) -> tuple[float | None, float | None]:
    s, e = parse_time("start", start), parse_time("end", end)
    if s is not None and e is not None and s > e:
        raise bad_request(f"bad time range: start ({s}) is after end ({e})")
    return s, e


def parse_bbox(value: str | None) -> BBox | None:
    """``min_lon,min_lat,max_lon,max_lat`` (GeoJSON / OGC axis order), WGS-84 degrees."""
    if value is None or value == "":
        return None
    parts = value.split(",")
    if len(parts) != 4:
        raise bad_request(f"bbox={value!r} must be 4 comma-separated numbers: min_lon,min_lat,max_lon,max_lat")
    try:
        min_lon, min_lat, max_lon, max_lat = (float(p) for p in parts)
    except ValueError:
        raise bad_request(f"bbox={value!r} has a value that is not a number "
                          "(expected min_lon,min_lat,max_lon,max_lat)") from None
    if not all(math.isfinite(v) for v in (min_lon, min_lat, max_lon, max_lat)):
        raise bad_request(f"bbox={value!r} must be finite numbers")
    if not (-180 <= min_lon <= 180 and -180 <= max_lon <= 180 and -90 <= min_lat <= 90 and -90 <= max_lat <= 90):
        raise bad_request(f"bbox={value!r} is outside WGS-84 ranges (lon -180..180, lat -90..90); "
                          "order is min_lon,min_lat,max_lon,max_lat")
    if min_lon > max_lon or min_lat > max_lat:
        raise bad_request(f"bbox={value!r}: min must not exceed max (order is min_lon,min_lat,max_lon,max_lat)")
    return BBox(min_lat=min_lat, min_lon=min_lon, max_lat=max_lat, max_lon=max_lon)


def parse_bbox_list(value: object) -> BBox | None:
    """A bbox given as a JSON list ``[min_lon, min_lat, max_lon, max_lat]`` (or the string form)."""
    if value is None:
        return None
    if isinstance(value, str):
        return parse_bbox(value)
    if isinstance(value, (list, tuple)) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        return parse_bbox(",".join(repr(float(v)) for v in value))
    raise bad_request(f"bbox {value!r} must be [min_lon, min_lat, max_lon, max_lat]")


def check_limit(limit: int | None, maximum: int) -> int | None:
    if limit is None:
        return None
    if limit < 1 or limit > maximum:
        raise bad_request(f"limit={limit} must be between 1 and {maximum}")
    return limit


class BodyLimit:
    """ASGI middleware: request bodies of ``POST``/``PUT``/``PATCH`` under ``prefix`` may hold at
    most ``max_bytes``. A larger declared ``Content-Length`` is refused before any of the body is
    read; a body streamed without one is read only up to the limit. The refusal is ``status``
    with ``{"detail": "..."}`` naming the limit; the route never sees the request."""

    def __init__(self, app, prefix: str, max_bytes: int, what: str = "request body", hint: str = "",
                 status: int = 422) -> None:
        self.app, self.prefix, self.max_bytes, self.status = app, prefix.rstrip("/"), max_bytes, status
        self.what, self.hint = what, hint

    def _applies(self, scope) -> bool:
        path = scope.get("path", "")
        return (scope["type"] == "http" and scope.get("method") in ("POST", "PUT", "PATCH")
                and (path == self.prefix or path.startswith(self.prefix + "/")))

    async def _refuse(self, scope, receive, send, size: str) -> None:
        from starlette.responses import JSONResponse

        mib = self.max_bytes / 1048576
        detail = f"the {self.what} is {size}, more than the {self.max_bytes} bytes ({mib:g} MiB) this API accepts"
        if self.hint:
            detail += f"; {self.hint}"
        await JSONResponse({"detail": detail}, status_code=self.status)(scope, receive, send)

    async def __call__(self, scope, receive, send) -> None:
        if not self._applies(scope):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(scope, receive, send, f"{declared.decode('latin-1')[:20]} bytes long")
            return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(scope, receive, send, f"over {self.max_bytes} bytes long")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
