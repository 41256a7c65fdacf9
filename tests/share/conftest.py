"""Cheaper hashing parameters for the tests (the tests are about behaviour, not hash strength;
``test_production_hash_parameters`` checks the real ones)."""

import pytest

import lookout.auth.store as auth_store

#: the module's own parameters, before any test changes them
PRODUCTION = {"PBKDF2_ITERATIONS": auth_store.PBKDF2_ITERATIONS, "SCRYPT_N": auth_store.SCRYPT_N}


@pytest.fixture(autouse=True)
def _fast_hashes(monkeypatch):
    monkeypatch.setattr(auth_store, "PBKDF2_ITERATIONS", 1000)
    monkeypatch.setattr(auth_store, "SCRYPT_N", 2**10)
