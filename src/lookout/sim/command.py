"""``lookout sim``: write a scenario's observations, ground truth, events and sensors to files."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import typer


def export_scenario(scenario, out: Path, truth_step_s: float = 1.0) -> dict[str, int]:
    """Write ``observations.jsonl`` (one ``Observation.to_dict()`` per line, time-ordered),
    ``truth.jsonl`` (one object per line: identity and its samples every ``truth_step_s``),
    ``events.json``, ``sensors.json`` and ``agents.json`` into ``out``; returns the counts."""
    import numpy as np

    out.mkdir(parents=True, exist_ok=True)
    n_obs = 0
    with (out / "observations.jsonl").open("w") as f:
        for o in scenario.observations():
            f.write(json.dumps(o.to_dict(), default=str) + "\n")
            n_obs += 1
    frame = scenario.sector.frame
    with (out / "truth.jsonl").open("w") as f:
        for o in scenario.truth:
            t = np.arange(o.start, o.end + 1e-9, truth_step_s)
            p, v, _ = o.sample(t)
            lat, lon, alt = frame.to_geodetic(p[:, 0], p[:, 1], p[:, 2])
            rec = dict(id=o.id, cls=str(o.cls), ident=o.ident, callsign=o.callsign,
                       broadcasts_remote_id=o.broadcasts_remote_id, spoofs_remote_id=o.spoofs_remote_id,
                       label=o.label, operator=asdict(o.operator) if o.operator else None,
                       attrs={k: (list(x) if isinstance(x, tuple) else x) for k, x in o.attrs.items()},
                       samples=[[round(float(a), 3), round(float(b), 7), round(float(c), 7), round(float(d), 1),
                                 round(float(e), 2), round(float(g), 2), round(float(h), 2)]
                                for a, b, c, d, e, g, h in zip(t, lat, lon, alt, v[:, 0], v[:, 1], v[:, 2])],
                       sample_fields=["time", "lat", "lon", "alt_m", "v_east", "v_north", "v_up"])
            f.write(json.dumps(rec) + "\n")

    def enc(x):
        return asdict(x) if hasattr(x, "__dataclass_fields__") else str(x)

    (out / "events.json").write_text(json.dumps([asdict(e) for e in scenario.events], indent=1, default=enc))
    (out / "sensors.json").write_text(json.dumps([asdict(s) for s in scenario.sensors], indent=1, default=enc))
    (out / "agents.json").write_text(json.dumps([asdict(a) for a in scenario.agents], indent=1, default=enc))
    return dict(observations=n_obs, objects=len(scenario.truth), events=len(scenario.events))


def register(app: typer.Typer) -> None:
    @app.command()
    def sim(
        duration: float = typer.Option(600.0, help="Scenario length, seconds of simulated time."),
        seed: int = typer.Option(7, help="Random seed (the scenario is deterministic per seed)."),
        start: float = typer.Option(1793628000.0, help="Start time, UNIX seconds."),
        sector: Path = typer.Option(None, help="Sector GeoJSON (default: the packaged Nogales sector)."),
        out: Path = typer.Option(Path("lookout-sim"), help="Output folder."),
    ) -> None:
        """Generate the default border-sector scenario and write its observations (JSON lines),
        ground truth, scripted events, sensors and agents to OUT."""
        from lookout.sim import Scenario, ScenarioConfig

        try:
            cfg = ScenarioConfig(seed=seed, duration_s=duration, start_time=start,
                                 sector=str(sector) if sector else None)
            sc = Scenario(cfg)
        except (ValueError, OSError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        counts = export_scenario(sc, out)
        typer.echo(f"wrote {counts['observations']} observations of {counts['objects']} objects and "
                   f"{counts['events']} events to {out}/")
