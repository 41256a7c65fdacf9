"""CoT transports: TCP and TLS (client certificates) to a TAK server, UDP multicast, and a
listener that takes CoT in (TCP, TLS with client certificates required, UDP/multicast).

URLs: ``tcp://host:port``, ``tls://host:port`` (TAK Server's default TLS port is 8089),
``udp://239.2.3.1:6969`` (the ATAK situational-awareness multicast group) or a unicast UDP
address. Errors (refused connection, failed TLS handshake, an expired certificate) are
reported with a clear message in :attr:`CotSender.last_error`, counted, passed to an
``on_error`` callback (the feed writes them to the audit log) and retried with back-off;
they never raise into the pipeline.
"""

from __future__ import annotations

import logging
import socket
import ssl
import struct
import threading
import time as _time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from lookout.model import DEFAULT_LABEL, Observation
from lookout.share.cot import MAX_EVENT_BYTES, CotDecoder

log = logging.getLogger(__name__)

SCHEMES = ("tcp", "tls", "udp")
ATAK_MULTICAST = ("239.2.3.1", 6969)


@dataclass(frozen=True)
class Endpoint:
    scheme: str
    host: str
    port: int

    @property
    def multicast(self) -> bool:
        try:
            first = int(self.host.split(".")[0])
        except ValueError:
            return False
        return 224 <= first <= 239

    def __str__(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"


def parse_url(url: str) -> Endpoint:
    """``tcp://host:port``, ``tls://host:port`` or ``udp://host:port`` -> :class:`Endpoint`."""
    u = urlsplit(url)
    if u.scheme not in SCHEMES:
        raise ValueError(f"CoT URL {url!r}: scheme must be one of {', '.join(s + '://' for s in SCHEMES)}")
    try:
        port = u.port
    except ValueError:
        raise ValueError(f"CoT URL {url!r}: the port is not a number 0..65535") from None
    if not u.hostname or port is None:
        raise ValueError(f"CoT URL {url!r} needs a host and a port, e.g. tcp://127.0.0.1:8087")
    return Endpoint(u.scheme, u.hostname, port)


def tls_client_context(cafile: str | None, certfile: str | None = None, keyfile: str | None = None,
                       check_hostname: bool = True) -> ssl.SSLContext:
    """A TLS client context that verifies the server against ``cafile`` and presents a client
    certificate (TAK Server requires one)."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cafile)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.check_hostname = check_hostname
    if certfile:
        ctx.load_cert_chain(certfile, keyfile)
    return ctx


def tls_server_context(certfile: str, keyfile: str | None, cafile: str,
                       require_client_cert: bool = True) -> ssl.SSLContext:
    """A TLS server context that requires and verifies client certificates against ``cafile``."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=cafile)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(certfile, keyfile)
    ctx.verify_mode = ssl.CERT_REQUIRED if require_client_cert else ssl.CERT_OPTIONAL
    return ctx


def describe_error(exc: BaseException, ep: Endpoint | str) -> str:
    """A clear one-line message for a transport failure."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS handshake with {ep} failed: certificate not accepted ({exc.verify_message or exc.reason})"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error with {ep}: {exc.reason or exc}"
    if isinstance(exc, ConnectionRefusedError):
        return f"connection to {ep} refused (is the TAK server listening?)"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return f"timed out talking to {ep}"
    return f"{type(exc).__name__} with {ep}: {exc}"


class CotSender:
    """Send CoT events to one endpoint (TCP, TLS or UDP). Thread-safe; never raises from
    :meth:`send`: a failure is counted, reported and retried at the next send after a back-off."""

    def __init__(self, url: str, ssl_context: ssl.SSLContext | None = None, timeout: float = 5.0,
                 multicast_interface: str = "127.0.0.1", ttl: int = 1,
                 on_error: Callable[[str], None] | None = None, backoff_s: float = 1.0) -> None:
        self.endpoint = parse_url(url)
        if self.endpoint.scheme == "tls" and ssl_context is None:
            raise ValueError(f"{url}: a tls:// endpoint needs a TLS context (CA file, client certificate and key)")
        self.ssl_context = ssl_context
        self.timeout = timeout
        self.multicast_interface = multicast_interface
        self.ttl = ttl
        self.on_error = on_error
        self.backoff_s = backoff_s
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._retry_at = 0.0
        self.sent = 0
        self.bytes = 0
        self.errors = 0
        self.connects = 0
        self.last_error: str | None = None

    def _connect(self) -> socket.socket:
        ep = self.endpoint
        if ep.scheme == "udp":
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            if ep.multicast:
                s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, self.ttl)
                s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
                s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(self.multicast_interface))
            return s
        raw = socket.create_connection((ep.host, ep.port), timeout=self.timeout)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if ep.scheme == "tls":
            assert self.ssl_context is not None
            try:
                return self.ssl_context.wrap_socket(raw, server_hostname=ep.host)
            except BaseException:
                raw.close()
                raise
        return raw

    def send(self, events: list[bytes]) -> int:
        """Send events; returns how many were sent (0 on a failure, reported in last_error)."""
        if not events:
            return 0
        with self._lock:
            now = _time.monotonic()
            if self._sock is None:
                if now < self._retry_at:
                    return 0
                try:
                    self._sock = self._connect()
                    self.connects += 1
                except (OSError, ssl.SSLError) as exc:
                    self._fail(exc)
                    return 0
            try:
                if self.endpoint.scheme == "udp":
                    for ev in events:
                        self._sock.sendto(ev, (self.endpoint.host, self.endpoint.port))
                else:
                    self._sock.sendall(b"".join(events))
            except (OSError, ssl.SSLError) as exc:
                self._fail(exc)
                return 0
            self.sent += len(events)
            self.bytes += sum(len(e) for e in events)
            return len(events)

    def _fail(self, exc: BaseException) -> None:
        self.errors += 1
        self.last_error = describe_error(exc, self.endpoint)
        self._retry_at = _time.monotonic() + self.backoff_s
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
        self._sock = None
        if self.errors <= 5 or self.errors % 100 == 0:
            log.warning("CoT out: %s", self.last_error)
        if self.on_error is not None:
            try:
                self.on_error(self.last_error)
            except Exception:  # noqa: BLE001 - a reporting failure must not stop the feed
                log.exception("CoT out: error callback failed")

    def close(self) -> None:
        with self._lock:
            if self._sock is not None:
                try:
                    self._sock.close()
                except OSError:
                    pass
                self._sock = None


class CotListener:
    """Take CoT in: ATAK/TAK clients connect (TCP, or TLS with a client certificate required)
    or send datagrams (UDP unicast or multicast); their events become Observations passed to
    ``on_observations(list)``. Refused input (oversized events, XML with DTDs or entities,
    failed TLS handshakes such as an expired client certificate) is counted and, with an
    ``auth`` registry, written to the audit log. Bounded: at most ``max_clients`` connections.
    """

    def __init__(self, url: str, on_observations: Callable[[list[Observation]], None],
                 ssl_context: ssl.SSLContext | None = None, label: str = DEFAULT_LABEL, auth=None,
                 max_clients: int = 32, max_event_bytes: int = MAX_EVENT_BYTES, interface: str = "127.0.0.1") -> None:
        self.endpoint = parse_url(url)
        if self.endpoint.scheme == "tls" and ssl_context is None:
            raise ValueError(f"{url}: a tls:// listener needs a TLS server context")
        self.on_observations = on_observations
        self.ssl_context = ssl_context
        self.label = label
        self.auth = auth
        self.max_clients = max_clients
        self.max_event_bytes = max_event_bytes
        self.interface = interface
        self._sock: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self._clients = threading.Semaphore(max_clients)
        self.accepted = 0
        self.refused = 0
        self.connections = 0
        self.errors: list[str] = []
        self._lock = threading.Lock()

    @property
    def port(self) -> int:
        assert self._sock is not None
        return self._sock.getsockname()[1]

    def _audit(self, actor: str, action: str, obj: str, detail: dict) -> None:
        with self._lock:
            self.errors.append(f"{action} {obj}: {detail}")
            del self.errors[:-50]
        if self.auth is not None:
            self.auth.audit(actor, "-", action, obj, outcome="denied", detail=detail)

    def start(self) -> CotListener:
        ep = self.endpoint
        if ep.scheme == "udp":
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if ep.multicast:
                s.bind(("", ep.port))
                mreq = struct.pack("4s4s", socket.inet_aton(ep.host), socket.inet_aton(self.interface))
                s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
            else:
                s.bind((ep.host, ep.port))
            s.settimeout(0.2)
            self._sock = s
            target = self._udp_loop
        else:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((ep.host, ep.port))
            s.listen(16)
            s.settimeout(0.2)
            self._sock = s
            target = self._accept_loop
        th = threading.Thread(target=target, name=f"cot-in {ep}", daemon=True)
        th.start()
        self._threads.append(th)
        return self

    def stop(self) -> None:
        self._stop.set()
        for th in list(self._threads):
            th.join(timeout=2.0)
        if self._sock is not None:
            self._sock.close()

    def __enter__(self) -> CotListener:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _deliver(self, dec: CotDecoder, data: bytes, peer: str) -> None:
        before = dec.stats.rejected_total
        obs = list(dec.decode(data))
        n_bad = dec.stats.rejected_total - before
        if n_bad:
            self.refused += n_bad
            for reason in dec.refused[-n_bad:]:
                self._audit(f"cot-in:{peer}", "cot.refused", peer, {"reason": reason})
            dec.refused.clear()
        if obs:
            self.accepted += len(obs)
            self.on_observations(obs)

    def _udp_loop(self) -> None:
        assert self._sock is not None
        dec = CotDecoder(sensor=f"cot:{self.endpoint}", label=self.label, max_bytes=self.max_event_bytes)
        while not self._stop.is_set():
            try:
                data, addr = self._sock.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                break
            dec._buf.clear()  # one datagram, one event
            self._deliver(dec, data, f"{addr[0]}:{addr[1]}")

    def _accept_loop(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            try:
                conn, addr = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            peer = f"{addr[0]}:{addr[1]}"
            if not self._clients.acquire(blocking=False):
                self._audit(f"cot-in:{peer}", "cot.refused", peer, {"reason": f"more than {self.max_clients} clients"})
                conn.close()
                continue
            th = threading.Thread(target=self._serve, args=(conn, peer), daemon=True)
            th.start()
            self._threads = [t for t in self._threads if t.is_alive()] + [th]

    def _serve(self, conn: socket.socket, peer: str) -> None:
        actor = f"cot-in:{peer}"
        try:
            conn.settimeout(5.0)
            if self.ssl_context is not None:
                try:
                    conn = self.ssl_context.wrap_socket(conn, server_side=True)
                except (ssl.SSLError, OSError) as exc:
                    self.refused += 1
                    self._audit(actor, "cot.tls_refused", peer, {"reason": describe_error(exc, peer)})
                    return
                cert = conn.getpeercert() or {}
                cn = next((v for rdn in cert.get("subject", ()) for k, v in rdn if k == "commonName"), None)
                if cn:
                    actor = f"cot-in:{cn}"
            self.connections += 1
            conn.settimeout(0.5)
            dec = CotDecoder(sensor=f"cot:{self.endpoint}", label=self.label, max_bytes=self.max_event_bytes)
            while not self._stop.is_set():
                try:
                    data = conn.recv(65536)
                except TimeoutError:
                    continue
                except (OSError, ssl.SSLError):
                    break
                if not data:
                    break
                self._deliver(dec, data, actor.removeprefix("cot-in:"))
            list(dec.flush())
        finally:
            try:
                conn.close()
            finally:
                self._clients.release()
