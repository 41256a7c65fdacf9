"""Mode S / ADS-B decoding shared by the raw, AVR and Beast formats.

Frames are decoded by ``rs1090`` (CRC check, altitude, CPR fields, velocity, identification);
this module keeps what ``rs1090`` does not: per-aircraft state across messages (last even and
odd CPR frames, last good position, callsign, velocity, GNSS-minus-baro offset, NACp) and
readsb-style sanity checks before a position becomes an :class:`~lookout.model.Observation`.
No receiver position is needed: positions are decoded worldwide.

* global CPR decoding from an even/odd pair of the same aircraft received within 10 s
  (airborne; 50 s on the surface) whose frames lie in the same longitude zone (NL equal);
  a surface pair has four solutions 90 degrees apart, so it also needs a reference: the
  aircraft's own last position or the receiver;
* local CPR decoding only relative to the aircraft's own last position once it is reliable
  (two consistent global decodes) and recent, or relative to a receiver position the user
  gave (when its range is small enough for the local decode to be unambiguous, <= 180 NM;
  always for surface frames);
* when both a global and a local decode are possible they must agree, or the position is
  rejected (``cpr_inconsistent``) and the aircraft decodes globally again;
* with a receiver position, positions farther than ``max_range_m`` are rejected
  (``out_of_range``); without one there is no range check;
* positions implying a speed above ``max_speed_kt`` since the last good one are rejected
  (``implausible_speed``); two consecutive global decodes that agree with each other but not
  with the old position replace it (the old one was wrong).

It also has a small encoder (:func:`encode_identification`, :func:`encode_airborne_position`,
:func:`encode_velocity`) used to generate test data, benchmarks and simulated receivers.
"""

from __future__ import annotations

import math
import re
import time as _time
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from math import floor as _floor
from typing import Any

import rs1090

from lookout.geo import approx_distance_m, within_m
from lookout.model import DEFAULT_LABEL, ObjectClass, Observation, SourceKind, Velocity
from lookout.sources.base import DecodeStats

FT = 0.3048
KT = 1852.0 / 3600.0
FPM = FT / 60.0

#: half the width of a CPR zone (~180 NM): local decoding is unambiguous within this distance
LOCAL_CPR_LIMIT_M = 180 * 1852.0
PAIR_MAX_AGE_S = 10.0
#: a surface even/odd pair may be further apart in time (taxiing aircraft move slowly; readsb)
SURFACE_PAIR_MAX_AGE_S = 50.0
SURFACE_LOCAL_LIMIT_M = 45 * 1852.0  # half a surface CPR zone
#: a global and a local decode of the same frame farther apart than this (degrees of latitude
#: or longitude, ~1 km) disagree: correct decodes give the same position, a wrong one is off by
#: a whole CPR zone (degrees)
CPR_AGREE_DEG = 0.01
#: a global decode this close to the local decode's reference is the local decode too (the
#: local one is the solution within half a zone of its reference: ~333 km airborne, ~83 km on
#: the surface, at any latitude)
SAME_DECODE_M = 250_000.0
SURFACE_SAME_DECODE_M = 60_000.0
LOCAL_MAX_AGE_S = 300.0  # aircraft-relative local CPR needs a position at most this old
VELOCITY_MAX_AGE_S = 15.0
STATE_MAX_AGE_S = 600.0

_DF_NAMES = [f"df{d}" for d in range(32)]
_HEX_RE = re.compile(r"(?:[0-9A-Fa-f]{14}){1,2}")
#: by type code: an airborne position (its CPR bits change as the aircraft moves: not cached)
_AIRBORNE_TC = tuple(9 <= tc <= 18 or 20 <= tc <= 22 for tc in range(32))
_MISS = object()
#: by type code: a position (surface 5-8, airborne 9-18 and 20-22)
_POSITION_TC = tuple(5 <= tc <= 18 or 20 <= tc <= 22 for tc in range(32))
#: two hex digits (any case) -> their value
_HEX2 = {a + b: int(a + b, 16) for a in "0123456789abcdefABCDEF" for b in "0123456789abcdefABCDEF"}
#: decoded frames kept per receiver (two generations of up to this many each)
CACHE_SIZE = 4096
#: fewer frames to decode than this go to rs1090 one by one: its batch call has a fixed cost
#: (a hand-over to its thread pool) that only ~100 frames outweigh
BATCH_CALL_FROM = 128
#: frames per rs1090 batch call (its pickled result costs more per frame to build and read in
#: calls of thousands)
DECODE_BATCH = 512

#: 95 % horizontal position accuracy (EPU) by NACp, metres
_NACP_EPU = {11: 3.0, 10: 10.0, 9: 30.0, 8: 92.6, 7: 185.2, 6: 555.6, 5: 926.0, 4: 1852.0, 3: 3704.0,
             2: 7408.0, 1: 18520.0}
#: horizontal protection limit by NUCp (from the position type code), metres
_NUCP_HPL = {9: 7.5, 8: 25.0, 7: 185.2, 6: 370.4, 5: 926.0, 4: 1852.0, 3: 3704.0, 2: 18520.0, 1: 37040.0}
_UNKNOWN_SIGMA_M = 20_000.0
#: 1-sigma horizontal error (at least 1 m) by NACp and by NUCp
_NACP_SIGMA = {k: max(v / 2.45, 1.0) for k, v in _NACP_EPU.items()}
_NUCP_SIGMA = {k: max(v / 2.45, 1.0) for k, v in _NUCP_HPL.items()}
_ADSB = SourceKind.ADSB

