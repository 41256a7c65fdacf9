"""The NATS JetStream bus (nats-py): file-backed streams, durable pull consumers, acks,
duplicate publications dropped by ``Nats-Msg-Id``.

Streams (``PREFIX`` is the optional namespace, upper-cased for stream names):

=====================  ==============================  ===================================
stream                 subjects                        content
=====================  ==============================  ===================================
``[PREFIX_]OBS``       ``[prefix.]obs.>``              observations per source and sector,
                                                       track handoffs
``[PREFIX_]TRACKS``    ``[prefix.]tracks.>``           track states per sector
``[PREFIX_]ALERTS``    ``[prefix.]alerts[.>]``         alert states
=====================  ==============================  ===================================
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from lookout.bus.base import Bus, BusError, Message, Subscription, encode, subject_matches

log = logging.getLogger(__name__)

STREAMS = {"OBS": ("obs.>",), "TRACKS": ("tracks.>",), "ALERTS": ("alerts", "alerts.>")}
#: a subscription's pending queue without limits (0: off), so the client never drops a delivery;
#: its size is bounded by what each fetch asks for instead (see JetStreamSubscription)
_NO_DROP = {"pending_msgs_limit": 0, "pending_bytes_limit": 0}


#: bytes one fetch may ask the server for (estimated from the messages seen so far): a worker
#: works through them in a few seconds, well within the consumers' acknowledgement wait
FETCH_BYTES = 8 * 1024 * 1024


class DeliveryGap(BusError):
    """Messages the server delivered never reached this subscription (dropped in the client).
    Acknowledging anything after them would acknowledge them too: the consumer must restart
    from its last acknowledged position."""


class JetStreamSubscription(Subscription):
    """A pull subscription that never loses a delivery in the client.

    nats-py drops messages arriving at a subscription whose pending queue is over its limits
    (256 MB by default: a backlog of large batches exceeds it) and only reports it to the error
    callback; with acknowledge-all consumers, the next acknowledgement would then cover the lost
    messages. So the queue limits are off (see :meth:`JetStreamBus.subscribe`), each fetch asks
    for at most ``fetch_bytes`` (from the mean size of the messages so far), and a gap in the
    consumer's delivery sequence raises :class:`DeliveryGap` before any later message is handed
    out."""

    def __init__(self, psub: Any, prefix: str, fetch_bytes: int = FETCH_BYTES) -> None:
        self.psub = psub
        self.cut = len(prefix) + 1 if prefix else 0
        self.fetch_bytes = fetch_bytes
        self._bytes = 0  # payload bytes and messages received so far (for the mean size)
        self._count = 0
        self._consumer_seq: int | None = None  # delivery sequence of the last message handed out

    def batch_for(self, max_messages: int) -> int:
        """How many messages one fetch asks for: ``max_messages``, fewer when that many messages
        of the mean size so far would exceed ``fetch_bytes``."""
        if not self._count:
            return max(1, min(max_messages, 16))  # the first fetch learns the size
        mean = max(self._bytes / self._count, 1.0)
        return max(1, min(max_messages, int(self.fetch_bytes // mean)))

    async def fetch(self, max_messages: int = 256, timeout: float = 1.0) -> list[Message]:
        import nats.errors

        try:
            self.asked = self.batch_for(max_messages)
            msgs = await self.psub.fetch(batch=self.asked, timeout=timeout)
        except (TimeoutError, nats.errors.TimeoutError):
            return []
        out = []
        for m in msgs:
            md = m.metadata
            cseq = md.sequence.consumer
            if self._consumer_seq is not None and cseq > self._consumer_seq + 1:
                raise DeliveryGap(f"deliveries {self._consumer_seq + 1}-{cseq - 1} of consumer {md.consumer!r} "
                                  f"were lost in the client (before stream sequence {md.sequence.stream}); "
                                  f"restart the consumer from its last acknowledged position")
            self._consumer_seq = max(cseq, self._consumer_seq or 0)
            self._bytes += len(m.data)
            self._count += 1
            out.append(Message(m.subject[self.cut:], m.data, md.sequence.stream,
                               (m.headers or {}).get("Nats-Msg-Id"), md.num_delivered, m.ack_sync))
        return out

    async def close(self) -> None:
        try:
            await self.psub.unsubscribe()
        except Exception:  # noqa: BLE001 - closing a dead subscription is not an error
            pass


class JetStreamBus(Bus):
    """``nats://host:port`` with JetStream enabled on the server.

    ``max_age_s`` bounds how long the streams keep messages (default one hour: the bus is a
    transport, the store keeps the records); ``duplicate_window_s`` how long message ids are
    remembered for de-duplication.
    """

    def __init__(self, url: str = "nats://127.0.0.1:4222", prefix: str = "", max_age_s: float = 3600.0,
                 duplicate_window_s: float = 120.0, ack_wait_s: float = 30.0) -> None:
        if prefix and not re.fullmatch(r"[A-Za-z0-9_-]+", prefix):
            raise ValueError(f"bus prefix must be letters, digits, '_' or '-', got {prefix!r}")
        self.url, self.prefix = url, prefix
        self.max_age_s, self.duplicate_window_s, self.ack_wait_s = max_age_s, duplicate_window_s, ack_wait_s
        self.nc: Any = None
        self.js: Any = None
        self._ensured = False

    # -- names ---------------------------------------------------------------------------
    def _subj(self, subject: str) -> str:
        return f"{self.prefix}.{subject}" if self.prefix else subject

    def stream_name(self, key: str) -> str:
        return f"{self.prefix.upper().replace('-', '_')}_{key}" if self.prefix else f"LOOKOUT_{key}"

    def _stream_of(self, subject: str) -> str:
        probe = subject.replace("*", "x").replace(">", "x")
        for key, pats in STREAMS.items():
            if any(subject_matches(p, probe) for p in pats):
                return self.stream_name(key)
        raise BusError(f"no stream captures subject {subject!r} (use obs.<source>.<sector>, tracks.<sector> "
                       "or alerts)")

    # -- lifecycle -----------------------------------------------------------------------
    async def connect(self) -> None:
        import nats

        async def on_error(exc: Exception) -> None:
            log.debug("NATS %s: %s", self.url, exc)

        try:  # a quick probe first, so that a wrong URL fails at once
            probe = await nats.connect(self.url, connect_timeout=3, allow_reconnect=True, max_reconnect_attempts=1,
                                       reconnect_time_wait=0.2, error_cb=on_error)
            await probe.close()
            # then the connection itself, riding out a server restart of up to a minute
            self.nc = await nats.connect(self.url, connect_timeout=3, allow_reconnect=True,
                                         max_reconnect_attempts=60, reconnect_time_wait=1.0, error_cb=on_error)
        except Exception as exc:  # noqa: BLE001 - reported with the URL
            raise BusError(f"cannot connect to NATS at {self.url}: {exc or type(exc).__name__}") from None
        self.js = self.nc.jetstream(timeout=10.0)
        await self._ensure_streams()

    async def _ensure_streams(self) -> None:
        from nats.js.api import StorageType, StreamConfig
        from nats.js.errors import NotFoundError

        for key, pats in STREAMS.items():
            name = self.stream_name(key)
            try:
                await self.js.stream_info(name)
                continue
            except NotFoundError:
                pass
            except Exception as exc:  # noqa: BLE001
                raise BusError(f"JetStream is not available at {self.url} ({exc}); start nats-server with -js") \
                    from None
            cfg = StreamConfig(name=name, subjects=[self._subj(p) for p in pats], storage=StorageType.FILE,
                               max_age=self.max_age_s, duplicate_window=self.duplicate_window_s)
            try:
                await self.js.add_stream(cfg)
            except Exception as exc:  # noqa: BLE001
                raise BusError(f"cannot create stream {name} on {self.url}: {exc}") from None

    async def close(self) -> None:
        if self.nc is not None:
            try:
                await self.nc.flush(timeout=2)
                await self.nc.close()
            except Exception:  # noqa: BLE001 - already closed
                pass
            self.nc = self.js = None

    def _js(self) -> Any:
        if self.js is None:
            raise BusError("NATS bus is not connected (call connect() first)")
        return self.js

    # -- publishing ------------------------------------------------------------------------
    @staticmethod
    def _check(subject: str) -> None:
        head = subject.split(".", 1)[0]
        if head not in ("obs", "tracks", "alerts") or (head != "alerts" and "." not in subject):
            raise BusError(f"no stream captures subject {subject!r} (use obs.<source>.<sector>, "
                           "tracks.<sector> or alerts)")

    async def publish(self, subject: str, record: Any, msg_id: str | None = None) -> int:
        js = self._js()
        seq = 0
        for subj, data, mid in self._fit([(subject, record, msg_id)]):
            ack = await js.publish(self._subj(subj), data, headers={"Nats-Msg-Id": mid} if mid else None)
            seq = seq if ack.duplicate else ack.seq
        return seq

    def _fit(self, items):
        """``(subject, encoded payload, msg id)`` for each item; a batch larger than the server's
        maximum payload is split in halves (ids ``<id>/0``, ``<id>/1``) until each part fits."""
        limit = int(getattr(self.nc, "max_payload", 0) or 1 << 20)
        for subject, record, msg_id in items:
            self._check(subject)
            todo = [(record, msg_id)]
            while todo:
                rec, mid = todo.pop()
                data = encode(rec)
                if len(data) > limit and isinstance(rec, list) and len(rec) > 1:
                    h = len(rec) // 2
                    todo.append((rec[h:], f"{mid}/1" if mid else None))
                    todo.append((rec[:h], f"{mid}/0" if mid else None))
                    continue
                yield subject, data, mid

    async def publish_many(self, items, window: int = 2000) -> int:
        """Pipelined publication: up to ``window`` un-acknowledged publications in flight."""
        js = self._js()
        futs: list = []
        new = 0
        for subject, record, msg_id in self._fit(items):
            futs.append(js.publish(self._subj(subject), record,
                                   headers={"Nats-Msg-Id": msg_id} if msg_id else None))
            if len(futs) >= window:
                new += sum(not a.duplicate for a in await asyncio.gather(*futs))
                futs = []
        if futs:
            new += sum(not a.duplicate for a in await asyncio.gather(*futs))
        return new

    # -- consuming -------------------------------------------------------------------------
    async def subscribe(self, subject: str, durable: str | None = None, start_seq: int | None = None,
                        ack_all: bool = False, new_only: bool = False) -> Subscription:
        from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
        from nats.js.errors import NotFoundError

        js = self._js()
        stream = self._stream_of(subject)
        if start_seq is not None:
            policy, opt = DeliverPolicy.BY_START_SEQUENCE, max(int(start_seq), 1)
        else:
            policy, opt = (DeliverPolicy.NEW if new_only else DeliverPolicy.ALL), None
        cfg = ConsumerConfig(
            durable_name=durable, deliver_policy=policy, opt_start_seq=opt,
            ack_policy=AckPolicy.ALL if ack_all else AckPolicy.EXPLICIT, ack_wait=self.ack_wait_s,
            filter_subject=self._subj(subject), max_ack_pending=-1 if ack_all else 100_000,
            inactive_threshold=None if durable else 60.0,
        )
        if durable is not None:
            if start_seq is not None:  # restart the durable consumer at the given position
                try:
                    await js.delete_consumer(stream, durable)
                except NotFoundError:
                    pass
            else:
                try:
                    await js.consumer_info(stream, durable)
                    psub = await js.pull_subscribe_bind(durable=durable, stream=stream, **_NO_DROP)
                    return JetStreamSubscription(psub, self.prefix)
                except NotFoundError:
                    pass
            await js.add_consumer(stream, cfg)
            psub = await js.pull_subscribe_bind(durable=durable, stream=stream, **_NO_DROP)
        else:
            psub = await js.pull_subscribe(self._subj(subject), stream=stream, config=cfg, **_NO_DROP)
        return JetStreamSubscription(psub, self.prefix)

    async def delete(self) -> None:
        from nats.js.errors import NotFoundError

        js = self._js()
        for key in STREAMS:
            try:
                await js.delete_stream(self.stream_name(key))
            except NotFoundError:
                pass

    async def stream_length(self, stream: str) -> int:
        info = await self._js().stream_info(self.stream_name(stream))
        return int(info.state.messages)
