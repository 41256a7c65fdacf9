"""Transports: where a format's bytes come from. One module for every format.

:func:`open_source` turns a SOURCE string into a :class:`Source` that yields records for a
decoder: text lines (newline stripped) for ``"lines"`` decoders, raw byte chunks for
``"bytes"`` decoders.

=====================================  =====================================================
SOURCE                                 meaning
=====================================  =====================================================
``path``, ``file://path``              a file (``.gz`` read transparently)
``-``                                  standard input
``tcp://host:port``                    connect as a client (readsb ports 30002/30003/30005);
                                       reconnects with exponential backoff, forever
``tcp-listen://host:port``             listen; sensors connect and push (several at once)
``udp://host:port``                    listen for datagrams
``mqtt://host:port/topic/#``           subscribe (paho-mqtt); one payload = one record set
``nats://host:port/subject.>``         subscribe (nats-py)
``http://...``, ``https://...``        poll a URL (e.g. tar1090 ``data/aircraft.json``)
=====================================  =====================================================

Line framing has a maximum line length: a longer line is counted (``oversized``) and skipped
up to its newline, never buffered whole. A connection that drops hands over its last partial
line (the decoder validates it), so nothing already received is lost. Iteration stops when
:meth:`Source.stop` is called, when :attr:`Source.deadline` (``time.monotonic()``) passes, or at
the end of a file; live sources check both at least every ``poll_s`` seconds.
"""

from __future__ import annotations

import gzip
import logging
import queue
import random
import selectors
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

log = logging.getLogger(__name__)

MAX_LINE = 64 * 1024
CHUNK = 64 * 1024
_EOC = object()  # end of one connection / datagram / message: flush its partial line


@dataclass
class TransportStats:
    """Counters of one transport."""

    bytes: int = 0
    records: int = 0
    oversized: int = 0  # lines longer than the maximum, skipped
    connects: int = 0
    disconnects: int = 0
    dropped: int = 0  # messages dropped because the consumer fell behind (queue full)
    errors: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict:
        return {"bytes": self.bytes, "records": self.records, "oversized": self.oversized,
                "connects": self.connects, "disconnects": self.disconnects, "dropped": self.dropped,
                "errors": dict(self.errors)}


class LineFramer:
    """Split a byte stream into lines, with a maximum line length."""

    def __init__(self, max_line: int = MAX_LINE, stats: TransportStats | None = None) -> None:
        if max_line < 1:
            raise ValueError("max_line must be >= 1")
        self.max_line = max_line
        self.stats = stats if stats is not None else TransportStats()
        self._buf = bytearray()
        self._discarding = False

    def feed(self, chunk: bytes) -> list[bytes]:
        out: list[bytes] = []
        start = 0
        n = len(chunk)
        while start < n:
            nl = chunk.find(b"\n", start)
            if nl < 0:
                if not self._discarding:
                    self._buf += chunk[start:]
                    if len(self._buf) > self.max_line:
                        self._buf.clear()
                        self._discarding = True
                        self.stats.oversized += 1
                break
            if self._discarding:
                self._discarding = False
            else:
                if self._buf:
                    self._buf += chunk[start:nl]
                    line = bytes(self._buf)
                    self._buf.clear()
                else:
                    line = chunk[start:nl]
                if len(line) > self.max_line:
                    self.stats.oversized += 1
                else:
                    if line.endswith(b"\r"):
                        line = line[:-1]
                    if line:
                        out.append(line)
            start = nl + 1
        return out

    def flush(self) -> list[bytes]:
        """The partial last line (a stream or connection ended without a newline)."""
        line = bytes(self._buf).rstrip(b"\r")
        self._buf.clear()
        self._discarding = False
        return [line] if line else []