_WAKE_CLASS = {
    "Rotorcraft": ObjectClass.ROTORCRAFT,
    "UAV": ObjectClass.UAS,
    "Light": ObjectClass.FIXED_WING,
    "Small": ObjectClass.FIXED_WING,
    "Medium 1": ObjectClass.FIXED_WING,
    "Medium 2": ObjectClass.FIXED_WING,
    "High vortex aircraft": ObjectClass.FIXED_WING,
    "Heavy": ObjectClass.FIXED_WING,
    "High performance": ObjectClass.FIXED_WING,
}


def valid_hex(frame: str) -> bool:
    """True for 14 or 28 hex digits (a short or long Mode S frame)."""
    return _HEX_RE.fullmatch(frame) is not None


def receiver_position(reference: Any, max_range_m: float) -> tuple[float, float] | None:
    """A decoder's ``reference`` (receiver position) as ``(lat, lon)`` floats, or None when not
    given; ValueError for a malformed one or a range limit that is not positive."""
    if not max_range_m > 0:
        raise ValueError(f"max_range_m must be > 0, got {max_range_m!r}")
    if reference is None:
        return None
    try:
        lat, lon = float(reference[0]), float(reference[1])
    except (TypeError, ValueError, IndexError, KeyError):
        raise ValueError(f"receiver reference must be (lat, lon) in degrees, got {reference!r}") from None
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        raise ValueError(f"receiver reference must be (lat, lon) in degrees, got {reference!r}")
    return lat, lon


@dataclass(slots=True)
class AircraftState:
    """What one receiver knows about one aircraft between messages."""

    icao: str
    last_seen: float = 0.0
    even: tuple[str, float, bool, int, int] | None = None  # frame, time, surface, lat_cpr, lon_cpr
    odd: tuple[str, float, bool, int, int] | None = None
    lat: float | None = None
    lon: float | None = None
    pos_time: float = 0.0
    reliable: int = 0
    bad_pos: tuple[float, float, float] | None = None
    callsign: str | None = None
    cls: ObjectClass | None = None
    velocity: Velocity | None = None
    vel_time: float = 0.0
    vel_msg: dict | None = None  # the decoded frame that gave ``velocity`` (cached frames repeat)
    geo_minus_baro_ft: float | None = None
    gmb_time: float = 0.0
    nacp: int | None = None
    squawk: str | None = None


