"""The rules file: one YAML document, validated with pydantic, errors that name the line.

The packaged default is ``lookout/data/rules.yaml``. Every rule has a unique ``name``, a ``type``
(which rule logic it runs), ``severity``, the object ``classes`` it applies to and its own
thresholds; see ``docs/rules.md`` for every field.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from lookout.model import ObjectClass, Severity, SourceKind, ZoneKind

DEFAULT_RULES_FILE = "rules.yaml"


class RulesConfigError(ValueError):
    """The rules file is invalid; the message names the file, line and field of every problem."""


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RuleBase(_Base):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    enabled: bool = True
    severity: Severity = Severity.MEDIUM
    #: classes the rule applies to; ``None`` (omitted) means every class
    classes: list[ObjectClass] | None = None
    #: the condition must be false for this long (track updated meanwhile) before an episode ends
    clear_after_s: float = Field(3.0, ge=0)
    #: an open episode is re-sent (event "update") at most this often unless its severity changes
    update_interval_s: float = Field(1.0, ge=0)
    #: tracks with fewer updates than this are not evaluated (0: every confirmed track)
    min_track_updates: int = Field(0, ge=0)


class ZoneRule(RuleBase):
    """Entry into, exit from, or dwell inside zones."""

    type: Literal["zone"]
    zones: list[str] = Field(default_factory=list)
    zone_kinds: list[ZoneKind] = Field(default_factory=list)
    trigger: Literal["entry", "exit", "dwell"] = "entry"
    dwell_s: float | None = Field(None, gt=0)
    #: a track inside must get this far outside before it counts as having left (no flapping)
    hysteresis_m: float = Field(25.0, ge=0)
    #: how long an exit alert stays open after the exit
    hold_s: float = Field(30.0, ge=0)

    @model_validator(mode="after")
    def _check(self) -> ZoneRule:
        if not self.zones and not self.zone_kinds:
            raise ValueError("a zone rule needs 'zones' (zone ids) or 'zone_kinds'")
        if self.trigger == "dwell" and self.dwell_s is None:
            raise ValueError("trigger 'dwell' needs 'dwell_s'")
        return self


class BorderCrossingRule(RuleBase):
    """A track crossing the sector's border line, with direction, time and crossing point."""

    type: Literal["border_crossing"]
    directions: list[Literal["north", "south"]] = Field(default_factory=lambda: ["north", "south"])
    #: a crossing counts once the track is this far beyond the line (and at least sigma_factor * sigma_h)
    hysteresis_m: float = Field(20.0, ge=0)
    sigma_factor: float = Field(1.0, ge=0)
    #: how long the crossing alert stays open (updated with the track) after the crossing
    hold_s: float = Field(60.0, ge=0)


class ApproachRule(RuleBase):
    """Objects closing on personnel: closest-point-of-approach, not distance alone."""

    type: Literal["approach"]
    classes: list[ObjectClass] | None = Field(default_factory=lambda: [ObjectClass.UAS])
    #: alert when the predicted closest approach is within this distance of an agent ...
    radius_m: float = Field(300.0, gt=0)
    #: ... and happens within this many seconds ...
    horizon_s: float = Field(60.0, gt=0)
    #: ... while closing at least this fast
    min_closing_mps: float = Field(2.0, ge=0)
    #: any object of the classes this close to an agent alerts, closing or not
    danger_radius_m: float = Field(100.0, ge=0)
    #: only agents within this (3-D) distance are considered: the watch radius around each agent
    max_range_m: float = Field(500.0, gt=0)
    #: thresholds grow by this factor while an episode is open (hysteresis)
    hysteresis_factor: float = Field(1.25, ge=1.0)
    #: severity becomes ``critical`` when the closest approach is this close in time
    critical_tca_s: float = Field(15.0, ge=0)
    #: agent positions older than this are ignored
    agent_timeout_s: float = Field(300.0, gt=0)