class Source:
    """An iterable of records (lines or chunks) from one transport."""

    multi_channel = False  # True when several peers feed one source (tcp-listen, udp)
    live = True

    def __init__(self, url: str, framing: str = "lines", *, max_line: int = MAX_LINE, poll_s: float = 0.2) -> None:
        if framing not in ("lines", "bytes"):
            raise ValueError(f"framing must be 'lines' or 'bytes', got {framing!r}")
        self.url = url
        self.framing = framing
        self.max_line = max_line
        self.poll_s = poll_s
        self.stats = TransportStats()
        self.deadline: float | None = None
        self._stop = threading.Event()

    # -- control ---------------------------------------------------------------------
    def stop(self) -> None:
        self._stop.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set() or (self.deadline is not None and time.monotonic() >= self.deadline)

    def _sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while not self.stopped:
            left = end - time.monotonic()
            if left <= 0:
                return
            self._stop.wait(min(left, self.poll_s))

    def close(self) -> None:
        self.stop()

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- iteration -------------------------------------------------------------------
    def _chunks(self) -> Iterator[tuple[str, object]]:
        """Yield (channel, bytes | _EOC | None); None is an idle tick (lets callers check time)."""
        raise NotImplementedError

    def _framed(self) -> Iterator[tuple[str, list[bytes] | None]]:
        """(channel, the records one received chunk completes) pairs, None for an idle tick;
        not counted in :attr:`stats` (the public iterators count what they hand out)."""
        framers: dict[str, LineFramer] = {}
        for channel, chunk in self._chunks():
            if chunk is None:
                yield channel, None
                continue
            if self.framing == "bytes":
                if chunk is not _EOC:
                    yield channel, [chunk]  # type: ignore[list-item]
                continue
            fr = framers.get(channel)
            if fr is None:
                fr = framers[channel] = LineFramer(self.max_line, self.stats)
            lines = fr.flush() if chunk is _EOC else fr.feed(chunk)  # type: ignore[arg-type]
            if chunk is _EOC:
                framers.pop(channel, None)
            if lines:
                yield channel, lines
            if self.stopped:
                return
        for channel, fr in framers.items():
            lines = fr.flush()
            if lines:
                yield channel, lines

    def records(self) -> Iterator[tuple[str, bytes | None]]:
        """(channel, record) pairs; ``record`` None is an idle tick on a quiet live source."""
        st = self.stats
        for channel, recs in self._framed():
            if recs is None:
                yield channel, None
                continue
            for rec in recs:
                st.records += 1
                yield channel, rec

    def record_chunks(self) -> Iterator[tuple[str, list[bytes] | None]]:
        """(channel, records) pairs: the records (lines, or one byte chunk) that one received
        chunk completes, handed out as soon as it arrives, so a decoder can take them as one
        batch without waiting for more; ``records`` None is an idle tick."""
        st = self.stats
        for channel, recs in self._framed():
            if recs is not None:
                st.records += len(recs)
            yield channel, recs

    def __iter__(self) -> Iterator[bytes]:
        for _, rec in self.records():
            if rec is not None:
                yield rec


class FileSource(Source):
    """A file (``.gz`` transparently) or standard input (``-``)."""

    live = False

    def __init__(self, path: str | Path, framing: str = "lines", **kw) -> None:
        super().__init__(str(path), framing, **kw)
        self.path = path
        if str(path) != "-":
            p = Path(path)
            if not p.exists():
                raise FileNotFoundError(f"no such file: {p}")
            if p.is_dir():
                raise IsADirectoryError(f"{p} is a directory, not a file")

    def _chunks(self):
        if str(self.path) == "-":
            f = sys.stdin.buffer
            close = False
        else:
            p = Path(self.path)
            with p.open("rb") as probe:
                magic = probe.read(2)
            f = gzip.open(p, "rb") if magic == b"\x1f\x8b" else p.open("rb")
            close = True
        try:
            read = getattr(f, "read1", f.read)
            while not self.stopped:
                try:
                    chunk = read(CHUNK)
                except (OSError, EOFError) as exc:  # e.g. a truncated .gz
                    self.stats.errors[type(exc).__name__] += 1
                    log.warning("%s: %s", self.url, exc)
                    break
                if not chunk:
                    break
                self.stats.bytes += len(chunk)
                yield "file", chunk
            yield "file", _EOC
        finally:
            if close:
                f.close()