class ModeS:
    """Per-receiver Mode S decoder: frames (hex) in, position Observations out.

    ``reference`` is the receiver position (lat, lon) when known, used for local CPR decoding
    and for the range check (``max_range_m``); without it positions are decoded globally and
    not range-checked. ``stats`` is the owning decoder's :class:`DecodeStats`.
    """

    def __init__(self, sensor: str, label: str = DEFAULT_LABEL, stats: DecodeStats | None = None,
                 reference: tuple[float, float] | None = None, max_range_m: float = 300_000.0,
                 max_speed_kt: float = 1000.0, max_surface_speed_kt: float = 250.0,
                 receiver_relative: bool | None = None) -> None:
        reference = receiver_position(reference, max_range_m)
        self.sensor = sensor
        self.label = label
        self.stats = stats if stats is not None else DecodeStats()
        #: the receiver position (lat, lon), or None: no range check, no receiver-relative decoding
        self.reference: tuple[float, float] | None = reference
        self.max_range_m = float(max_range_m)
        self.max_speed_mps = max_speed_kt * KT
        self.max_surface_speed_mps = max_surface_speed_kt * KT
        if receiver_relative is None:
            receiver_relative = max_range_m <= LOCAL_CPR_LIMIT_M
        self.receiver_relative = bool(receiver_relative) and reference is not None
        self.aircraft: dict[str, AircraftState] = {}
        self._next_prune = 0.0
        #: decoded-frame cache: frames decoded by rs1090 (counted) and frames served from the cache
        self.cache_size = CACHE_SIZE
        self.decoded = 0
        self.cache_hits = 0
        self._cache: dict[str, dict] = {}
        self._cache_old: dict[str, dict] = {}

    # -- public ------------------------------------------------------------------------
    def frame(self, frame: str, t: float | None = None, attrs: dict[str, Any] | None = None) -> Observation | None:
        """Decode one frame (hex, 14 or 28 digits) received at ``t`` (UNIX s; now if None).

        Returns a position Observation, or None (the reason is counted in :attr:`stats`).
        The same code as :meth:`frames` with a batch of one."""
        out = self.frames([frame], [t], None if attrs is None else [attrs])
        return out[0] if out else None

    def frames(self, frames: list[str], times: list[float | None],
               attrs: list[dict[str, Any] | None] | None = None) -> list[Observation]:
        """Decode frames (hex) received at ``times`` (UNIX s; None = now), in order.

        Frames are checked (hex, length, downlink format) first; the DF17/DF18 extended
        squitters of the batch that are not in the decoded-frame cache then go to rs1090 (CRC,
        fields, raw CPR values: batch calls of up to :data:`DECODE_BATCH` frames, or one call
        per frame when fewer than :data:`BATCH_CALL_FROM` need decoding), and the results are
        applied to the per-aircraft state in reception order (CPR pairing and local decoding,
        sanity checks), exactly as frame by frame.

        rs1090 decodes a frame from its bits alone, so a frame seen recently decodes as it did
        then: velocity, identification, status and surface-position frames repeat verbatim
        while an aircraft holds its speed, track or spot, and their decoded dictionaries are
        kept (bounded, see :attr:`cache_size`) and reused instead of decoded again. Airborne
        positions (their CPR bits change as the aircraft moves) are always decoded. The cached
        dictionaries are shared between frames: nothing here modifies them."""
        st = self.stats
        fullmatch = _HEX_RE.fullmatch
        hex2 = _HEX2
        cache = self._cache
        old = self._cache_old
        airborne = _AIRBORNE_TC
        ext: list[tuple[int, str, int, int]] = []  # (index, frame, first byte, type code)
        msgs: list[Any] = []
        need: dict[str, Any] = {}
        for i, f in enumerate(frames):
            if fullmatch(f) is None:
                st.reject("bad_hex" if len(f) in (14, 28) else "bad_length", f)
                continue
            b0 = hex2[f[:2]]
            df = b0 >> 3
            if df != 17 and df != 18:
                st.skip(_DF_NAMES[df])
                continue
            if len(f) != 28:
                st.reject("bad_length", f)
                continue
            tc = hex2[f[8:10]] >> 3
            if airborne[tc]:
                msg = _MISS
                need[f] = _MISS
            else:
                msg = cache.get(f, _MISS)
                if msg is _MISS:
                    msg = old.get(f, _MISS)
                    if msg is _MISS:
                        need[f] = _MISS
                    else:
                        cache[f] = msg  # recently used: keep it in the current generation
            ext.append((i, f, b0, tc))
            msgs.append(msg)
        if not ext:
            return []
        if need:
            todo = list(need)
            try:
                if len(todo) < BATCH_CALL_FROM:  # a live feed's line or chunk: single-message calls
                    decode = rs1090.decode
                    decoded = [decode(f) for f in todo]
                else:  # calls of at most DECODE_BATCH frames: larger ones cost more per frame
                    decoded = []
                    for k in range(0, len(todo), DECODE_BATCH):
                        decoded += rs1090.decode(todo[k:k + DECODE_BATCH])
            except (KeyboardInterrupt, SystemExit, GeneratorExit):
                raise
            except BaseException:  # noqa: BLE001 - a Rust panic on one frame: decode them one by one
                decoded = None
            if decoded is None:
                for k, e in enumerate(ext):
                    if msgs[k] is _MISS:
                        msgs[k] = _safe_decode(e[1], None, st)
            else:
                self.decoded += len(todo)
                for f, msg in zip(todo, decoded):
                    need[f] = msg
                    if msg and not airborne[hex2[f[8:10]] >> 3]:
                        cache[f] = msg
                for k, e in enumerate(ext):
                    if msgs[k] is _MISS:
                        msgs[k] = need[e[1]]
                if len(cache) > self.cache_size:
                    self._cache_old = cache
                    self._cache = {}
        self.cache_hits += len(ext) - len(need)
        out: list[Observation] = []
        now = None
        position = _POSITION_TC
        next_prune = self._next_prune
        for (i, f, b0, tc), msg in zip(ext, msgs):
            t = times[i]
            if t is None:
                if now is None:
                    now = _time.time()
                t = now
            try:
                if t >= next_prune:
                    self._prune(t)
                    next_prune = self._next_prune
                if not msg:
                    if msg is None:
                        st.reject("bad_crc", f)
                    continue
                if position[tc]:
                    obs = self._position(f, t, tc, f[2:8].lower(), b0 >> 3, b0 & 7,
                                         attrs[i] if attrs is not None else None, msg)
                    if obs is not None:
                        out.append(obs)
                else:
                    self._other(f[2:8].lower(), msg, t)
            except Exception as exc:  # noqa: BLE001 - one bad frame must not cost the rest of the batch
                st.reject(type(exc).__name__, f"{exc}: {f}")
        return out

    # -- internals ---------------------------------------------------------------------
    def _other(self, icao: str, msg: dict, t: float) -> None:
        st = self.stats
        ac = self.aircraft.get(icao)
        if ac is None:
            ac = self.aircraft[icao] = AircraftState(icao)
        ac.last_seen = t
        bds = msg.get("bds")
        if bds == "08":
            cs = (msg.get("callsign") or "").strip("#_ ").strip()
            ac.callsign = cs or None
            ac.cls = _WAKE_CLASS.get(msg.get("wake_vortex"))
            st.skip("identification")
        elif bds == "09":
            self._velocity(ac, msg, t)
            st.skip("velocity")
        elif bds == "65" or bds == "62":
            if msg.get("NACp") is not None:
                ac.nacp = int(msg["NACp"])
            st.skip("status")
        elif bds == "61":
            if msg.get("squawk"):
                ac.squawk = str(msg["squawk"])
            st.skip("status")
        else:
            st.skip(f"bds{bds}")

    def _velocity(self, ac: AircraftState, msg: dict, t: float) -> None:
        if msg is ac.vel_msg:
            # the same (cached) decoded frame that gave the aircraft's velocity: the same velocity
            ac.vel_time = t
        else:
            gs, trk = msg.get("groundspeed"), msg.get("track")
            if gs is not None and trk is not None:
                vr = msg.get("vertical_rate")
                spd = float(gs) * KT
                a = math.radians(float(trk))
                up = float(vr) * FPM if vr is not None else 0.0
                if abs(spd) < 2000 and abs(up) < 2000:
                    ac.velocity = Velocity(spd * math.sin(a), spd * math.cos(a), up)
                    ac.vel_time = t
                    ac.vel_msg = msg
        gmb = msg.get("geo_minus_baro")
        if gmb is not None:
            ac.geo_minus_baro_ft = float(gmb)
            ac.gmb_time = t

    def _position(self, frame: str, t: float, tc: int, icao: str, df: int, cf: int,
                  attrs: dict[str, Any] | None, msg: dict) -> Observation | None:
        st = self.stats
        surface = tc <= 8
        ac = self.aircraft.get(icao)
        if ac is None:
            ac = self.aircraft[icao] = AircraftState(icao)
        ac.last_seen = t
        odd = msg.get("parity") == "odd"
        ycpr, xcpr = msg.get("lat_cpr"), msg.get("lon_cpr")
        if ycpr is None or xcpr is None:
            st.reject("bad_position", frame)
            return None
        kept = (frame, t, surface, ycpr, xcpr)
        alat = ac.lat
        # global: the other parity, of the same kind (airborne frames never pair with surface
        # ones), received close in time (either order: merged feeds are not strictly ordered)
        other = ac.even if odd else ac.odd
        pos = None
        if other is not None and other[2] is surface:
            dt = t - other[1]
            if not surface:
                if -PAIR_MAX_AGE_S < dt < PAIR_MAX_AGE_S:
                    if odd:
                        pos = cpr_global(other[3], other[4], ycpr, xcpr, True)
                    else:
                        pos = cpr_global(ycpr, xcpr, other[3], other[4], False)
            elif -SURFACE_PAIR_MAX_AGE_S < dt < SURFACE_PAIR_MAX_AGE_S:
                ref = (alat, ac.lon) if alat is not None else self.reference
                if ref is not None:  # a surface pair has four solutions: the one nearest the reference
                    if odd:
                        pos = cpr_global_surface(other[3], other[4], ycpr, xcpr, True, ref[0], ref[1])
                    else:
                        pos = cpr_global_surface(ycpr, xcpr, other[3], other[4], False, ref[0], ref[1])
        vmax = self.max_surface_speed_mps if surface else self.max_speed_mps
        own = alat is not None and ac.reliable >= 2 and -LOCAL_MAX_AGE_S <= t - ac.pos_time <= LOCAL_MAX_AGE_S
        checked = False  # the speed check against the aircraft's last position is done
        lla = None  # a local decode to check the global one against
        if own:
            reach = vmax * (abs(t - ac.pos_time) + 1.0) + 100.0  # see _plausible
            if pos is not None:
                # a fresh pair and a reliable, recent position: the global decode, checked against
                # the local one. A local decode is the solution within half a zone of its
                # reference, so a global one within ``reach`` of it (less than half a zone) is the
                # local one too: only a global decode out of reach needs the local one computed
                lat, lon = pos
                how = "global"
                if within_m(alat, ac.lon, lat, lon, reach):
                    checked = reach <= (SURFACE_SAME_DECODE_M if surface else SAME_DECODE_M)
                if not checked:
                    lla, llo = cpr_local(ycpr, xcpr, odd, surface, alat, ac.lon)
            else:
                how = "local"
                lat, lon = lla, llo = cpr_local(ycpr, xcpr, odd, surface, alat, ac.lon)
            if not checked:
                if not within_m(alat, ac.lon, lla, llo, reach):
                    # the local decode is implausible: this frame is corrupt (dropped; the pair
                    # partner stays)
                    ac.reliable = 0
                    st.reject("implausible_speed", frame)
                    return None
                checked = True
        elif self.reference is not None and (self.receiver_relative or surface):
            how = "local_receiver"  # a receiver the user placed, close enough to be unambiguous
            lat, lon = lla, llo = cpr_local(ycpr, xcpr, odd, surface, self.reference[0], self.reference[1])
            if pos is not None:
                how = "global"
                lat, lon = pos
        elif pos is None:
            if odd:
                ac.odd = kept
            else:
                ac.even = kept
            st.skip("cpr_pending" if not surface or alat is not None or self.reference is not None
                    else "surface_no_reference")
            return None
        else:
            how = "global"
            lat, lon = pos
        if lla is not None and how == "global":
            # both a global and a local decode of the frame: right ones agree (a wrong one is off
            # by a whole zone). The stored frame of the pair, this frame or the position decoded
            # against is wrong: drop the stored frame (the next one pairs with this one) and
            # decode globally until two global decodes agree again
            dlat = lat - lla
            dlon = (lon - llo + 180.0) % 360.0 - 180.0
            if not (-CPR_AGREE_DEG <= dlat <= CPR_AGREE_DEG and -CPR_AGREE_DEG <= dlon <= CPR_AGREE_DEG):
                if odd:
                    ac.odd, ac.even = kept, None
                else:
                    ac.even, ac.odd = kept, None
                ac.reliable = 0
                st.reject("cpr_inconsistent", f"{frame} local {lla:.4f},{llo:.4f} global {lat:.4f},{lon:.4f}")
                return None
        if not (-90.0 <= lat <= 90.0):
            st.reject("bad_position", frame)
            return None
        if not -180.0 <= lon < 180.0:
            lon = (lon + 180.0) % 360.0 - 180.0
        ref = self.reference
        if ref is not None:
            limit = self.max_range_m
            if surface and limit > SURFACE_LOCAL_LIMIT_M:
                limit = SURFACE_LOCAL_LIMIT_M
            if not within_m(ref[0], ref[1], lat, lon, limit):
                st.reject("out_of_range", f"{frame} {approx_distance_m(ref[0], ref[1], lat, lon):.0f} m")
                if checked:
                    ac.reliable = 0
                return None
        if not checked and alat is not None and not within_m(alat, ac.lon, lat, lon,
                                                             vmax * (abs(t - ac.pos_time) + 1.0) + 100.0):
            # not yet reliable: the old position may be the wrong one, so keep the frame for
            # pairing
            if odd:
                ac.odd = kept
            else:
                ac.even = kept
            ac.reliable = 0
            if how == "global":
                # two fresh global decodes that agree with each other but not with the old
                # position replace it: the old one was wrong
                bad = ac.bad_pos
                ac.bad_pos = (lat, lon, t)
                if bad is None or not _plausible(bad[0], bad[1], bad[2], lat, lon, t, vmax):
                    st.reject("implausible_speed", frame)
                    return None
            else:
                st.reject("implausible_speed", frame)
                return None
        if odd:
            ac.odd = kept
        else:
            ac.even = kept
        if how == "global":
            ac.bad_pos = None
            ac.reliable = min(ac.reliable + 1, 2)
        ac.lat, ac.lon, ac.pos_time = lat, lon, t
        return self._observation(ac, msg, t, tc, df, cf, how, surface, attrs)

    def _observation(self, ac: AircraftState, msg: dict, t: float, tc: int, df: int, cf: int, how: str,
                     surface: bool, attrs: dict[str, Any] | None) -> Observation | None:
        a: dict[str, Any] = {"df": df, "tc": tc, "cpr": how}
        alt_m = None
        alt_ft = msg.get("altitude")
        if surface:
            a["on_ground"] = True
        elif alt_ft is not None:
            alt_ft = float(alt_ft)
            if msg.get("source") == "GNSS":
                alt_m, a["alt_kind"] = alt_ft * FT, "geometric"
            elif ac.geo_minus_baro_ft is not None and t - ac.gmb_time <= 60.0:
                alt_m, a["alt_kind"] = (alt_ft + ac.geo_minus_baro_ft) * FT, "baro+geo_delta"
                a["alt_baro_ft"] = alt_ft
            else:
                alt_m, a["alt_kind"] = alt_ft * FT, "baro"
                a["alt_baro_ft"] = alt_ft
            if not -1000.0 <= alt_m <= 100_000.0:
                self.stats.reject("bad_altitude", str(alt_ft))
                return None
        if not 0.0 <= t <= 1.0e10:
            self.stats.reject("bad_time", str(t))
            return None
        sigma = _NACP_SIGMA.get(ac.nacp)
        if sigma is not None:
            a["nac_p"] = ac.nacp
        else:
            nuc = msg.get("NUCp")
            sigma = _NUCP_SIGMA.get(nuc, _UNKNOWN_SIGMA_M)
            a["nuc_p"] = nuc
        if ac.squawk:
            a["squawk"] = ac.squawk
        if attrs:
            a.update(attrs)
        vel = ac.velocity if ac.velocity is not None and t - ac.vel_time <= VELOCITY_MAX_AGE_S else None
        ident = ("~" + ac.icao) if (df == 18 and cf in (1, 5)) else ac.icao
        # every value is range-checked above (lat/lon, altitude, time; sigma >= 1 m; the
        # velocity was validated when built): the unvalidated constructor is safe here
        return Observation.trusted(float(t), _ADSB, self.sensor, ac.lat, ac.lon, alt_m, sigma, vel, ident,
                                   ac.callsign, ac.cls, self.label, a)

    def _prune(self, now: float) -> None:
        self._next_prune = now + 60.0
        old = [k for k, ac in self.aircraft.items() if now - ac.last_seen > STATE_MAX_AGE_S]
        for k in old:
            del self.aircraft[k]


