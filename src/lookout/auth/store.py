"""Agencies, users, roles, API tokens and the audit log, in one SQLite file of their own.

* **Agencies** carry the labels they may receive and their share rules
  (:class:`lookout.share.releasability.Agency`).
* **Users** belong to one agency and have one role: ``viewer`` (read), ``operator`` (read,
  acknowledge/resolve alerts, edit zones) or ``admin`` (everything, including users, tokens,
  agencies and the audit log of their own agency; an admin of an agency that may receive every
  label sees every agency's audit entries).
* **Tokens** are random 256-bit secrets shown once (``lkt_<id>_<secret>``); only a salted
  PBKDF2-SHA256 hash is stored. Passwords (for the web login) are stored as salted scrypt
  hashes. A login returns a session token that expires. A sign-in with an unknown user name
  (or a user without a password, or a disabled one) costs one scrypt check like any other.
* **Every check reads the registry**: a token's user, role, agency, revocation and expiry come
  from the file at each :meth:`AuthStore.authenticate`, so a user disabled, a role changed or a
  token revoked by another process (``lookout users ...``) takes effect on the next request.
  Only the fact that a token's secret matched its stored hash is kept in memory (the PBKDF2
  check is the slow part), keyed by an HMAC under a per-process key.
* **Audit log**: append-only (SQLite triggers refuse UPDATE and DELETE) and hash-chained (each
  entry's SHA-256 covers the previous entry's hash), so :meth:`AuthStore.verify_audit` detects
  an entry changed or removed behind the store's back.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import sqlite3
import threading
import time as _time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from lookout.share.releasability import Agency, ShareRule

ROLES: tuple[str, ...] = ("viewer", "operator", "admin")
_ROLE_RANK = {r: i for i, r in enumerate(ROLES)}
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
TOKEN_RE = re.compile(r"^lkt_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")

PBKDF2_ITERATIONS = 60_000
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
SESSION_TTL_S = 12 * 3600.0
#: most token secrets whose match is remembered (the memory is cleared when full)
VERIFIED_MAX = 10_000
#: sign-in throttling: after this many failures for one user name within the window, further
#: attempts are refused (429) until the window has passed
LOGIN_MAX_FAILURES = 5
LOGIN_WINDOW_S = 300.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS agencies (
    name TEXT PRIMARY KEY, title TEXT NOT NULL DEFAULT '', country TEXT NOT NULL DEFAULT '',
    labels TEXT NOT NULL, rules TEXT NOT NULL DEFAULT '[]', all_labels INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY, agency TEXT NOT NULL REFERENCES agencies(name), role TEXT NOT NULL,
    password TEXT, disabled INTEGER NOT NULL DEFAULT 0, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (
    id TEXT PRIMARY KEY, user TEXT NOT NULL REFERENCES users(name), hash TEXT NOT NULL,
    created REAL NOT NULL, expires REAL, revoked REAL, note TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, time REAL NOT NULL, actor TEXT NOT NULL, agency TEXT NOT NULL,
    action TEXT NOT NULL, object TEXT NOT NULL, outcome TEXT NOT NULL, detail TEXT NOT NULL,
    prev TEXT NOT NULL, hash TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS audit_time ON audit(time);
CREATE INDEX IF NOT EXISTS audit_actor ON audit(actor);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""


class AuthError(Exception):
    """Authentication or authorisation failed; ``status`` is the HTTP status to answer with."""

    def __init__(self, detail: str, status: int = 401) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status


@dataclass(frozen=True)
class Principal:
    """Who is calling: user, role and agency (with its releasability labels and rules)."""

    user: str
    role: str
    agency: Agency
    token_id: str | None = None

    def has_role(self, role: str) -> bool:
        return _ROLE_RANK[self.role] >= _ROLE_RANK[role]


def role_rank(role: str) -> int:
    if role not in _ROLE_RANK:
        raise ValueError(f"role {role!r} is unknown; use one of {list(ROLES)}")
    return _ROLE_RANK[role]


# -- hashing ---------------------------------------------------------------------------------
def hash_secret(secret: str, iterations: int | None = None) -> str:
    iterations = iterations or PBKDF2_ITERATIONS
    salt = secrets.token_bytes(16)
    dk = hashlib.pbkdf2_hmac("sha256", secret.encode(), salt, iterations)
    return f"pbkdf2_sha256${iterations}${salt.hex()}${dk.hex()}"


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    dk = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${dk.hex()}"


def verify_hash(secret: str, stored: str) -> bool:
    """Constant-time check of ``secret`` against a stored ``pbkdf2_sha256$...`` or ``scrypt$...`` hash."""
    parts = stored.split("$")
    try:
        if parts[0] == "pbkdf2_sha256" and len(parts) == 4:
            dk = hashlib.pbkdf2_hmac("sha256", secret.encode(), bytes.fromhex(parts[2]), int(parts[1]))
            return hmac.compare_digest(dk.hex(), parts[3])
        if parts[0] == "scrypt" and len(parts) == 6:
            n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
            dk = hashlib.scrypt(secret.encode(), salt=bytes.fromhex(parts[4]), n=n, r=r, p=p, dklen=32)
            return hmac.compare_digest(dk.hex(), parts[5])
    except (ValueError, OverflowError):
        return False
    return False


@lru_cache(maxsize=256)
def _agency_of(name: str, labels: str, rules: str, title: str, country: str, all_labels: bool) -> Agency:
    """An agency from its registry row (the same row text gives the same, immutable Agency)."""
    return Agency(name=name, labels=frozenset(json.loads(labels)),
                  rules=tuple(ShareRule.from_dict(d) for d in json.loads(rules)), title=title, country=country,
                  all_labels=all_labels)


def _dummy_token_hash() -> str:
    """A stored-token hash no secret matches, with the current parameters: checking a secret
    against it costs what checking a real token costs."""
    return f"pbkdf2_sha256${PBKDF2_ITERATIONS}${'00' * 16}${'00' * 32}"


def _dummy_password_hash() -> str:
    """A password hash no password matches, with the current scrypt parameters."""
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${'00' * 16}${'00' * 32}"


def _check_name(kind: str, name: str) -> str:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise ValueError(f"{kind} name {name!r} is invalid: 1-64 letters, digits, '.', '_', '@' or '-', "
                         "starting with a letter or digit")
    return name


class AuthStore:
    """The access-control registry: agencies, users, tokens and the audit log (SQLite).

    ``path``: a file path, ``sqlite:///path`` or ``:memory:``. Thread-safe (one connection
    behind a lock); the API calls it from its worker threads.
    """

    def __init__(self, path: str | Path = ":memory:") -> None:
        p = str(path)
        if p.startswith("sqlite:///"):
            p = p[len("sqlite:///"):]
        self.path = p
        self._lock = threading.RLock()
        self._db = sqlite3.connect(p, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        if p != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(SCHEMA)
        self._verified: dict[str, str] = {}  # HMAC of a token whose secret matched -> its token id
        self._verified_key = secrets.token_bytes(32)
        self._failures: dict[str, list[float]] = {}

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> AuthStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- agencies --------------------------------------------------------------------------
    def create_agency(self, name: str, labels: list[str] | set[str], rules: list[ShareRule] | None = None,
                      title: str = "", country: str = "", all_labels: bool = False, by: str = "system") -> Agency:
        _check_name("agency", name)
        labels = sorted({str(x).strip() for x in labels if str(x).strip()})
        if not labels and not all_labels:
            raise ValueError(f"agency {name}: give at least one label it may receive (e.g. PUBLIC)")
        ag = Agency(name=name, labels=frozenset(labels), rules=tuple(rules or ()), title=title, country=country,
                    all_labels=all_labels)
        with self._lock:
            try:
                self._db.execute("INSERT INTO agencies VALUES (?,?,?,?,?,?,?)",
                                 (name, title, country, json.dumps(labels), json.dumps([r.to_dict() for r in ag.rules]),
                                  int(all_labels), _time.time()))
            except sqlite3.IntegrityError:
                raise ValueError(f"agency {name!r} exists") from None
            self.audit(by, "-", "agency.create", name, detail=ag.to_dict())
        return ag

    def update_agency(self, name: str, labels: list[str] | None = None, rules: list[ShareRule] | None = None,
                      title: str | None = None, country: str | None = None, by: str = "system") -> Agency:
        """Replace an agency's labels, rules, title or country (``None``: keep it). Raises
        ``KeyError`` for an unknown agency, ``ValueError`` for an invalid result (no label, or a
        rule releasing as a label the agency may not receive)."""
        ag = self.agency(name)
        if ag is None:
            raise KeyError(f"no agency {name!r}")
        if labels is not None:
            labels = sorted({str(x).strip() for x in labels if str(x).strip()})
            if not labels and not ag.all_labels:
                raise ValueError(f"agency {name}: give at least one label it may receive (e.g. PUBLIC)")
        new = Agency(name=name, labels=frozenset(labels) if labels is not None else ag.labels,
                     rules=tuple(rules) if rules is not None else ag.rules,
                     title=title if title is not None else ag.title,
                     country=country if country is not None else ag.country, all_labels=ag.all_labels)
        with self._lock:
            self._db.execute("UPDATE agencies SET labels=?, rules=?, title=?, country=? WHERE name=?",
                             (json.dumps(sorted(new.labels)), json.dumps([r.to_dict() for r in new.rules]),
                              new.title, new.country, name))
            self.audit(by, name, "agency.update", name, detail=new.to_dict())
        return new

    def agency(self, name: str) -> Agency | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM agencies WHERE name=?", (name,)).fetchone()
        return None if row is None else self._agency(row)

    def agencies(self) -> list[Agency]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM agencies ORDER BY name").fetchall()
        return [self._agency(r) for r in rows]

    @staticmethod
    def _agency(row: sqlite3.Row) -> Agency:
        return _agency_of(row["name"], row["labels"], row["rules"], row["title"], row["country"],
                          bool(row["all_labels"]))

    # -- users -----------------------------------------------------------------------------
    def create_user(self, name: str, agency: str, role: str = "viewer", password: str | None = None,
                    by: str = "system") -> dict[str, Any]:
        _check_name("user", name)
        role_rank(role)
        if self.agency(agency) is None:
            raise ValueError(f"no agency {agency!r}; create it first")
        if password is not None and len(password) < 8:
            raise ValueError("a password needs at least 8 characters")
        with self._lock:
            try:
                self._db.execute("INSERT INTO users VALUES (?,?,?,?,0,?)",
                                 (name, agency, role, hash_password(password) if password else None, _time.time()))
            except sqlite3.IntegrityError:
                raise ValueError(f"user {name!r} exists") from None
            self.audit(by, agency, "user.create", name, detail={"role": role, "password": password is not None})
        return self.user(name)  # type: ignore[return-value]

    def user(self, name: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT name, agency, role, disabled, created, password IS NOT NULL AS has_password "
                                   "FROM users WHERE name=?", (name,)).fetchone()
        return None if row is None else dict(row)

    def users(self, agency: str | None = None) -> list[dict[str, Any]]:
        q = "SELECT name, agency, role, disabled, created, password IS NOT NULL AS has_password FROM users"
        args: tuple = ()
        if agency is not None:
            q, args = q + " WHERE agency=?", (agency,)
        with self._lock:
            return [dict(r) for r in self._db.execute(q + " ORDER BY name", args).fetchall()]

    def set_role(self, name: str, role: str, by: str = "system") -> None:
        role_rank(role)
        self._update_user(name, "role", role, "user.role", by, {"role": role})

    def set_password(self, name: str, password: str, by: str = "system") -> None:
        if len(password) < 8:
            raise ValueError("a password needs at least 8 characters")
        self._update_user(name, "password", hash_password(password), "user.password", by, {})

    def disable_user(self, name: str, by: str = "system") -> None:
        self._update_user(name, "disabled", 1, "user.disable", by, {})

    def _update_user(self, name: str, col: str, value: Any, action: str, by: str, detail: dict) -> None:
        u = self.user(name)
        if u is None:
            raise KeyError(f"no user {name!r}")
        with self._lock:
            self._db.execute(f"UPDATE users SET {col}=? WHERE name=?", (value, name))  # col is one of ours
            self.audit(by, u["agency"], action, name, detail=detail)

    # -- tokens ----------------------------------------------------------------------------
    def issue_token(self, user: str, ttl_s: float | None = None, note: str = "", by: str = "system") -> str:
        """A new API token for ``user`` (shown once; only its hash is kept)."""
        u = self.user(user)
        if u is None:
            raise KeyError(f"no user {user!r}")
        if ttl_s is not None and not ttl_s > 0:
            raise ValueError("a token's ttl_s must be > 0 seconds")
        tid = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        now = _time.time()
        with self._lock:
            self._db.execute("INSERT INTO tokens VALUES (?,?,?,?,?,NULL,?)",
                             (tid, user, hash_secret(secret), now, None if ttl_s is None else now + ttl_s, note))
            self.audit(by, u["agency"], "token.issue", f"{user}/{tid}", detail={"ttl_s": ttl_s, "note": note})
        return f"lkt_{tid}_{secret}"

    def revoke_token(self, token_id: str, by: str = "system") -> bool:
        with self._lock:
            row = self._db.execute("SELECT t.user, u.agency FROM tokens t JOIN users u ON u.name=t.user "
                                   "WHERE t.id=? AND t.revoked IS NULL", (token_id,)).fetchone()
            if row is None:
                return False
            self._db.execute("UPDATE tokens SET revoked=? WHERE id=?", (_time.time(), token_id))
            self.audit(by, row["agency"], "token.revoke", f"{row['user']}/{token_id}")
        return True

    def tokens(self, user: str | None = None) -> list[dict[str, Any]]:
        q, args = "SELECT id, user, created, expires, revoked, note FROM tokens", ()
        if user is not None:
            q, args = q + " WHERE user=?", (user,)
        with self._lock:
            return [dict(r) for r in self._db.execute(q + " ORDER BY created", args).fetchall()]

    def authenticate(self, token: str | None, *, where: str = "api", audit_failure: bool = True) -> Principal:
        """The principal a bearer token stands for. Raises :class:`AuthError` (401) naming what is
        wrong: missing, malformed, unknown, wrong secret, revoked, expired, user disabled. Every
        refusal is written to the audit log (``auth.denied``)."""
        try:
            return self._authenticate(token)
        except AuthError as exc:
            if audit_failure:
                tid = None
                m = TOKEN_RE.match(token or "") if isinstance(token, str) else None
                if m:
                    tid = m.group(1)
                self.audit("anonymous", "-", "auth.denied", where, outcome="denied",
                           detail={"reason": exc.detail, "token_id": tid})
            raise

    def _authenticate(self, token: str | None) -> Principal:
        if not token:
            raise AuthError("authentication required: send 'Authorization: Bearer <token>' (WebSocket: ?token=)")
        if not isinstance(token, str) or len(token) > 200:
            raise AuthError("malformed token")
        m = TOKEN_RE.match(token)
        if not m:
            raise AuthError("malformed token: expected lkt_<12 hex>_<43 url-safe characters>")
        tid, secret = m.groups()
        with self._lock:  # the current state, every time: nothing about users or tokens is kept
            row = self._db.execute(
                "SELECT t.user, t.hash, t.expires, t.revoked, u.role, u.disabled, a.* FROM tokens t "
                "JOIN users u ON u.name=t.user JOIN agencies a ON a.name=u.agency WHERE t.id=?", (tid,)).fetchone()
        if row is None:
            verify_hash(secret, _dummy_token_hash())  # the same work as for a known token id
            raise AuthError(f"unknown token {tid}")
        key = hmac.new(self._verified_key, token.encode(), hashlib.sha256).hexdigest()
        if self._verified.get(key) != tid:
            if not verify_hash(secret, row["hash"]):
                raise AuthError(f"token {tid}: wrong secret")
            with self._lock:
                if len(self._verified) >= VERIFIED_MAX:
                    self._verified.clear()
                self._verified[key] = tid
        if row["revoked"] is not None:
            raise AuthError(f"token {tid} was revoked")
        if row["expires"] is not None and row["expires"] < _time.time():
            raise AuthError(f"token {tid} expired")
        if row["disabled"]:
            raise AuthError(f"user {row['user']} is disabled")
        return Principal(user=row["user"], role=row["role"], agency=self._agency(row), token_id=tid)

    def login(self, user: str, password: str, ttl_s: float = SESSION_TTL_S) -> str:
        """Check a password and return a session token (expires after ``ttl_s``). A failure is
        audited and raises :class:`AuthError` without saying whether the user exists, and takes
        the same work (one password hash check) for an unknown user as for a known one."""
        name = str(user)[:64] if user else "anonymous"
        now = _time.monotonic()
        with self._lock:
            recent = [t for t in self._failures.get(name, []) if now - t < LOGIN_WINDOW_S]
            self._failures[name] = recent
            if len(self._failures) > 10_000:  # bounded memory under a spray of names
                self._failures = {k: v for k, v in self._failures.items() if v and now - v[-1] < LOGIN_WINDOW_S}
        if len(recent) >= LOGIN_MAX_FAILURES:
            wait = int(LOGIN_WINDOW_S - (now - recent[0])) + 1
            self.audit(name, "-", "login", "web", outcome="denied",
                       detail={"reason": "throttled", "failures": len(recent)})
            raise AuthError(f"too many failed sign-ins for {name}; try again in {wait} s", status=429)
        with self._lock:
            row = None
            if isinstance(user, str):
                row = self._db.execute("SELECT * FROM users WHERE name=?", (user,)).fetchone()
        # one password check whatever the account: an unknown name, a user without a password
        # and a disabled user take as long as a wrong password (the answer is the same too)
        stored = row["password"] if row is not None and row["password"] else _dummy_password_hash()
        matched = verify_hash(password if isinstance(password, str) else "", stored)
        ok = matched and row is not None and bool(row["password"]) and not row["disabled"]
        if not ok:
            with self._lock:
                self._failures.setdefault(name, []).append(now)
            self.audit(name, row["agency"] if row else "-", "login", "web",
                       outcome="denied", detail={"reason": "wrong user name or password"})
            raise AuthError("wrong user name or password")
        with self._lock:
            self._failures.pop(name, None)
        token = self.issue_token(user, ttl_s=ttl_s, note="web session", by=user)
        self.audit(user, row["agency"], "login", "web")
        return token

    # -- audit -----------------------------------------------------------------------------
    def audit(self, actor: str, agency: str, action: str, obj: str = "", outcome: str = "ok",
              detail: dict[str, Any] | None = None, time: float | None = None) -> int:
        """Append one entry; returns its sequence number."""
        t = _time.time() if time is None else time
        det = json.dumps(detail or {}, sort_keys=True, default=str)
        with self._lock:
            last = self._db.execute("SELECT hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
            prev = last["hash"] if last else ""
            chained = "\x1f".join([prev, repr(t), actor, agency, action, obj, outcome, det])
            h = hashlib.sha256(chained.encode()).hexdigest()
            cur = self._db.execute(
                "INSERT INTO audit (time, actor, agency, action, object, outcome, detail, prev, hash) "
                "VALUES (?,?,?,?,?,?,?,?,?)", (t, actor, agency, action, obj, outcome, det, prev, h))
            return int(cur.lastrowid)

    def audit_entries(self, start: float | None = None, end: float | None = None, actor: str | None = None,
                      agency: str | None = None, action: str | None = None, outcome: str | None = None,
                      limit: int = 1000) -> list[dict[str, Any]]:
        """Entries, oldest first, filtered by time window, actor, agency, action (prefix with a
        trailing ``*``, e.g. ``auth.*``) and outcome."""
        q, args = ["1=1"], []
        for col, val in (("actor", actor), ("agency", agency), ("outcome", outcome)):
            if val is not None:
                q.append(f"{col}=?")
                args.append(val)
        if action is not None:
            if action.endswith("*"):
                q.append("action LIKE ?")
                args.append(action[:-1].replace("%", "").replace("_", "\\_") + "%")
                q[-1] += " ESCAPE '\\'"
            else:
                q.append("action=?")
                args.append(action)
        if start is not None:
            q.append("time>=?")
            args.append(start)
        if end is not None:
            q.append("time<=?")
            args.append(end)
        with self._lock:
            rows = self._db.execute(f"SELECT seq, time, actor, agency, action, object, outcome, detail FROM audit "
                                    f"WHERE {' AND '.join(q)} ORDER BY seq LIMIT ?", (*args, int(limit))).fetchall()
        out = []
        for r in rows:
            d = dict(r)
            d["detail"] = json.loads(d["detail"])
            out.append(d)
        return out

    def verify_audit(self) -> tuple[bool, int, str]:
        """Recompute the hash chain: ``(ok, entries, message)``."""
        prev = ""
        n = 0
        with self._lock:
            rows = self._db.execute("SELECT * FROM audit ORDER BY seq").fetchall()
        for r in rows:
            n += 1
            if r["prev"] != prev:
                return False, n, f"entry {r['seq']}: chain broken (an earlier entry was removed or changed)"
            h = hashlib.sha256("\x1f".join([prev, repr(r["time"]), r["actor"], r["agency"], r["action"], r["object"],
                                            r["outcome"], r["detail"]]).encode()).hexdigest()
            if h != r["hash"]:
                return False, n, f"entry {r['seq']}: contents do not match its hash"
            prev = h
        return True, n, f"{n} entries, chain intact"