class LoiterRule(RuleBase):
    """Loitering / orbiting: a track staying in a small area for a while, optionally turning."""

    type: Literal["loiter"]
    radius_m: float = Field(gt=0)
    window_s: float = Field(gt=0)
    #: cumulative signed heading change over the window needed (360 = one full orbit; 0 = off)
    min_turn_deg: float = Field(0.0, ge=0)
    #: heading samples slower than this are ignored for turning
    min_speed_mps: float = Field(1.0, ge=0)
    #: the area may grow by this factor while an episode is open (hysteresis)
    hysteresis_factor: float = Field(1.3, ge=1.0)
    #: history sampling period (the rule is evaluated at this rate)
    sample_s: float = Field(2.0, gt=0)

    @model_validator(mode="after")
    def _check(self) -> LoiterRule:
        if self.window_s / self.sample_s > 2000:
            raise ValueError("window_s / sample_s must be <= 2000 (raise sample_s)")
        return self


class RemoteIdMissingRule(RuleBase):
    """A drone seen by radar/camera without Remote ID for ``after_s`` seconds."""

    type: Literal["remote_id_missing"]
    classes: list[ObjectClass] | None = Field(default_factory=lambda: [ObjectClass.UAS])
    after_s: float = Field(20.0, ge=0)
    noncoop_sources: list[SourceKind] = Field(default_factory=lambda: [SourceKind.RADAR, SourceKind.CAMERA])
    #: Remote ID received within this many seconds counts as present (when the tracker reports
    #: per-source times in ``attrs["source_times"]``)
    grace_s: float = Field(5.0, ge=0)


class RemoteIdSpoofRule(RuleBase):
    """A Remote ID position inconsistent with the radar/camera track, or a physically impossible jump."""

    type: Literal["remote_id_spoof"]
    classes: list[ObjectClass] | None = None
    #: offset beyond sigma_factor * combined sigma (and at least min_offset_m) is inconsistent
    sigma_factor: float = Field(4.0, gt=0)
    min_offset_m: float = Field(100.0, ge=0)
    #: offset / gate evidence must hold this long (one stray report is not a spoof)
    persist_s: float = Field(3.0, ge=0)
    #: 1-sigma of a Remote ID position when the tracker does not report one
    remote_id_sigma_m: float = Field(15.0, gt=0)
    #: jumps: implied speed between consecutive Remote ID positions above this ...
    max_speed_mps: float = Field(70.0, gt=0)
    #: ... over at least this distance
    min_jump_m: float = Field(150.0, ge=0)
    #: pairing a Remote ID-only track with a dark radar/camera drone track moving alike
    pair: bool = True
    pair_radius_m: float = Field(3000.0, gt=0)
    pair_velocity_tol_mps: float = Field(4.0, gt=0)
    #: both must move (3-D speed) at least this fast for a new pair (parked objects do not pair)
    pair_min_speed_mps: float = Field(2.0, ge=0)
    pair_persist_s: float = Field(5.0, ge=0)
    #: a pair's offset vector may wander this much and still be the same object
    pair_offset_tol_m: float = Field(100.0, gt=0)
    #: a pair not seen (both tracks updated) for this long is forgotten
    pair_gap_s: float = Field(10.0, gt=0)
    #: an episode stays open this long after its last evidence (pairs come and go as the tracker
    #: loses and re-finds the real drone; a spoofer does not turn honest)
    clear_after_s: float = Field(120.0, ge=0)


class OperatorLocatedRule(RuleBase):
    """Attach the Remote ID operator position of a drone to every alert about it."""

    type: Literal["operator_located"]
    #: rules whose alerts get the operator (empty: all)
    rules: list[str] = Field(default_factory=list)


RuleConfig = Annotated[
    ZoneRule | BorderCrossingRule | ApproachRule | LoiterRule | RemoteIdMissingRule | RemoteIdSpoofRule
    | OperatorLocatedRule,
    Field(discriminator="type"),
]


class BorderConfig(_Base):
    #: width of the ``border-buffer`` zone built from the sector's border line
    buffer_m: float = Field(1000.0, gt=0)


class SitesConfig(_Base):
    #: radius of the zones built from the sector file's protected sites
    radius_m: float = Field(500.0, gt=0)