def _safe_decode(frame, reference, stats: DecodeStats, times=None):
    """rs1090.decode that never raises: a Rust panic surfaces as a BaseException subclass
    (pyo3's PanicException), which ``except Exception`` would not stop."""
    try:
        if times is not None:
            return rs1090.decode(frame, times, reference=reference)
        if reference is None:
            return rs1090.decode(frame)
        return rs1090.decode(frame, reference=reference)
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException as exc:  # noqa: BLE001
        stats.reject("decoder_error", f"{type(exc).__name__}: {exc}: {frame!r}")
        return False


def _plausible(lat0: float, lon0: float, t0: float, lat: float, lon: float, t: float, vmax_mps: float) -> bool:
    """readsb-style speed check: could the aircraft have moved from the old to the new position?"""
    return within_m(lat0, lon0, lat, lon, vmax_mps * (abs(t - t0) + 1.0) + 100.0)


# -- CPR position decoding (DO-260B / 1090-WP-9-14), the same arithmetic as rs1090's --------
# rs1090's Python API decodes a position against one fixed reference per call; Lookout decodes
# each frame against its own aircraft's last position, so these run in Python on the raw CPR
# values rs1090 returns (tests check them against rs1090's own decode, frame for frame).
_CPR_MAX = 131072.0
_D_LAT_EVEN = 360.0 / 60.0
_D_LAT_ODD = 360.0 / 59.0
#: latitudes at which the number of longitude zones NL drops by one (59 below the first)
_NL_EDGES = (
    10.47047130, 14.82817437, 18.18626357, 21.02939493, 23.54504487, 25.82924707, 27.93898710,
    29.91135686, 31.77209708, 33.53993436, 35.22899598, 36.85025108, 38.41241892, 39.92256684,
    41.38651832, 42.80914012, 44.19454951, 45.54626723, 46.86733252, 48.16039128, 49.42776439,
    50.67150166, 51.89342469, 53.09516153, 54.27817472, 55.44378444, 56.59318756, 57.72747354,
    58.84763776, 59.95459277, 61.04917774, 62.13216659, 63.20427479, 64.26616523, 65.31845310,
    66.36171008, 67.39646774, 68.42322022, 69.44242631, 70.45451075, 71.45986473, 72.45884545,
    73.45177442, 74.43893416, 75.42056257, 76.39684391, 77.36789461, 78.33374083, 79.29428225,
    80.24923213, 81.19801349, 82.13956981, 83.07199445, 83.99173563, 84.89166191, 85.75541621,
    86.53536998, 87.0,
)