class TcpClientSource(Source):
    """Connect to a TCP server; reconnect with exponential backoff (with jitter) when it drops."""

    def __init__(self, url: str, framing: str = "lines", *, host: str, port: int, backoff_initial_s: float = 0.5,
                 backoff_max_s: float = 30.0, connect_timeout_s: float = 5.0, reconnect: bool = True, **kw) -> None:
        super().__init__(url, framing, **kw)
        self.host, self.port = host, port
        self.backoff_initial_s, self.backoff_max_s = backoff_initial_s, backoff_max_s
        self.connect_timeout_s = connect_timeout_s
        self.reconnect = reconnect
        self.delays: list[float] = []  # backoff delays actually waited (for inspection)

    def _chunks(self):
        delay = self.backoff_initial_s
        while not self.stopped:
            try:
                sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout_s)
            except OSError as exc:
                self.stats.errors[f"connect:{type(exc).__name__}"] += 1
                log.info("%s: connect failed (%s); retry in %.1f s", self.url, exc, delay)
            else:
                self.stats.connects += 1
                got_data = False
                try:
                    sock.settimeout(self.poll_s)
                    while not self.stopped:
                        try:
                            data = sock.recv(CHUNK)
                        except TimeoutError:
                            yield "tcp", None
                            continue
                        if not data:
                            break
                        if not got_data:
                            got_data = True
                            delay = self.backoff_initial_s
                        self.stats.bytes += len(data)
                        yield "tcp", data
                except OSError as exc:
                    self.stats.errors[f"recv:{type(exc).__name__}"] += 1
                finally:
                    sock.close()
                    self.stats.disconnects += 1
                yield "tcp", _EOC
            if not self.reconnect or self.stopped:
                break
            wait = delay * random.uniform(0.8, 1.2)
            self.delays.append(wait)
            self._sleep(wait)
            delay = min(delay * 2.0, self.backoff_max_s)


class TcpServerSource(Source):
    """Listen on a TCP port; every connected sensor pushes its stream (one channel each)."""

    multi_channel = True

    def __init__(self, url: str, framing: str = "lines", *, host: str, port: int, max_clients: int = 64, **kw) -> None:
        super().__init__(url, framing, **kw)
        self.max_clients = max_clients
        self._srv = socket.create_server((host, port), reuse_port=False)
        self._srv.setblocking(False)
        self.address = self._srv.getsockname()[:2]

    def _chunks(self):
        sel = selectors.DefaultSelector()
        sel.register(self._srv, selectors.EVENT_READ, None)
        clients: dict[socket.socket, str] = {}
        try:
            while not self.stopped:
                events = sel.select(timeout=self.poll_s)
                if not events:
                    yield "tcp-listen", None
                for key, _ in events:
                    if key.data is None:
                        try:
                            conn, addr = self._srv.accept()
                        except OSError:
                            continue
                        if len(clients) >= self.max_clients:
                            self.stats.errors["too_many_clients"] += 1
                            conn.close()
                            continue
                        conn.setblocking(False)
                        clients[conn] = f"{addr[0]}:{addr[1]}"
                        sel.register(conn, selectors.EVENT_READ, clients[conn])
                        self.stats.connects += 1
                        continue
                    conn = key.fileobj  # type: ignore[assignment]
                    try:
                        data = conn.recv(CHUNK)  # type: ignore[union-attr]
                    except BlockingIOError:
                        continue
                    except OSError as exc:
                        self.stats.errors[f"recv:{type(exc).__name__}"] += 1
                        data = b""
                    if data:
                        self.stats.bytes += len(data)
                        yield key.data, data
                    else:
                        sel.unregister(conn)
                        conn.close()  # type: ignore[union-attr]
                        self.stats.disconnects += 1
                        yield clients.pop(conn), _EOC  # type: ignore[arg-type]
        finally:
            for conn in clients:
                conn.close()
            sel.close()
            self._srv.close()

    def close(self) -> None:
        super().close()
        self._srv.close()