class WebhookConfig(_Base):
    """A URL that receives alert events as JSON POSTs (see :class:`lookout.rules.notify.WebhookSender`)."""

    url: str = Field(pattern=r"^https?://")
    min_severity: Severity = Severity.INFO
    kinds: list[Literal["new", "update", "end"]] = Field(default_factory=lambda: ["new", "update", "end"])
    max_retries: int = Field(5, ge=0)
    backoff_s: float = Field(0.5, ge=0)
    max_backoff_s: float = Field(30.0, ge=0)
    timeout_s: float = Field(5.0, gt=0)
    queue_size: int = Field(1000, ge=1)
    headers: dict[str, str] = Field(default_factory=dict)


class NotifyConfig(_Base):
    webhooks: list[WebhookConfig] = Field(default_factory=list)


class RulesConfig(_Base):
    version: Literal[1] = 1
    border: BorderConfig = Field(default_factory=BorderConfig)
    sites: SitesConfig = Field(default_factory=SitesConfig)
    notify: NotifyConfig = Field(default_factory=NotifyConfig)
    #: extra GeoJSON zone files (paths relative to the rules file)
    zone_files: list[str] = Field(default_factory=list)
    rules: list[RuleConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> RulesConfig:
        seen: set[str] = set()
        for i, r in enumerate(self.rules):
            if r.name in seen:
                raise ValueError(f"rules[{i}]: duplicate rule name {r.name!r}")
            seen.add(r.name)
        return self

    def rule(self, name: str) -> Any:
        for r in self.rules:
            if r.name == name:
                return r
        raise KeyError(name)


# -- YAML with line numbers ------------------------------------------------------------------------

def _node_at(root: yaml.Node | None, loc: tuple[Any, ...]) -> yaml.Node | None:
    """The deepest YAML node along a pydantic error location (union tags are skipped)."""
    node = root
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = None
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.value == str(part):
                    nxt = v
                    break
            if nxt is None:
                # a key that is not there (missing field) or an extra one: point at the key if it exists
                continue
            node = nxt
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if 0 <= part < len(node.value):
                node = node.value[part]
            else:
                break
    return node


def _extra_key_node(root: yaml.Node | None, loc: tuple[Any, ...]) -> yaml.Node | None:
    """For an 'extra field' error the key node itself (its line is the offending one)."""
    parent = _node_at(root, loc[:-1])
    if isinstance(parent, yaml.MappingNode):
        for k, _ in parent.value:
            if isinstance(k, yaml.ScalarNode) and k.value == str(loc[-1]):
                return k
    return None


def _fmt_loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("zone", "border_crossing", "approach", "loiter", "remote_id_missing", "remote_id_spoof",
                      "operator_located") and out.endswith("]"):
            continue  # the union member's tag
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def parse_rules(text: str, source: str = "<rules>") -> RulesConfig:
    """Parse and validate a rules document; :class:`RulesConfigError` names each bad line."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        raise RulesConfigError(f"{source}{line}: YAML syntax error: {exc.problem or exc}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise RulesConfigError(f"{source}:1: the rules file must be a mapping with a 'rules' list")
    try:
        return RulesConfig.model_validate(data)
    except ValidationError as exc:
        msgs = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            node = _extra_key_node(root, loc) if err["type"] == "extra_forbidden" else None
            node = node or _node_at(root, loc)
            line = node.start_mark.line + 1 if node is not None else 1
            msg = err["msg"]
            if err["type"] not in ("missing", "extra_forbidden") and "input" in err and not isinstance(
                    err["input"], (dict, list)):
                msg += f" (got {err['input']!r})"
            msgs.append(f"{source}:{line}: {_fmt_loc(loc)}: {msg}")
        raise RulesConfigError("invalid rules file:\n  " + "\n  ".join(msgs)) from None


def load_rules(path: str | Path | None = None) -> RulesConfig:
    """Load a rules file (the packaged default when ``path`` is None)."""
    if path is None:
        text = resources.files("lookout.data").joinpath(DEFAULT_RULES_FILE).read_text()
        return parse_rules(text, f"lookout/data/{DEFAULT_RULES_FILE}")
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise RulesConfigError(f"{p}: cannot read: {exc.strerror or exc}") from None
    cfg = parse_rules(text, str(p))
    cfg.zone_files = [str((p.parent / f).resolve()) if not Path(f).is_absolute() else f for f in cfg.zone_files]
    return cfg