def cpr_nl(lat: float) -> int:
    """Number of longitude zones (1..59) at latitude ``lat`` (degrees)."""
    return 59 - bisect_right(_NL_EDGES, -lat if lat < 0.0 else lat)


def cpr_local(lat_cpr: int, lon_cpr: int, odd: bool, surface: bool, ref_lat: float, ref_lon: float
              ) -> tuple[float, float]:
    """Locally unambiguous CPR decode against a reference within half a zone (airborne: 180 NM,
    surface: 45 NM). Longitude is not wrapped (the caller brings a result outside +-180 back)."""
    span = 90.0 if surface else 360.0
    cy, cx = lat_cpr / _CPR_MAX, lon_cpr / _CPR_MAX
    d_lat = span / 59.0 if odd else span / 60.0
    j = _floor(ref_lat / d_lat) + _floor(0.5 + ref_lat % d_lat / d_lat - cy)
    lat = d_lat * (j + cy)
    ni = cpr_nl(lat) - (1 if odd else 0)
    d_lon = span / ni if ni > 0 else span
    m = _floor(ref_lon / d_lon) + _floor(0.5 + ref_lon % d_lon / d_lon - cx)
    return lat, d_lon * (m + cx)


def cpr_global(lat_even: int, lon_even: int, lat_odd: int, lon_odd: int, latest_odd: bool
               ) -> tuple[float, float] | None:
    """Globally unambiguous airborne CPR decode from an even and an odd frame: the position of
    the latest one (``latest_odd``), or None when the two frames lie in different longitude
    zones (NL differs: no consistent solution)."""
    ye, xe = lat_even / _CPR_MAX, lon_even / _CPR_MAX
    yo, xo = lat_odd / _CPR_MAX, lon_odd / _CPR_MAX
    j = _floor(59.0 * ye - 60.0 * yo + 0.5)
    lat_e = _D_LAT_EVEN * (j % 60 + ye)
    lat_o = _D_LAT_ODD * (j % 59 + yo)
    if lat_e >= 270.0:
        lat_e -= 360.0
    if lat_o >= 270.0:
        lat_o -= 360.0
    nl = 59 - bisect_right(_NL_EDGES, -lat_e if lat_e < 0.0 else lat_e)  # cpr_nl, inlined
    if nl != 59 - bisect_right(_NL_EDGES, -lat_o if lat_o < 0.0 else lat_o):
        return None
    if latest_odd:
        lat, ni, c = lat_o, (nl - 1 if nl > 1 else 1), xo
    else:
        lat, ni, c = lat_e, nl, xe
    lon = (360.0 / ni) * (_floor(xe * (nl - 1) - xo * nl + 0.5) % ni + c)
    if lon >= 180.0:
        lon -= 360.0
    return lat, lon