class UdpSource(Source):
    """Listen for UDP datagrams; each datagram is complete (its last line needs no newline)."""

    multi_channel = True

    def __init__(self, url: str, framing: str = "lines", *, host: str, port: int, **kw) -> None:
        super().__init__(url, framing, **kw)
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._sock = socket.socket(fam, socket.SOCK_DGRAM)
        self._sock.bind((host, port))
        self._sock.settimeout(self.poll_s)
        self.address = self._sock.getsockname()[:2]

    def _chunks(self):
        try:
            while not self.stopped:
                try:
                    data, addr = self._sock.recvfrom(65535)
                except TimeoutError:
                    yield "udp", None
                    continue
                except OSError as exc:
                    self.stats.errors[f"recv:{type(exc).__name__}"] += 1
                    continue
                ch = f"{addr[0]}:{addr[1]}"
                self.stats.bytes += len(data)
                yield ch, data
                yield ch, _EOC
        finally:
            self._sock.close()

    def close(self) -> None:
        super().close()
        self._sock.close()


class _QueueSource(Source):
    """Base for sources whose library delivers messages on its own thread."""

    def __init__(self, url: str, framing: str = "lines", *, max_queue: int = 100_000, **kw) -> None:
        super().__init__(url, framing, **kw)
        self._q: queue.Queue = queue.Queue(maxsize=max_queue)

    def _put(self, channel: str, payload: bytes) -> None:
        try:
            self._q.put_nowait((channel, payload))
        except queue.Full:
            self.stats.dropped += 1

    def _start(self) -> None:
        raise NotImplementedError

    def _shutdown(self) -> None:
        pass

    def _chunks(self):
        self._start()
        try:
            while not self.stopped:
                try:
                    ch, payload = self._q.get(timeout=self.poll_s)
                except queue.Empty:
                    yield "queue", None
                    continue
                self.stats.bytes += len(payload)
                yield ch, payload
                yield ch, _EOC
        finally:
            self._shutdown()


class MqttSource(_QueueSource):
    """Subscribe to an MQTT topic (paho-mqtt); each message payload is a complete record set."""

    def __init__(self, url: str, framing: str = "lines", *, host: str, port: int, topic: str,
                 username: str | None = None, password: str | None = None, **kw) -> None:
        super().__init__(url, framing, **kw)
        self.host, self.port, self.topic = host, port, topic
        self.username, self.password = username, password
        self._client = None

    def _start(self) -> None:
        import paho.mqtt.client as mqtt

        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        if self.username:
            client.username_pw_set(self.username, self.password)

        def on_connect(c, userdata, flags, reason_code, properties=None):
            self.stats.connects += 1
            c.subscribe(self.topic)

        def on_disconnect(c, userdata, flags, reason_code, properties=None):
            self.stats.disconnects += 1

        client.on_connect = on_connect
        client.on_disconnect = on_disconnect
        client.on_message = lambda c, u, msg: self._put(msg.topic, bytes(msg.payload))
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.connect_async(self.host, self.port, keepalive=30)
        client.loop_start()
        self._client = client

    def _shutdown(self) -> None:
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()
            self._client = None


