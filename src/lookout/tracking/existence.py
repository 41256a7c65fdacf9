"""Track existence: score-based (log-likelihood-ratio) confirmation, reporting and tentative deletion.

Every track carries the probability ``p`` that it follows a real target (an integrated-PDA
existence, the probability form of Blackman's track score / Wald's sequential test):

* a new track starts at ``p0``, the probability that a measurement no track took is the first
  of a new target;
* between scans the target may have died: ``p <- p * exp(-death_rate * dt)``;
* a scan multiplies its odds ``p / (1 - p)`` by ``1 - pd * pg + sum_j pd * N(y_j; 0, S_j) /
  clutter_density`` over the measurements ``j`` it was updated with (the likelihood ratio of
  "target" against "clutter"; none on a miss: the factor is then ``1 - pd * pg``).

A track is confirmed, and reported, while ``p`` is at least ``existence_threshold`` (0.5: for
GOSPA, where a missed target and a false track cost the same, reporting the tracks more likely
real than not minimises the expected error). A well-fitting track in sparse clutter therefore
confirms on its second measurement, while in dense clutter, where a measurement in the gate
proves little, it takes more; a confirmed track that stops being detected stops being reported
once a miss streak makes the target's death more likely than bad luck (the track itself is kept
for re-acquisition until ``delete_misses``).

``p0`` and ``death_rate`` are learnt from the tracker's own history unless fixed in the
configuration (``birth_prob``, ``death_rate``): ``p0`` as the share of started tracks that became
established (``ESTABLISHED_HITS`` updates), not counting the tracks started on the first scan
(where every target is new), the death rate as confirmed tracks deleted per confirmed
track-second; both as exponentially forgotten counts (time constant ``RATE_MEMORY_S``) started
from a weak prior. ``p0`` is kept at most ``MAX_BIRTH_PROB``: one measurement never confirms a
track (it has no velocity yet).
"""

from __future__ import annotations

import math

import numpy as np

from lookout.tracking.config import TrackerConfig

#: updates after which a track counts as a real target for the birth-probability estimate
ESTABLISHED_HITS = 5
#: memory (seconds) of the birth and death estimates
RATE_MEMORY_S = 600.0
#: weak priors: ``(events, exposure)`` of the birth probability (established / started) and
#: of the death rate (deaths / confirmed track-seconds)
BIRTH_PRIOR = (1.0, 10.0)
DEATH_PRIOR = (1.0, 100.0)
#: the most a new track's existence probability is taken to be
MAX_BIRTH_PROB = 0.25
#: a tentative track whose existence odds fall below this multiple of its starting odds is dropped
TENTATIVE_DROP_RATIO = 0.05


_MAX_LOG_LR = 400.0  # likelihood ratios kept finite (e^400 ~ 1e174)
_MAX_P = 1.0 - 1e-12


class RateEstimate:
    """``(events + a) / (exposure + b)`` over exponentially forgotten counts."""

    def __init__(self, prior: tuple[float, float], memory_s: float = RATE_MEMORY_S) -> None:
        self.a, self.b = prior
        self.events = 0.0
        self.exposure = 0.0
        self.memory_s = memory_s

    def add(self, events: float, exposure: float, dt: float) -> None:
        f = math.exp(-max(dt, 0.0) / self.memory_s)
        self.events = self.events * f + events
        self.exposure = self.exposure * f + exposure

    @property
    def value(self) -> float:
        return (self.events + self.a) / (self.exposure + self.b)


class Existence:
    """Existence probabilities of a tracker's tracks and the estimates they rest on."""

    def __init__(self, cfg: TrackerConfig) -> None:
        self.cfg = cfg
        self.threshold = cfg.existence_threshold
        self.miss_factor = 1.0 - cfg.pd * cfg.gate_prob
        # no clutter: every measurement is a target's (the largest likelihood ratio)
        self.log_pd_over_clutter = (math.log(cfg.pd) - math.log(cfg.clutter_density) if cfg.clutter_density > 0
                                    else _MAX_LOG_LR)
        self.births = RateEstimate(BIRTH_PRIOR)
        self.deaths = RateEstimate(DEATH_PRIOR)

    @property
    def p0(self) -> float:
        """Existence probability of a new track."""
        if self.cfg.birth_prob is not None:
            return self.cfg.birth_prob
        return min(max(self.births.value, 1e-9), MAX_BIRTH_PROB)

    @property
    def death_rate(self) -> float:
        """Deaths per target-second."""
        return self.cfg.death_rate if self.cfg.death_rate is not None else self.deaths.value

    def predict(self, p: np.ndarray, dt: float) -> np.ndarray:
        return p * math.exp(-self.death_rate * dt) if dt > 0 else p

    def update(self, p: np.ndarray, ti: np.ndarray, loglik: np.ndarray, unique: bool = False) -> np.ndarray:
        """Existence after a scan in which track ``ti[k]`` was updated with a measurement of
        log-likelihood ``loglik[k]`` (tracks in no pair missed; ``unique``: no track in two pairs)."""
        f = np.empty(len(p))
        f.fill(self.miss_factor)
        if len(ti):
            lr = np.exp(np.minimum(loglik + self.log_pd_over_clutter, _MAX_LOG_LR))
            if unique:
                f[ti] += lr
            else:
                np.add.at(f, ti, lr)
        # odds * f, back to a probability (kept below 1: odds at most 1e12)
        return np.minimum(1.0 - 1.0 / (1.0 + p / (1.0 - p) * f), _MAX_P)

    def drop_tentative(self, p: np.ndarray) -> np.ndarray:
        """Tentative tracks whose existence fell too far below a new track's."""
        p0 = self.p0
        return p / (1.0 - p) < TENTATIVE_DROP_RATIO * p0 / (1.0 - p0)

    def learn(self, started: int, established: int, deleted_confirmed: int, confirmed_live: int, dt: float) -> None:
        """Feed one scan's counts to the birth and death estimates."""
        self.births.add(established, started, dt)
        self.deaths.add(deleted_confirmed, confirmed_live * max(dt, 0.0), dt)