def cpr_global_surface(lat_even: int, lon_even: int, lat_odd: int, lon_odd: int, latest_odd: bool,
                       ref_lat: float, ref_lon: float) -> tuple[float, float] | None:
    """Surface CPR decode from an even and an odd frame: the position of the latest one.

    A surface zone spans 90 degrees, so a pair has solutions in both hemispheres (the latitude
    and 90 degrees south of it) and four longitudes 90 degrees apart: the one nearest the
    reference (``ref_lat``, ``ref_lon``: the receiver, or the aircraft's own last position) is
    returned. None when the two frames lie in different longitude zones (NL differs)."""
    ye, xe = lat_even / _CPR_MAX, lon_even / _CPR_MAX
    yo, xo = lat_odd / _CPR_MAX, lon_odd / _CPR_MAX
    j = _floor(59.0 * ye - 60.0 * yo + 0.5)
    lat_e = 1.5 * (j % 60.0 + ye)  # 90 / 60 degrees per even zone, in [0, 90)
    lat_o = (90.0 / 59.0) * (j % 59.0 + yo)
    if abs(lat_e - 90.0 - ref_lat) < abs(lat_e - ref_lat):  # the southern solution
        lat_e -= 90.0
        lat_o -= 90.0
    nl = cpr_nl(lat_e)
    if nl != cpr_nl(lat_o):
        return None
    lat, c = (lat_o, xo) if latest_odd else (lat_e, xe)
    ni = float(max(nl - 1, 1)) if latest_odd else float(max(nl, 1))
    m = _floor(xe * (nl - 1) - xo * nl + 0.5)
    lon = (90.0 / ni) * (m % ni + c)  # in [0, 90): the solution in the first quadrant
    # the quadrant nearest the reference
    lon += 90.0 * _floor(((ref_lon - lon) + 45.0) / 90.0)
    lon = (lon + 180.0) % 360.0 - 180.0
    return lat, lon


# -- encoder (test data, benchmarks, simulated receivers) ---------------------------------
_CRC_POLY = 0xFFF409
_CHARSET = "#ABCDEFGHIJKLMNOPQRSTUVWXYZ##### ###############0123456789######"
_NZ = 15


def _crc_table() -> list[int]:
    table = []
    for i in range(256):
        c = i << 16
        for _ in range(8):
            c = ((c << 1) ^ _CRC_POLY) if c & 0x800000 else (c << 1)
        table.append(c & 0xFFFFFF)
    return table