class NatsSource(_QueueSource):
    """Subscribe to a NATS subject (nats-py, on its own event-loop thread)."""

    def __init__(self, url: str, framing: str = "lines", *, server: str, subject: str, **kw) -> None:
        super().__init__(url, framing, **kw)
        self.server, self.subject = server, subject
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    def _start(self) -> None:
        import asyncio

        import nats

        async def main() -> None:
            async def on_error(exc):
                self.stats.errors[f"nats:{type(exc).__name__}"] += 1

            async def on_disc():
                self.stats.disconnects += 1

            async def on_reconn():
                self.stats.connects += 1

            try:
                nc = await nats.connect(self.server, error_cb=on_error, disconnected_cb=on_disc,
                                        reconnected_cb=on_reconn, max_reconnect_attempts=-1,
                                        reconnect_time_wait=1, connect_timeout=3)
            except Exception as exc:  # noqa: BLE001
                self.stats.errors[f"connect:{type(exc).__name__}"] += 1
                self._ready.set()
                return
            self.stats.connects += 1

            async def cb(msg):
                self._put(msg.subject, msg.data)

            await nc.subscribe(self.subject, cb=cb)
            self._ready.set()
            while not self.stopped:
                await asyncio.sleep(self.poll_s)
            await nc.drain()

        self._thread = threading.Thread(target=lambda: asyncio.run(main()), name="nats-source", daemon=True)
        self._thread.start()
        self._ready.wait(timeout=10)

    def _shutdown(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


class HttpPollSource(Source):
    """Poll a URL every ``interval_s`` (e.g. tar1090's ``data/aircraft.json``)."""

    def __init__(self, url: str, framing: str = "bytes", *, interval_s: float = 1.0, **kw) -> None:
        super().__init__(url, framing, **kw)
        self.interval_s = interval_s

    def _chunks(self):
        import httpx

        with httpx.Client(timeout=10.0) as client:
            while not self.stopped:
                t0 = time.monotonic()
                try:
                    r = client.get(self.url)
                    r.raise_for_status()
                    data = r.content
                    self.stats.connects += 1
                except httpx.HTTPError as exc:
                    self.stats.errors[f"http:{type(exc).__name__}"] += 1
                else:
                    self.stats.bytes += len(data)
                    yield "http", data + b"\n"
                    yield "http", _EOC
                yield "http", None
                self._sleep(max(0.0, self.interval_s - (time.monotonic() - t0)))


def _host_port(url: str, default_port: int | None = None) -> tuple[str, int]:
    u = urlsplit(url)
    host = u.hostname
    try:
        port = u.port if u.port is not None else default_port
    except ValueError:
        port = None
    if not host or port is None:
        raise ValueError(f"{url!r}: expected {u.scheme}://host:port")
    return host, port


def open_source(url: str | Path, framing: str = "lines", **opts) -> Source:
    """Open a SOURCE (see the module docs) for a decoder with the given framing.

    Raises :class:`ValueError` for a malformed or unsupported URL and
    :class:`FileNotFoundError` for a missing file."""
    s = str(url)
    scheme = s.split("://", 1)[0].lower() if "://" in s else ""
    if scheme in ("", "file"):
        path = s[len("file://"):] if scheme == "file" else s
        return FileSource(unquote(path) if scheme else path, framing, **opts)
    if scheme == "tcp":
        host, port = _host_port(s)
        return TcpClientSource(s, framing, host=host, port=port, **opts)
    if scheme in ("tcp-listen", "tcp+listen"):
        host, port = _host_port(s)
        return TcpServerSource(s, framing, host=host, port=port, **opts)
    if scheme == "udp":
        host, port = _host_port(s)
        return UdpSource(s, framing, host=host, port=port, **opts)
    if scheme == "mqtt":
        netloc, _, topic = s.split("://", 1)[1].partition("/")
        host, port = _host_port(f"mqtt://{netloc}", 1883)
        u = urlsplit(f"mqtt://{netloc}")
        topic = unquote(topic) or "#"
        return MqttSource(s, framing, host=host, port=port, topic=topic, username=u.username,
                          password=u.password, **opts)
    if scheme == "nats":
        host, port = _host_port(s, 4222)
        subject = urlsplit(s).path.lstrip("/") or ">"
        return NatsSource(s, framing, server=f"nats://{host}:{port}", subject=subject, **opts)
    if scheme in ("http", "https"):
        return HttpPollSource(s, framing, **opts)
    raise ValueError(f"unsupported source {s!r}: use a file path, '-', tcp://, tcp-listen://, udp://, "
                     "mqtt://, nats:// or http(s)://")
