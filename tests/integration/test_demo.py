"""`lookout demo --no-serve`: the whole flow on the default scenario, into a real SQLite store."""

from typer.testing import CliRunner

from lookout.cli import app
from lookout.store.sqlite import SQLiteStore


def test_demo_runs_end_to_end_and_stores_everything(tmp_path):
    r = CliRunner().invoke(app, ["demo", "--duration", "480", "--no-serve", "--out", str(tmp_path),
                                 "--start", "1793628000"])
    assert r.exit_code == 0, r.output
    assert "Observations by source" in r.output and "Tracks:" in r.output and "Alerts:" in r.output
    with SQLiteStore(tmp_path / "lookout.db") as store:
        counts = store.count_observations("source")
        assert {"adsb", "radar", "camera", "remote_id", "blue_force"} <= set(counts)
        tracks = store.tracks()
        assert len(tracks) >= 5
        srcs = {s for t in tracks for s in t.sources}
        assert {"adsb", "radar", "remote_id"} <= srcs
        # cooperative identities fused with sensor tracks
        assert any("icao24" in t.identities and "radar" in t.sources for t in tracks)
        assert any("remote_id" in t.identities and "radar" in t.sources for t in tracks)
        assert store.track_history(tracks[0].id)
        alerts = store.alerts()
        rules = {a.rule for a in alerts}
        assert "border_crossing" in rules
        assert all(a.message for a in alerts)
