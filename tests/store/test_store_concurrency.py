"""Threads sharing a store, two connections on one SQLite file, connection settings, closing."""

from __future__ import annotations

import threading

import pytest

from lookout.model import GeoPoint, GeoPosition, Observation, Track, Velocity
from lookout.store.sqlite import SQLiteStore

T0 = 1_790_000_000.0


def _batch(writer: int, i: int, n: int = 50) -> list[Observation]:
    return [Observation(time=T0 + i + k / n, source="adsb", sensor=f"adsb-{writer}", ident=f"{writer:02x}{k:04x}",
                        position=GeoPosition(31.3 + k * 1e-4, -110.9 - i * 1e-4, 2000.0), id=f"o-{writer}-{i}-{k}")
            for k in range(n)]


def _run_threads(targets) -> None:
    errors: list[BaseException] = []

    def wrap(fn):
        def run():
            try:
                fn()
            except BaseException as exc:  # noqa: BLE001 - reported by the test below
                errors.append(exc)
        return run

    threads = [threading.Thread(target=wrap(t), daemon=True) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "writer threads did not finish"
    assert not errors, errors


def test_two_threads_write_and_read_one_store(store):
    """The pipeline and the API server share one store object."""
    new_counts = {0: 0, 1: 0}
    reads: list[int] = []

    def writer(w: int):
        def run():
            for i in range(20):
                new_counts[w] += store.write_observations(_batch(w, i))
                store.write_tracks([Track(id=f"t-{w}", time=T0 + i, position=GeoPoint(31.3, -110.9 + i * 1e-3),
                                          velocity=Velocity(1.0, 2.0))])
                if i % 5 == 0:  # redeliver an earlier batch
                    new_counts[w] += store.write_observations(_batch(w, i // 2))
        return run

    def reader():
        for _ in range(20):
            reads.append(len(store.observations(start=T0, end=T0 + 5)))

    _run_threads([writer(0), writer(1), reader])
    assert new_counts == {0: 1000, 1: 1000}
    assert store.count_observations(by="sensor") == {"adsb-0": 1000, "adsb-1": 1000}
    assert [len(store.track_history(f"t-{w}")) for w in (0, 1)] == [20, 20]
    assert all(0 <= n <= 600 for n in reads)


def test_two_sqlite_connections_on_one_file(tmp_path):
    """Two processes (here: two stores in two threads) writing one WAL database."""
    db = tmp_path / "shared.db"
    stores = [SQLiteStore(db), SQLiteStore(db)]
    try:
        def writer(w: int):
            def run():
                for i in range(15):
                    stores[w].write_observations(_batch(w, i, n=40))
                    stores[w].write_observations(_batch(1 - w, i, n=40))  # the other's records too
            return run

        _run_threads([writer(0), writer(1)])
        for s in stores:
            assert s.count_observations(by="sensor") == {"adsb-0": 600, "adsb-1": 600}
    finally:
        for s in stores:
            s.close()


def test_sqlite_connection_settings(tmp_path):
    with SQLiteStore(tmp_path / "s.db") as s:
        assert s._read("PRAGMA journal_mode")[0][0] == "wal"
        assert s._read("PRAGMA synchronous")[0][0] == 1  # NORMAL
        s.write_observations(_batch(0, 0, n=3))
    assert (tmp_path / "s.db").exists()
    with SQLiteStore(tmp_path / "s.db") as s:  # durable across close/open
        assert s.count_observations() == {"adsb": 3}


def test_memory_stores_are_private():
    a, b = SQLiteStore(":memory:"), SQLiteStore(":memory:")
    a.write_observations(_batch(0, 0, n=2))
    assert (a.count_observations(), b.count_observations()) == ({"adsb": 2}, {})
    a.close()
    b.close()


def test_a_closed_store_says_so(store_url):
    from lookout.store import open_store

    s = open_store(store_url)
    s.close()
    s.close()  # closing twice is harmless
    with pytest.raises(ValueError, match="is closed"):
        s.observations()
    with pytest.raises(ValueError, match="is closed"):
        s.write_observations(_batch(0, 0, n=1))


def test_postgres_reconnects_after_losing_its_connection(postgres_module_store):
    import psycopg

    from store.conftest import PG_URL, clear_store

    store = postgres_module_store
    clear_store(store)
    store.write_observations(_batch(0, 0, n=5))
    pid = store._read("SELECT pg_backend_pid()")[0][0]
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    assert store.count_observations() == {"adsb": 5}  # the read is repeated on a new connection
    assert store.write_observations(_batch(0, 1, n=5)) == 5
    assert store._read("SELECT pg_backend_pid()")[0][0] != pid


def test_sqlite_reads_go_on_during_a_write_transaction(tmp_path):
    """A file store reads on its own connection: the API is not held up by a long write."""
    s = SQLiteStore(tmp_path / "rw.db")
    try:
        s.write_observations(_batch(0, 0, n=10))
        inside, release = threading.Event(), threading.Event()
        seen: list[dict] = []

        def slow_writer():
            with s._transaction() as cur:
                cur.execute("INSERT INTO meta (key, value) VALUES ('k', 'v')")
                inside.set()
                release.wait(10)

        def reader():
            inside.wait(10)
            seen.append(s.count_observations())  # would wait for the writer's lock with one connection
            seen.append({"meta": s.get_meta("k")})
            release.set()

        _run_threads([slow_writer, reader])
        assert seen == [{"adsb": 10}, {"meta": None}]  # the uncommitted write is not visible
        assert s.get_meta("k") == "v"
    finally:
        s.close()
