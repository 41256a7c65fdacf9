"""SBS-1 BaseStation CSV, the port-30003 feed of dump1090/readsb.

Lines are ``MSG,<type>,<session>,<aircraft id>,<hex>,<flight id>,<date gen>,<time gen>,<date
logged>,<time logged>,<callsign>,<altitude ft>,<ground speed kt>,<track deg>,<lat>,<lon>,<vertical
rate ft/min>,<squawk>,<alert>,<emergency>,<spi>,<on ground>`` (22 fields). The generated
date/time (fields 7-8, ``YYYY/MM/DD``, ``HH:MM:SS.sss``) is read as UTC.

Only positions (MSG,2 surface and MSG,3 airborne) produce Observations; callsign (MSG,1),
velocity (MSG,4) and squawk (MSG,6) update per-aircraft state that is attached to that
aircraft's next position. Positions implying more than ``max_speed_kt`` since the aircraft's
last position are rejected, and, when a receiver position (``reference``) is given, positions
farther than ``max_range_m`` from it (without one there is no range check: SBS lines carry
decoded positions, and aggregated feeds cover whole regions). Other line kinds
(``SEL``, ``ID``, ``AIR``, ``STA``, ``CLK``) and the remaining MSG types are skipped.
"""

from __future__ import annotations

import calendar
import math
import time as _time
from collections.abc import Iterator
from dataclasses import dataclass

from lookout.geo import within_m
from lookout.model import DEFAULT_LABEL, Observation, SourceKind, Velocity
from lookout.sources.base import Decoder, register
from lookout.sources.modes import FPM, FT, KT, STATE_MAX_AGE_S, VELOCITY_MAX_AGE_S, receiver_position

_HEXDIGITS = frozenset(b"0123456789abcdefABCDEF")
_OTHER_KINDS = frozenset({b"SEL", b"ID", b"AIR", b"STA", b"CLK"})
_SKIP_NAMES = {k: f"msg{k.decode()}" for k in (b"1", b"4", b"5", b"6", b"7", b"8")}
_ADSB = SourceKind.ADSB
SIGMA_H_M = 30.0  # SBS carries no accuracy figure; typical ADS-B GNSS accuracy (1-sigma)


@dataclass(slots=True)
class _State:
    ident: str
    last_seen: float = 0.0
    lat: float | None = None
    lon: float | None = None
    pos_time: float = 0.0
    callsign: str | None = None
    velocity: Velocity | None = None
    vel_time: float = 0.0
    vel_key: tuple | None = None  # the (speed, track, vertical rate) fields ``velocity`` came from
    squawk: str | None = None


