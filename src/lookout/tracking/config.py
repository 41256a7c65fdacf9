"""Tracker configuration: one dataclass with defaults for the border sector."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from functools import lru_cache
from typing import Any

from scipy.stats import chi2


@lru_cache(maxsize=256)
def _chi2_ppf(prob: float, dim: int) -> float:
    return float(chi2.ppf(prob, dim))


@dataclass(frozen=True)
class TrackerConfig:
    """Parameters of :class:`~lookout.tracking.Tracker` and :class:`~lookout.tracking.PositionTracker`.

    Motion model: nearly-constant velocity (white-noise acceleration of power spectral density
    ``q_h`` horizontally, ``q_v`` vertically, m^2/s^3). With ``imm=True`` every track runs an
    interacting-multiple-model filter of two nearly-constant-velocity models, a quiet one
    (``q_h``) and a manoeuvring one (``q_h * imm_q_factor``), switching at ``imm_switch_rate``
    per second.

    Association: Mahalanobis gate at probability ``gate_prob`` (chi-square), then
    global-nearest-neighbour (``association="gnn"``) or joint probabilistic data association
    (``association="jpda"``) for dense clutter.

    Track management: with ``confirmation="m_of_n"`` a new tentative track is confirmed when it
    has hits in ``confirm_m`` of its last ``confirm_n`` scans, and a tentative track that cannot
    reach that is deleted. With ``confirmation="existence"`` (fast position path only; see
    :mod:`lookout.tracking.existence`) each track carries the probability that it is real, from
    the measurements' likelihood against ``clutter_density`` and ``pd``; a track is confirmed and
    reported while that is at least ``existence_threshold``, a tentative track is deleted when it
    falls far below a new track's (``birth_prob``, learnt when None) or when it has not confirmed
    within ``confirm_n`` scans; ``death_rate`` (per second, learnt when None) lowers it between
    scans. A confirmed track is deleted after ``delete_misses`` consecutive missed scans, or after
    ``max_coast_s`` seconds without update (multi-sensor tracker), or when its horizontal
    position sigma exceeds ``max_sigma_m``.
    """

    # measurement defaults (fast position path; the Observation path takes sigmas from each observation)
    sigma: float = 10.0  # m, 1-sigma per axis of a position measurement
    pd: float = 0.9  # detection probability
    clutter_density: float = 2.5e-8  # false alarms per m^2 per scan (10 per scan over 20 x 20 km)
    # motion
    q_h: float = 1.0  # m^2/s^3 horizontal acceleration noise spectral density
    q_v: float = 0.5  # m^2/s^3 vertical
    init_speed_sigma: float = 25.0  # m/s, 1-sigma of the unknown velocity of a new track (per axis)
    init_vspeed_sigma: float = 5.0  # m/s, vertical
    init_alt_sigma: float = 300.0  # m, vertical sigma of a new track with no height measurement
    velocity_sigma: float = 1.5  # m/s, 1-sigma of a reported velocity (ADS-B, Remote ID) when used
    use_reported_velocity: bool = True
    imm: bool = False
    imm_q_factor: float = 50.0
    imm_switch_rate: float = 0.05  # 1/s
    # gating and association
    gate_prob: float = 0.999
    association: str = "gnn"  # "gnn" or "jpda"
    # track management
    confirmation: str = "m_of_n"  # "m_of_n" or "existence" (fast position path)
    existence_threshold: float = 0.5
    birth_prob: float | None = None  # existence probability of a new track; None: learnt
    death_rate: float | None = None  # 1/s; None: learnt
    confirm_m: int = 3
    confirm_n: int = 5
    delete_misses: int = 4
    max_sigma_m: float = 500.0
    max_coast_s: float = 12.0
    ident_confirm_hits: int = 2  # cooperative (ICAO24 / Remote ID) tracks
    # time handling
    late_tolerance_s: float = 2.0  # observations older than the newest processed time by more are dropped
    # identity fusion: a cooperative report coinciding with a non-cooperative track within this
    # Mahalanobis gate probability and this distance is fused into it
    fusion_gate_prob: float = 0.9999
    fusion_max_m: float = 300.0
    # classification
    fixed_wing_speed_mps: float = 70.0

    def __post_init__(self) -> None:
        for name in ("sigma", "q_h", "q_v", "init_speed_sigma", "init_vspeed_sigma", "init_alt_sigma",
                     "velocity_sigma", "max_sigma_m", "max_coast_s", "imm_q_factor", "fusion_max_m"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and v > 0 and v < float("inf")):
                raise ValueError(f"TrackerConfig.{name} must be a finite number > 0, got {v!r}")
        if not 0.0 < self.pd <= 1.0:
            raise ValueError(f"TrackerConfig.pd must be in (0, 1], got {self.pd!r}")
        if not (self.clutter_density >= 0.0 and self.clutter_density < float("inf")):
            raise ValueError(f"TrackerConfig.clutter_density must be >= 0, got {self.clutter_density!r}")
        for name in ("gate_prob", "fusion_gate_prob"):
            v = getattr(self, name)
            if not 0.0 < v < 1.0:
                raise ValueError(f"TrackerConfig.{name} must be in (0, 1), got {v!r}")
        if self.association not in ("gnn", "jpda"):
            raise ValueError(f"TrackerConfig.association must be 'gnn' or 'jpda', got {self.association!r}")
        if self.confirmation not in ("m_of_n", "existence"):
            raise ValueError(f"TrackerConfig.confirmation must be 'm_of_n' or 'existence', got {self.confirmation!r}")
        if not 0.0 < self.existence_threshold < 1.0:
            raise ValueError(f"TrackerConfig.existence_threshold must be in (0, 1), got {self.existence_threshold!r}")
        if self.birth_prob is not None and not 0.0 < self.birth_prob < 1.0:
            raise ValueError(f"TrackerConfig.birth_prob must be in (0, 1) or None, got {self.birth_prob!r}")
        if self.death_rate is not None and not (0.0 <= self.death_rate < float("inf")):
            raise ValueError(f"TrackerConfig.death_rate must be >= 0 or None, got {self.death_rate!r}")
        if not (1 <= self.confirm_m <= self.confirm_n <= 30):
            raise ValueError("TrackerConfig needs 1 <= confirm_m <= confirm_n <= 30, "
                             f"got {self.confirm_m} of {self.confirm_n}")
        if self.delete_misses < 1 or self.ident_confirm_hits < 1:
            raise ValueError("TrackerConfig.delete_misses and ident_confirm_hits must be >= 1")
        if self.late_tolerance_s < 0 or self.imm_switch_rate < 0:
            raise ValueError("TrackerConfig.late_tolerance_s and imm_switch_rate must be >= 0")

    def gate(self, dim: int) -> float:
        """Chi-square gate threshold on the squared Mahalanobis distance for a ``dim``-D measurement."""
        return _chi2_ppf(self.gate_prob, dim)

    def fusion_gate(self, dim: int) -> float:
        return _chi2_ppf(self.fusion_gate_prob, dim)

    def with_(self, **changes: Any) -> TrackerConfig:
        known = {f.name for f in fields(self)}
        bad = set(changes) - known
        if bad:
            raise ValueError(f"unknown TrackerConfig fields: {sorted(bad)}")
        return replace(self, **changes)
