"""``lookout zones ...`` (GeoJSON zone files, versioned in the store), ``lookout rules ...`` (the rules
file) and ``lookout alerts ...`` (list, acknowledge and resolve the store's alerts)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

DEFAULT_DB = Path("lookout-out/lookout.db")


def _store(db: Path):
    from lookout.store.sqlite import SQLiteStore

    db.parent.mkdir(parents=True, exist_ok=True)
    return SQLiteStore(db)


def _fail(msg: str) -> None:
    typer.echo(msg, err=True)
    raise typer.Exit(1)


def _zone_table(zones, title: str):
    from rich.table import Table

    from lookout.rules import ZoneSet
    from lookout.sector import load_sector

    zs = ZoneSet.build(zones, load_sector())
    t = Table(title=title)
    for col in ("id", "version", "name", "kind", "geometry", "area (km²)", "label"):
        t.add_column(col, justify="right" if col in ("version", "area (km²)") else "left")
    for z, g in zip(zs.zones, zs.geoms):
        extra = z.properties.get("buffer_m") or z.properties.get("radius_m")
        geom = z.geometry["type"] + (f" ±{extra:g} m" if extra else "")
        t.add_row(z.id, str(z.version), z.name, str(z.kind), geom, f"{g.area / 1e6:.3f}", z.label)
    return t


def register(app: typer.Typer) -> None:
    zones_app = typer.Typer(help="Zones (GeoJSON areas and lines the rules watch), versioned in the store.",
                            no_args_is_help=True)
    rules_app = typer.Typer(help="The rules file: check it, print the default.", no_args_is_help=True)
    alerts_app = typer.Typer(help="Alerts in the store: list, acknowledge, resolve.", no_args_is_help=True)
    app.add_typer(zones_app, name="zones")
    app.add_typer(rules_app, name="rules")
    app.add_typer(alerts_app, name="alerts")

    @alerts_app.command("list")
    def alerts_list(db: Path = typer.Option(DEFAULT_DB, help="SQLite store."),
                    state: str = typer.Option(None, help="new, acknowledged or resolved."),
                    rule: str = typer.Option(None, help="Only this rule."),
                    limit: int = typer.Option(50, help="At most this many (newest first).")) -> None:
        """The store's alerts, newest first."""
        import time as _time

        from rich.console import Console
        from rich.table import Table

        if not db.exists():
            _fail(f"no store at {db}")
        if state is not None and state not in ("new", "acknowledged", "resolved"):
            _fail(f"--state must be new, acknowledged or resolved, got {state!r}")
        with _store(db) as st:
            alerts = st.alerts(state=state, rule=rule, limit=limit)
        t = Table(title=f"{db}: {len(alerts)} alerts")
        t.add_column("id", no_wrap=True)  # whole: it is what ack/resolve take
        for col in ("start (UTC)", "rule", "severity", "state", "message"):
            t.add_column(col)
        for a in alerts:
            t.add_row(a.id, _time.strftime("%Y-%m-%d %H:%M:%S", _time.gmtime(a.start)), a.rule, str(a.severity),
                      str(a.state) + {"new": "", "acknowledged": f" ({a.acknowledged_by})",
                                       "resolved": f" ({a.resolved_by})"}[str(a.state)],
                      a.message)
        Console().print(t)

    def _act(action: str, alert_id: str, by: str, db: Path) -> None:
        from lookout.rules import AlertManager, AlertNotFound, AlertStateError

        if not db.exists():
            _fail(f"no store at {db}")
        with _store(db) as st:
            try:
                a = getattr(AlertManager(store=st), action)(alert_id, by)
            except (AlertNotFound, AlertStateError, ValueError) as exc:
                _fail(str(exc))
        typer.echo(f"{a.id}: {a.state} by {a.acknowledged_by if action == 'acknowledge' else a.resolved_by}")

    @alerts_app.command("ack")
    def alerts_ack(alert_id: str = typer.Argument(...), by: str = typer.Option(..., help="Who acknowledges."),
                   db: Path = typer.Option(DEFAULT_DB, help="SQLite store.")) -> None:
        """Acknowledge a new alert."""
        _act("acknowledge", alert_id, by, db)

    @alerts_app.command("resolve")
    def alerts_resolve(alert_id: str = typer.Argument(...), by: str = typer.Option(..., help="Who resolves."),
                       db: Path = typer.Option(DEFAULT_DB, help="SQLite store.")) -> None:
        """Resolve a new or acknowledged alert."""
        _act("resolve", alert_id, by, db)

    @zones_app.command("check")
    def check(file: Path = typer.Argument(..., help="GeoJSON FeatureCollection of zones.")) -> None:
        """Validate a zone file and show its zones (nothing is stored)."""
        from rich.console import Console

        from lookout.rules import ZoneError, load_zones

        try:
            zones = load_zones(file)
        except ZoneError as exc:
            _fail(str(exc))
        Console().print(_zone_table(zones, f"{file}: {len(zones)} zones"))

    @zones_app.command("load")
    def load(file: Path = typer.Argument(..., help="GeoJSON FeatureCollection of zones."),
             db: Path = typer.Option(DEFAULT_DB, help="SQLite store.")) -> None:
        """Validate a zone file and store its zones (an existing id gets a new version)."""
        from lookout.rules import ZoneError, load_zones

        try:
            zones = load_zones(file)
        except ZoneError as exc:
            _fail(str(exc))
        with _store(db) as st:
            for z in zones:
                before = st.zone(z.id)
                if before is not None:  # a zone made through the API stays its agency's
                    z.agency = before.agency
                saved = st.put_zone(z)
                what = ("new" if before is None else "unchanged" if before.version == saved.version
                        else "new version")
                typer.echo(f"{saved.id}: version {saved.version}, {what} ({saved.kind}, {saved.name})")
        typer.echo(f"{len(zones)} zones stored in {db}")

    @zones_app.command("list")
    def list_(db: Path = typer.Option(DEFAULT_DB, help="SQLite store."),
              kind: str = typer.Option(None, help="Only this kind.")) -> None:
        """The latest version of every zone in the store."""
        from rich.console import Console

        if not db.exists():
            _fail(f"no store at {db}")
        with _store(db) as st:
            zones = st.zones(kind=kind)
        Console().print(_zone_table(zones, f"{db}: {len(zones)} zones"))

    @zones_app.command("export")
    def export(db: Path = typer.Option(DEFAULT_DB, help="SQLite store."),
               out: Path = typer.Option(..., "--out", "-o", help="GeoJSON file to write.")) -> None:
        """Write the store's zones (latest versions) as a GeoJSON file that ``zones load`` reads."""
        from lookout.rules import zones_to_geojson

        if not db.exists():
            _fail(f"no store at {db}")
        with _store(db) as st:
            zones = st.zones()
        out.write_text(json.dumps(zones_to_geojson(zones), indent=1))
        typer.echo(f"{len(zones)} zones written to {out}")

    @zones_app.command("delete")
    def delete(zone_id: str = typer.Argument(...), db: Path = typer.Option(DEFAULT_DB, help="SQLite store.")) -> None:
        """Delete a zone (its versions stay in the store's history)."""
        if not db.exists():
            _fail(f"no store at {db}")
        with _store(db) as st:
            if not st.delete_zone(zone_id):
                _fail(f"no zone {zone_id!r} in {db}")
        typer.echo(f"deleted {zone_id}")

    @rules_app.command("check")
    def rules_check(file: Path = typer.Argument(None, help="Rules YAML file (default: the packaged rules).")) -> None:
        """Validate a rules file (errors name the line) and list its rules."""
        from rich.console import Console
        from rich.table import Table

        from lookout.rules import RulesConfigError, ZoneError, default_zones, load_rules
        from lookout.rules.context import RuleContext
        from lookout.rules.engine import RuleEngine
        from lookout.sector import load_sector

        try:
            cfg = load_rules(file)
            sector = load_sector()
            RuleEngine(cfg, RuleContext(sector, default_zones(sector, cfg)))
        except (RulesConfigError, ZoneError, ValueError) as exc:
            _fail(str(exc))
        t = Table(title=f"{file or 'default rules'}: {len(cfg.rules)} rules")
        for col in ("name", "type", "severity", "classes", "enabled"):
            t.add_column(col)
        for r in cfg.rules:
            t.add_row(r.name, r.type, str(r.severity), ", ".join(map(str, r.classes)) if r.classes else "all",
                      "yes" if r.enabled else "no")
        Console().print(t)

    @rules_app.command("show")
    def rules_show() -> None:
        """Print the packaged default rules file (a starting point for your own)."""
        from importlib import resources

        typer.echo(resources.files("lookout.data").joinpath("rules.yaml").read_text(), nl=False)
