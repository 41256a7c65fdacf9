"""lookout.auth: agencies, users, roles, API tokens and the append-only audit log.

``AuthStore(path)`` is the registry (its own SQLite file); ``create_app(store, auth=AuthStore(...))``
enforces it on every API endpoint, the WebSocket stream and the exports. Releasability itself
(what an agency may receive) lives in :mod:`lookout.share.releasability`.
"""

from lookout.auth.demo import setup_demo_agencies
from lookout.auth.store import ROLES, AuthError, AuthStore, Principal, hash_password, hash_secret, verify_hash

__all__ = ["ROLES", "AuthError", "AuthStore", "Principal", "hash_password", "hash_secret", "setup_demo_agencies",
           "verify_hash"]