_CRC_TABLE = _crc_table()


def crc24(data: bytes) -> int:
    """The Mode S parity (CRC-24, generator 0x1FFF409) over ``data``."""
    c = 0
    for b in data:
        c = ((c << 8) & 0xFFFFFF) ^ _CRC_TABLE[((c >> 16) ^ b) & 0xFF]
    return c


def _frame(icao: str, me: int, df: int = 17, ca: int = 5) -> str:
    body = bytes([(df << 3) | ca]) + bytes.fromhex(icao) + me.to_bytes(7, "big")
    return (body + crc24(body).to_bytes(3, "big")).hex().upper()


def _nl(lat: float) -> int:
    if lat == 0:
        return 59
    if abs(lat) == 87:
        return 2
    if abs(lat) > 87:
        return 1
    a = 1 - math.cos(math.pi / (2 * _NZ))
    b = math.cos(math.pi / 180.0 * abs(lat)) ** 2
    return int(math.floor(2 * math.pi / math.acos(1 - a / b)))


def cpr_encode(lat: float, lon: float, odd: bool, surface: bool = False) -> tuple[int, int]:
    """CPR encoding (17 bits each) of a position: airborne, or surface (a 90-degree zone)."""
    i = 1 if odd else 0
    span = 90.0 if surface else 360.0
    dlat = span / (4 * _NZ - i)
    yz = math.floor(2**17 * ((lat % dlat) / dlat) + 0.5)
    rlat = dlat * (yz / 2**17 + math.floor(lat / dlat))
    ni = max(_nl(rlat) - i, 1)
    dlon = span / ni
    xz = math.floor(2**17 * ((lon % dlon) / dlon) + 0.5)
    return yz & 0x1FFFF, xz & 0x1FFFF


def encode_identification(icao: str, callsign: str, category: int = 0, tc: int = 4) -> str:
    """DF17 identification (TC 1-4) frame."""
    cs = callsign.upper().ljust(8)[:8]
    me = (tc << 3) | category
    for ch in cs:
        idx = _CHARSET.find(ch) if ch != "#" else -1
        if idx < 0:
            raise ValueError(f"callsign character {ch!r} cannot be encoded")
        me = (me << 6) | idx
    return _frame(icao, me)


def encode_airborne_position(icao: str, lat: float, lon: float, alt_ft: float, odd: bool, tc: int = 11,
                             df: int = 17) -> str:
    """DF17 airborne position (barometric altitude in 25 ft steps) frame."""
    n = int(round((alt_ft + 1000) / 25.0))
    if not 0 <= n < 2048:
        raise ValueError(f"altitude {alt_ft} ft cannot be encoded with 25 ft steps")
    alt12 = ((n >> 4) << 5) | 0x10 | (n & 0xF)
    yz, xz = cpr_encode(lat, lon, odd)
    me = (tc << 51) | (alt12 << 36) | (int(odd) << 34) | (yz << 17) | xz
    return _frame(icao, me, df=df)


def encode_surface_position(icao: str, lat: float, lon: float, odd: bool, tc: int = 7) -> str:
    """DF17 surface position frame (movement and track left as 'no information')."""
    yz, xz = cpr_encode(lat, lon, odd, surface=True)
    me = (tc << 51) | (int(odd) << 34) | (yz << 17) | xz
    return _frame(icao, me)


def encode_velocity(icao: str, gs_kt: float, track_deg: float, vrate_fpm: float = 0.0,
                    geo_minus_baro_ft: float | None = None) -> str:
    """DF17 airborne velocity (subtype 1, ground speed) frame."""
    a = math.radians(track_deg)
    vew, vns = gs_kt * math.sin(a), gs_kt * math.cos(a)
    s_ew, v_ew = int(vew < 0), min(int(round(abs(vew))) + 1, 1023)
    s_ns, v_ns = int(vns < 0), min(int(round(abs(vns))) + 1, 1023)
    s_vr, v_vr = int(vrate_fpm < 0), min(int(round(abs(vrate_fpm) / 64.0)) + 1, 511)
    if geo_minus_baro_ft is None:
        s_d, d = 0, 0
    else:
        s_d, d = int(geo_minus_baro_ft < 0), min(int(round(abs(geo_minus_baro_ft) / 25.0)) + 1, 127)
    me = 19
    for val, bits in ((1, 3), (0, 1), (0, 1), (0, 3), (s_ew, 1), (v_ew, 10), (s_ns, 1), (v_ns, 10),
                      (0, 1), (s_vr, 1), (v_vr, 9), (0, 2), (s_d, 1), (d, 7)):
        me = (me << bits) | val
    return _frame(icao, me)


# -- shared pieces of the raw / AVR / Beast decoders ----------------------------------------
class TickClock:
    """Turns a receiver's free-running 12 MHz MLAT counter into UNIX time.

    The first counter value is anchored to the wall clock; later ones advance by the counter,
    so a replayed capture keeps its recorded spacing. A counter that goes backwards or jumps
    by more than ``max_jump_s`` (receiver restart, wrap) is re-anchored.
    """

    HZ = 12_000_000.0

    def __init__(self, max_jump_s: float = 3600.0) -> None:
        self.max_jump_s = max_jump_s
        self._t0: float | None = None
        self._c0 = 0
        self._last = 0

    def to_unix(self, ticks: int, now: float | None = None) -> float:
        if self._t0 is None or ticks < self._last or (ticks - self._last) / self.HZ > self.max_jump_s:
            self._t0 = _time.time() if now is None else now
            self._c0 = ticks
        self._last = ticks
        return self._t0 + (ticks - self._c0) / self.HZ

    def to_unix_many(self, ticks: list[int]) -> list[float | None]:
        """:meth:`to_unix` of each counter value, in order."""
        out: list[float | None] = []
        append = out.append
        hz = self.HZ
        max_jump = self.max_jump_s
        t0, c0, last = self._t0, self._c0, self._last
        for tk in ticks:
            if t0 is None or tk < last or (tk - last) / hz > max_jump:
                t0, c0 = _time.time(), tk
            last = tk
            append(t0 + (tk - c0) / hz)
        self._t0, self._c0, self._last = t0, c0, last
        return out


