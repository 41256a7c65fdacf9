"""Rules and alerts: zones, border crossings, drones closing on personnel, loitering, Remote ID
compliance and spoofing, operator location; alert episodes, lifecycle and notifications.

Typical use::

    engine = build_default_engine(sector, store=store)   # default rules + zones
    engine.observe(observations)                          # agent positions
    for event in engine.evaluate(track_updates):          # AlertEvent("new"|"update"|"end", Alert)
        ...
    engine.alerts.acknowledge(alert_id, by="agent 12")
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from lookout.model import Zone
from lookout.rules.alerts import AlertEvent, AlertManager, AlertNotFound, AlertStateError, Hit
from lookout.rules.config import RulesConfig, RulesConfigError, load_rules, parse_rules
from lookout.rules.context import AgentFix, RuleContext
from lookout.rules.engine import RuleEngine
from lookout.rules.notify import SeverityFilter, WebhookSender
from lookout.rules.zones import (
    ZoneError,
    ZoneSet,
    border_zones,
    load_zones,
    sector_site_zones,
    zones_from_geojson,
    zones_to_geojson,
)
from lookout.sector import Sector, load_sector

if TYPE_CHECKING:
    from lookout.store.base import Store

log = logging.getLogger(__name__)

__all__ = [
    "AgentFix", "AlertEvent", "AlertManager", "AlertNotFound", "AlertStateError", "Hit", "RuleContext",
    "RuleEngine", "RulesConfig", "RulesConfigError", "SeverityFilter", "WebhookSender", "ZoneError", "ZoneSet",
    "border_zones", "build_default_engine", "default_zones", "load_rules", "load_zones", "parse_rules",
    "sector_site_zones", "zones_from_geojson", "zones_to_geojson",
]


def default_zones(sector: Sector, config: RulesConfig) -> list[Zone]:
    """The zones a rules file implies: the border buffer, the sector's protected sites and the
    zones of its ``zone_files`` (later ids override earlier ones)."""
    zones: dict[str, Zone] = {}
    for z in border_zones(sector, config.border.buffer_m) + sector_site_zones(sector, config.sites.radius_m):
        zones[z.id] = z
    for f in config.zone_files:
        for z in load_zones(f):
            zones[z.id] = z
    return list(zones.values())


def build_default_engine(sector: Sector | None = None, store: Store | None = None,
                         rules_path: str | Path | None = None, zones: Iterable[Zone] | None = None) -> RuleEngine:
    """A :class:`RuleEngine` with the rules file (packaged default when ``rules_path`` is None).

    Webhooks of the rules file's ``notify`` section are subscribed (``engine.webhooks``).
    Zones: ``zones`` when given; else the rules file's default zones, overridden by the latest
    version of each zone in ``store``. Default zones missing from the store are put into it so
    the map and API see them, and the engine follows the store's zones from then on
    (:meth:`RuleEngine.sync_zones`). ``store`` also receives acknowledge/resolve changes.
    """
    sector = sector or load_sector()
    config = load_rules(rules_path)
    zones_given = zones
    if zones is None:
        by_id = {z.id: z for z in default_zones(sector, config)}
        if store is not None:
            stored = {z.id: z for z in store.zones()}
            for zid, z in by_id.items():
                if zid not in stored:
                    stored[zid] = store.put_zone(z)
            by_id.update(stored)
        zones = list(by_id.values())
    ctx = RuleContext(sector, zones)
    engine = RuleEngine(config, ctx, AlertManager(store=store))
    for hook in config.notify.webhooks:
        sender = WebhookSender(hook.url, max_retries=hook.max_retries, backoff_s=hook.backoff_s,
                               max_backoff_s=hook.max_backoff_s, timeout_s=hook.timeout_s,
                               queue_size=hook.queue_size, headers=hook.headers or None)
        engine.webhooks.append(sender)
        engine.alerts.subscribe(SeverityFilter(sender, hook.min_severity, frozenset(hook.kinds)))
    if store is not None and zones_given is None:
        engine.zone_store = store  # zones loaded later (CLI, API) apply within zone_refresh_s
    return engine