@register("sbs")
class SbsDecoder(Decoder):
    """SBS-1 lines -> ADS-B position Observations."""

    def __init__(self, sensor: str | None = None, label: str = DEFAULT_LABEL, *,
                 reference: tuple[float, float] | None = None, max_range_m: float = 300_000.0,
                 max_speed_kt: float = 1000.0) -> None:
        super().__init__(sensor, label)
        #: the receiver position (lat, lon), or None: no range check
        self.reference: tuple[float, float] | None = receiver_position(reference, max_range_m)
        self.max_range_m = max_range_m
        self.max_speed_mps = max_speed_kt * KT
        self.aircraft: dict[str, _State] = {}
        self._days: dict[bytes, float] = {}
        self._last_minute_key = b""
        self._last_minute = 0.0
        self._next_prune = 0.0
        #: the aircraft of each raw hex field already seen (skips re-validating it per line)
        self._by_raw: dict[bytes, _State] = {}

    def _time(self, date: bytes, tod: bytes) -> float:
        key = date + tod[:6]
        if key == self._last_minute_key and len(tod) > 6:
            s = float(tod[6:])
            if not 0.0 <= s < 61.0:
                raise ValueError(f"time of day out of range: {tod!r}")
            return self._last_minute + s
        day = self._days.get(date)
        if day is None:
            y, m, d = date.split(b"/")
            day = float(calendar.timegm((int(y), int(m), int(d), 0, 0, 0)))
            if not 1970 <= int(y) <= 2200:
                raise ValueError(f"date out of range: {date!r}")
            if len(self._days) > 1000:
                self._days.clear()
            self._days[date] = day
        hh, mm, ss = tod.split(b":")
        h, mi, s = int(hh), int(mm), float(ss)
        if not (0 <= h < 24 and 0 <= mi < 60 and 0.0 <= s < 61.0):
            raise ValueError(f"time of day out of range: {tod!r}")
        if len(hh) == 2 and len(mm) == 2:  # canonical HH:MM:SS.sss: cache the minute
            self._last_minute_key, self._last_minute = key, day + h * 3600 + mi * 60
        return day + h * 3600 + mi * 60 + s

    def _decode(self, data: bytes) -> Iterator[Observation]:
        obs = self._line(data)
        if obs is not None:
            yield obs

    def decode_batch(self, records: list[bytes]) -> list[Observation]:
        """Decode many lines in one loop (the same code as :meth:`decode`, without a generator
        per line); never raises."""
        st = self.stats
        st.messages += len(records)
        st.last_seen = _time.time()
        out: list[Observation] = []
        append = out.append
        line = self._line
        for rec in records:
            try:
                obs = line(rec)
            except Exception as exc:  # noqa: BLE001 - as decode(): count it, go on with the next line
                st.reject(type(exc).__name__, f"{exc}: {rec[:80]!r}")
                continue
            if obs is not None:
                append(obs)
        if out:
            st.accepted += len(out)
            st.last_time = out[-1].time
        return out

    def _line(self, data: bytes) -> Observation | None:
        st = self.stats
        f = data.rstrip(b"\r\n").split(b",")
        if f[0] != b"MSG":
            if f[0] in _OTHER_KINDS:
                st.skip(f[0].decode())
            elif data.strip():
                st.reject("bad_line", repr(data[:80]))
            else:
                st.skip("blank")
            return None
        if len(f) < 22:
            st.reject("short_line", repr(data[:80]))
            return None
        kind = f[1]
        raw = f[4]
        ac = self._by_raw.get(raw)
        if ac is None:
            hexid = raw.strip().lower()
            icao = hexid[1:] if hexid[:1] == b"~" else hexid
            if len(icao) != 6 or not _HEXDIGITS.issuperset(icao):
                st.reject("bad_hex", repr(data[:80]))
                return None
        try:
            t = self._time(f[6], f[7])
        except ValueError:
            st.reject("bad_time", repr(data[:80]))
            return None
        if ac is None:
            ac = self.aircraft.get(hexid)
            if ac is None:
                if t >= self._next_prune:
                    self._prune(t)
                ac = self.aircraft[hexid] = _State(hexid.decode())
            if len(self._by_raw) > 100_000:
                self._by_raw.clear()
            self._by_raw[raw] = ac
        ac.last_seen = t
        try:
            if kind == b"3" or kind == b"2":
                return self._position(f, t, ac, kind == b"2")
            if kind == b"1":
                cs = f[10].strip().decode("ascii")
                if cs:
                    ac.callsign = cs
            elif kind == b"4":
                key = (f[12], f[13], f[16])
                if key == ac.vel_key:  # the same fields as the velocity it has: the same velocity
                    ac.vel_time = t
                else:
                    v = self._velocity(f)
                    if v is not None:
                        ac.velocity, ac.vel_time, ac.vel_key = v, t, key
            elif kind == b"6":
                sq = f[17].strip()
                if sq:
                    ac.squawk = sq.decode("ascii")
            elif kind not in (b"5", b"7", b"8"):
                st.reject("bad_msg_type", repr(data[:80]))
                return None
        except (ValueError, UnicodeDecodeError):
            st.reject("bad_field", repr(data[:80]))
            return None
        st.skip(_SKIP_NAMES.get(kind) or f"msg{kind.decode('ascii', 'replace')}")
        return None

    @staticmethod
    def _velocity(f: list[bytes]) -> Velocity | None:
        gs, trk = f[12], f[13]
        if not gs or not trk:
            return None
        spd, a = float(gs) * KT, math.radians(float(trk))
        up = float(f[16]) * FPM if f[16] else 0.0
        if not (math.isfinite(spd) and math.isfinite(a) and abs(spd) < 2000 and abs(up) < 2000):
            raise ValueError("velocity out of range")
        return Velocity(spd * math.sin(a), spd * math.cos(a), up)

    def _position(self, f: list[bytes], t: float, ac: _State, surface: bool) -> Observation | None:
        st = self.stats
        ident = ac.ident
        if not f[14] or not f[15]:
            st.skip("no_position")
            return None
        lat, lon = float(f[14]), float(f[15])
        if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
            st.reject("bad_position", f"{lat},{lon}")
            return None
        alt_m = None
        attrs: dict = {}
        if surface or f[21].strip() == b"-1":
            attrs["on_ground"] = True
        if f[11] and not surface:
            alt_ft = float(f[11])
            alt_m = alt_ft * FT
            if not -1000.0 <= alt_m <= 100_000.0:
                st.reject("bad_altitude", f"{alt_ft}")
                return None
            attrs["alt_kind"] = "baro"
            attrs["alt_baro_ft"] = alt_ft
        ref = self.reference
        if ref is not None and not within_m(ref[0], ref[1], lat, lon, self.max_range_m):
            st.reject("out_of_range", f"{lat},{lon}")
            return None
        if ac.lat is not None:
            dt = abs(t - ac.pos_time)
            if not within_m(ac.lat, ac.lon, lat, lon, self.max_speed_mps * (dt + 1.0) + 100.0):
                st.reject("implausible_speed", f"{ident} {lat},{lon}")
                return None
        ac.lat, ac.lon, ac.pos_time = lat, lon, t
        if f[12] and f[13]:
            v = self._velocity(f)
            if v is not None:
                ac.velocity, ac.vel_time, ac.vel_key = v, t, (f[12], f[13], f[16])
        if ac.squawk:
            attrs["squawk"] = ac.squawk
        vel = ac.velocity if ac.velocity is not None and t - ac.vel_time <= VELOCITY_MAX_AGE_S else None
        # lat/lon and altitude are range-checked above, the time by _time (1970-2200), the
        # velocity when it was built: the unvalidated constructor is safe here
        return Observation.trusted(t, _ADSB, self.sensor, lat, lon, alt_m, SIGMA_H_M, vel, ident, ac.callsign, None,
                                   self.label, attrs)

    def _prune(self, now: float) -> None:
        self._next_prune = now + 60.0
        for k in [k for k, ac in self.aircraft.items() if now - ac.last_seen > STATE_MAX_AGE_S]:
            del self.aircraft[k]
        self._by_raw.clear()


def format_line(kind: int, icao: str, t: float, *, callsign: str = "", alt_ft: float | None = None,
                gs_kt: float | None = None, track_deg: float | None = None, lat: float | None = None,
                lon: float | None = None, vrate_fpm: float | None = None, squawk: str = "",
                on_ground: bool = False) -> str:
    """One SBS-1 ``MSG`` line (as readsb writes it), for test data and simulated receivers."""
    import time as _t

    tm = _t.gmtime(t)
    date = _t.strftime("%Y/%m/%d", tm)
    tod = _t.strftime("%H:%M:%S", tm) + f".{int(round((t % 1) * 1000)) % 1000:03d}"

    def num(v, fmt):
        return "" if v is None else format(v, fmt)

    fields = ["MSG", str(kind), "1", "1", icao.upper(), "1", date, tod, date, tod, callsign,
              num(alt_ft, ".0f"), num(gs_kt, ".1f"), num(track_deg, ".1f"), num(lat, ".5f"), num(lon, ".5f"),
              num(vrate_fpm, ".0f"), squawk, "0", "0", "0", "-1" if on_ground else "0"]
    return ",".join(fields)
