from __future__ import annotations

import pytest

from lookout.config import ConfigError, load_config


def test_defaults_file_and_env_overrides(tmp_path):
    cfg = load_config(env={})
    assert cfg.bus_url == "memory://" and cfg.store_url == "sqlite:///lookout.db" and cfg.partition.sectors == 1
    f = tmp_path / "lookout.toml"
    f.write_text('bus_url = "nats://127.0.0.1:4222"\nstore_url = "sqlite:///x.db"\n'
                 "[partition]\nsectors = 2\n[worker]\nstep_s = 0.5\n")
    cfg = load_config(f, env={})
    assert (cfg.bus_url, cfg.store_url, cfg.partition.sectors, cfg.worker.step_s) == \
        ("nats://127.0.0.1:4222", "sqlite:///x.db", 2, 0.5)
    env = {"LOOKOUT_CONFIG": str(f), "LOOKOUT_STORE_URL": "postgresql://postgres@127.0.0.1:5432/test",
           "LOOKOUT_BUS_URL": "memory://", "LOOKOUT_SECTORS": "3"}
    cfg = load_config(env=env)
    assert (cfg.bus_url, cfg.store_url, cfg.partition.sectors, cfg.worker.step_s, cfg.source) == \
        ("memory://", "postgresql://postgres@127.0.0.1:5432/test", 3, 0.5, str(f))


@pytest.mark.parametrize("text, match", [
    ("bus = 1\n", "unknown key"),
    ("[partition]\nsectors = 0\n", "partition.sectors"),
    ("[worker]\nstep_s = -1\n", "worker.step_s"),
    ("[worker]\nspeed = 2\n", r"unknown key\(s\) in \[worker\]"),
    ("bus_url = [1]\n", "bus_url must be a string"),
    ("bus_url = \n", "not valid TOML"),
])
def test_bad_files_are_named(tmp_path, text, match):
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(ConfigError, match=match):
        load_config(f, env={})


def test_missing_file_and_bad_env(tmp_path):
    with pytest.raises(ConfigError, match="cannot read configuration file"):
        load_config(tmp_path / "nope.toml", env={})
    with pytest.raises(ConfigError, match="LOOKOUT_SECTORS must be an integer"):
        load_config(env={"LOOKOUT_SECTORS": "two"})