class ModeSDecoderBase:
    """Mixin for Decoders that feed Mode S frames to :class:`ModeS` (raw, AVR, Beast)."""

    def _init_modes(self, reference, max_range_m, max_speed_kt) -> None:
        self.modes = ModeS(self.sensor, self.label, self.stats, reference=reference,  # type: ignore[attr-defined]
                           max_range_m=max_range_m, max_speed_kt=max_speed_kt)

    def _batch_done(self, n_records: int, frames: list[str], times: list[float | None],
                    attrs: list[dict[str, Any] | None] | None = None) -> list[Observation]:
        """End of a ``decode_batch``: decode the frames its records gave, with the counting that
        :meth:`Decoder.decode` does per record; never raises."""
        st = self.stats  # type: ignore[attr-defined]
        if not self.counts_records:  # type: ignore[attr-defined]
            st.messages += n_records
        st.last_seen = _time.time()
        try:
            out = self.modes.frames(frames, times, attrs)
        except Exception as exc:  # noqa: BLE001 - a decoder never raises into the pipeline
            st.reject(type(exc).__name__, f"{exc} (batch of {len(frames)} frames)")
            return []
        if out:
            st.accepted += len(out)
            st.last_time = out[-1].time
        return out


def joined_lines(records: list[bytes]) -> str | None:
    """The lines of a batch as one text (``\\n`` between them), or None when one is not ASCII or
    holds a newline itself (the text would not split back into the same lines)."""
    try:
        text = b"\n".join(records).decode("ascii")
    except UnicodeDecodeError:
        return None
    return text if text.count("\n") == len(records) - 1 else None


class ModeSLineDecoder(ModeSDecoderBase):
    """Mixin for the line formats of Mode S frames (raw ``timestamp,hex``, AVR): a format defines
    :meth:`_parse`; one line and a batch of lines then share the same decoding code."""

    def _parse(self, line: bytes, frames: list[str], times: list[float | None]) -> None:  # pragma: no cover
        """Append the frame and time of one input line (line formats define it)."""
        raise NotImplementedError

    def _decode(self, data: bytes) -> Iterator[Observation]:
        """One line: the line formats' per-record path, the same code as a batch of one."""
        frames: list[str] = []
        times: list[float | None] = []
        self._parse(data, frames, times)
        if frames:
            yield from self.modes.frames(frames, times)

    def _parse_all(self, records: list[bytes], frames: list[str], times: list[float | None]) -> bool:
        """Parse a whole batch at once when every line has the format's plain form (a format may
        define it): True when done, False (nothing appended) to parse line by line instead."""
        return False

    def decode_batch(self, records: list[bytes]) -> list[Observation]:
        """Many lines: parse them all, then decode the batch's frames together (:meth:`ModeS.frames`)."""
        frames: list[str] = []
        times: list[float | None] = []
        if records and self._parse_all(records, frames, times):
            return self._batch_done(len(records), frames, times)
        parse = self._parse
        for rec in records:
            try:
                parse(rec, frames, times)
            except Exception as exc:  # noqa: BLE001 - as decode(): count it, go on with the next line
                self.stats.reject(type(exc).__name__, f"{exc}: {rec[:80]!r}")  # type: ignore[attr-defined]
        return self._batch_done(len(records), frames, times)


class Transponder:
    """The DF17 frames one simulated aircraft transmits, for simulated receivers and the demo.

    Each :meth:`frames` call (one per simulation step) gives an airborne position (alternating
    even/odd, as a real transponder does), a velocity and, every ``ident_every_s`` seconds, an
    identification. Feed the frames to a receiver format: raw lines (``f"{t},{frame}"``), AVR
    (``f"*{frame};"``), Beast (:func:`lookout.sources.beast.encode_frame`).
    """

    def __init__(self, icao: str, callsign: str | None = None, category: int = 0,
                 ident_every_s: float = 5.0) -> None:
        if len(icao) != 6 or not valid_hex(icao * 2 + "00"):
            raise ValueError(f"icao must be 6 hex digits, got {icao!r}")
        self.icao = icao.lower()
        self.callsign = callsign
        self.category = category
        self.ident_every_s = ident_every_s
        self._odd = False
        self._last_ident: float | None = None

    def frames(self, t: float, lat: float, lon: float, alt_ft: float, gs_kt: float | None = None,
               track_deg: float | None = None, vrate_fpm: float = 0.0,
               geo_minus_baro_ft: float | None = None) -> list[str]:
        out = [encode_airborne_position(self.icao, lat, lon, alt_ft, odd=self._odd)]
        self._odd = not self._odd
        if gs_kt is not None and track_deg is not None:
            out.append(encode_velocity(self.icao, gs_kt, track_deg, vrate_fpm, geo_minus_baro_ft))
        if self.callsign and (self._last_ident is None or t - self._last_ident >= self.ident_every_s):
            out.append(encode_identification(self.icao, self.callsign, self.category))
            self._last_ident = t
        return out
