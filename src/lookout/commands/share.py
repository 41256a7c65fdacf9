"""Sharing and access-control commands: ``lookout cot-out``, ``lookout cot-in``, ``lookout agency ...``,
``lookout users ...``, ``lookout audit``, ``lookout demo-agencies``.

The access-control registry is a SQLite file (``--auth``, default ``$LOOKOUT_AUTH_URL`` or
``lookout-out/auth.db``).
"""

from __future__ import annotations

import os
from pathlib import Path

import typer

from lookout.commands._common import open_store_or_exit

AUTH_OPT = typer.Option(None, "--auth", help="Access-control registry (SQLite file). Default: $LOOKOUT_AUTH_URL "
                                             "or lookout-out/auth.db.")


def _auth_path(path: str | None) -> str:
    return path or os.environ.get("LOOKOUT_AUTH_URL") or str(Path("lookout-out") / "auth.db")


def _open_auth(path: str | None):
    from lookout.auth import AuthStore

    p = _auth_path(path)
    parent = Path(p.removeprefix("sqlite:///")).parent
    parent.mkdir(parents=True, exist_ok=True)
    return AuthStore(p)


def _fail(msg: str) -> None:
    typer.echo(f"error: {msg}", err=True)
    raise typer.Exit(2)


RULE_SYNTAX = "LABEL:RELEASE_AS[:COARSEN_M[:SOURCE+SOURCE]][:KEY=VALUE...]"
RULE_HELP = (f"Share rule {RULE_SYNTAX}, keys mode=position_only|per_source, grid=METRES, "
             "sources=SOURCE+SOURCE, max_age=SECONDS (per_source), alerts=yes|no (position_only). "
             "E.g. US-ONLY:REL-MX:1000:radar or US-ONLY:REL-MX:250:adsb+remote_id:mode=per_source:max_age=10 "
             "(repeatable).")
#: KEY= names -> ShareRule field (``grid`` and ``max_age`` are the documented names)
_RULE_KEYS = {"mode": "mode", "grid": "coarsen_m", "coarsen_m": "coarsen_m", "sources": "sources",
              "max_age": "max_age_s", "max_age_s": "max_age_s", "alerts": "alerts"}
_KEY_NAMES = {"mode": "mode", "coarsen_m": "grid", "sources": "sources", "max_age_s": "max_age", "alerts": "alerts"}
_YES, _NO = {"yes", "true", "1", "on"}, {"no", "false", "0", "off"}


def _parse_rule(text: str):
    """``LABEL:RELEASE_AS[:COARSEN_M[:SOURCE+SOURCE]][:KEY=VALUE...]`` -> ShareRule.

    The positional form is the original one (a ``position_only`` rule); ``KEY=VALUE`` fields
    (``mode``, ``grid``, ``sources``, ``max_age``, ``alerts``) follow it or replace its optional
    parts. ShareRule itself validates the result (e.g. a ``per_source`` rule's sources)."""
    from lookout.model import SourceKind
    from lookout.share.releasability import MODES, ShareRule

    def bad(msg: str) -> ValueError:
        return ValueError(f"share rule {text!r}: {msg}")

    parts = text.split(":")
    if len(parts) < 2 or not parts[0].strip() or not parts[1].strip():
        raise ValueError(f"share rule {text!r} must be {RULE_SYNTAX} (e.g. US-ONLY:REL-MX:1000:radar or "
                         "US-ONLY:REL-MX:250:adsb+remote_id:mode=per_source:max_age=10)")
    raw: dict[str, str] = {}
    positional = ["coarsen_m", "sources"]
    for field in parts[2:]:
        if "=" in field:
            key, _, value = field.partition("=")
            key = key.strip().lower()
            if key not in _RULE_KEYS:
                raise bad(f"unknown key {key!r}; use one of {', '.join(_KEY_NAMES.values())}")
            name = _RULE_KEYS[key]
            positional = []  # only KEY=VALUE fields after a KEY=VALUE field
        else:
            if not positional:
                raise bad(f"field {field!r} needs a KEY= (only COARSEN_M and SOURCES are positional, "
                          "and only before any KEY=VALUE field)")
            name, value = positional.pop(0), field
            if not value.strip():  # an empty positional field keeps the default (US-ONLY:REL-MX::radar)
                continue
        if name in raw:
            raise bad(f"{_KEY_NAMES[name]} given twice")
        raw[name] = value.strip()

    mode = raw.get("mode", "position_only").lower().replace("-", "_")
    if mode not in MODES:
        raise bad(f"mode {raw['mode']!r} is unknown; use {' or '.join(MODES)}")
    kw: dict = {"label": parts[0].strip(), "release_as": parts[1].strip(), "mode": mode}
    for name in ("coarsen_m", "max_age_s"):
        if name in raw:
            try:
                kw[name] = float(raw[name])
            except ValueError:
                raise bad(f"{_KEY_NAMES[name]} {raw[name]!r} is not a number") from None
    if "max_age_s" in kw and mode != "per_source":
        raise bad("max_age applies to per_source rules only (add mode=per_source)")
    if "sources" in raw:
        srcs = frozenset(x.strip().lower() for x in raw["sources"].split("+") if x.strip())
        known = {str(k) for k in SourceKind}
        if srcs - known:
            raise bad(f"unknown source kind(s) {sorted(srcs - known)}; known: {sorted(known)}")
        kw["sources"] = srcs or None
    if "alerts" in raw:
        v = raw["alerts"].lower()
        if v not in _YES | _NO:
            raise bad(f"alerts={raw['alerts']!r}: use yes or no")
        if v in _YES and mode == "per_source":
            raise bad("per_source rules never release alerts (an alert's reasons may be the restricted sensors')")
        kw["alerts"] = v in _YES
    try:
        return ShareRule(**kw)
    except ValueError as exc:
        raise bad(str(exc)) from None


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def _format_rule(r) -> str:
    """A rule in the ``--rule`` syntax (what ``_parse_rule`` reads back to the same rule)."""
    s = f"{r.label}:{r.release_as}:{_num(r.coarsen_m)}"
    if r.sources:
        s += ":" + "+".join(sorted(r.sources))
    s += f":mode={r.mode}"
    if r.mode == "per_source":
        s += f":max_age={_num(r.max_age_s)}"
    elif not r.alerts:
        s += ":alerts=no"
    return s


def _split_labels(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


def _agency_summary(ag) -> str:
    modes = ", ".join(f"{r.mode} {r.label}->{r.release_as}" for r in ag.rules)
    return (f"agency {ag.name}: labels {', '.join(sorted(ag.labels))}; {len(ag.rules)} share rule(s)"
            + (f" ({modes})" if modes else ""))


def register(app: typer.Typer) -> None:
    agency_app = typer.Typer(help="Agencies and the releasability labels they may receive.", no_args_is_help=True)
    users_app = typer.Typer(help="Users, roles (viewer, operator, admin) and API tokens.", no_args_is_help=True)
    app.add_typer(agency_app, name="agency")
    app.add_typer(users_app, name="users")

    @agency_app.command("add")
    def agency_add(
        name: str = typer.Argument(..., help="Agency name, e.g. USBP."),
        labels: str = typer.Option(..., help="Labels it may receive, comma-separated (e.g. PUBLIC,REL-MX)."),
        rule: list[str] = typer.Option([], help=RULE_HELP),
        title: str = typer.Option("", help="Full name."),
        country: str = typer.Option("", help="Country code."),
        auth: str = AUTH_OPT,
    ) -> None:
        """Create an agency."""
        try:
            rules = [_parse_rule(r) for r in rule]
            with _open_auth(auth) as a:
                ag = a.create_agency(name, _split_labels(labels), rules, title=title, country=country, by="cli")
        except ValueError as exc:
            _fail(str(exc))
        typer.echo(_agency_summary(ag))

    @agency_app.command("update")
    def agency_update(
        name: str = typer.Argument(..., help="An existing agency."),
        labels: str = typer.Option(None, help="Replace the labels it may receive (comma-separated)."),
        rule: list[str] = typer.Option([], help="Replace its share rules with these. " + RULE_HELP),
        no_rules: bool = typer.Option(False, "--no-rules", help="Remove all its share rules."),
        title: str = typer.Option(None, help="Replace its full name."),
        country: str = typer.Option(None, help="Replace its country code."),
        auth: str = AUTH_OPT,
    ) -> None:
        """Replace an agency's labels, share rules, title or country (what is not given is kept)."""
        if rule and no_rules:
            _fail("give --rule or --no-rules, not both")
        if labels is None and not rule and not no_rules and title is None and country is None:
            _fail("nothing to change: give --labels, --rule (repeatable), --no-rules, --title or --country")
        try:
            rules = [_parse_rule(r) for r in rule] if rule else ([] if no_rules else None)
            with _open_auth(auth) as a:
                ag = a.update_agency(name, labels=_split_labels(labels) if labels is not None else None,
                                     rules=rules, title=title, country=country, by="cli")
        except KeyError:
            _fail(f"no agency {name!r} in {_auth_path(auth)} (see lookout agency list)")
        except ValueError as exc:
            _fail(str(exc))
        typer.echo(_agency_summary(ag))

    @agency_app.command("list")
    def agency_list(auth: str = AUTH_OPT) -> None:
        """List agencies, their labels and share rules (in the --rule syntax, with their mode)."""
        from rich.console import Console
        from rich.table import Column, Table

        with _open_auth(auth) as a:  # a rule folds onto more lines rather than being cut short
            t = Table("agency", "title", "labels", Column("share rules", overflow="fold"))
            for ag in a.agencies():
                t.add_row(ag.name, ag.title, "all" if ag.all_labels else ", ".join(sorted(ag.labels)),
                          "\n".join(_format_rule(r) for r in ag.rules) or "-")
        Console().print(t)

    @users_app.command("add")
    def users_add(
        name: str = typer.Argument(..., help="User name."),
        agency: str = typer.Option(..., help="The user's agency."),
        role: str = typer.Option("viewer", help="viewer, operator or admin."),
        password: bool = typer.Option(False, "--password", help="Ask for a password (for the web login)."),
        token: bool = typer.Option(True, "--token/--no-token", help="Issue an API token and print it."),
        auth: str = AUTH_OPT,
    ) -> None:
        """Create a user (and print an API token, shown once)."""
        pw = typer.prompt("password", hide_input=True, confirmation_prompt=True) if password else None
        try:
            with _open_auth(auth) as a:
                a.create_user(name, agency, role, password=pw, by="cli")
                tok = a.issue_token(name, by="cli") if token else None
        except ValueError as exc:
            _fail(str(exc))
        typer.echo(f"user {name} ({role}, {agency}) created")
        if tok:
            typer.echo(f"token: {tok}")

    @users_app.command("list")
    def users_list(agency: str = typer.Option(None, help="Only this agency."), auth: str = AUTH_OPT) -> None:
        """List users with their agency, role and tokens."""
        with _open_auth(auth) as a:
            for u in a.users(agency):
                toks = [t for t in a.tokens(u["name"]) if t["revoked"] is None]
                typer.echo(f"{u['name']:24} {u['agency']:10} {u['role']:9} "
                           f"{'disabled' if u['disabled'] else 'active':9} "
                           f"tokens: {', '.join(t['id'] for t in toks) or '-'}")

    @users_app.command("role")
    def users_role(name: str, role: str, auth: str = AUTH_OPT) -> None:
        """Change a user's role."""
        try:
            with _open_auth(auth) as a:
                a.set_role(name, role, by="cli")
        except (KeyError, ValueError) as exc:
            _fail(str(exc).strip("'\""))
        typer.echo(f"user {name}: role {role}")

    @users_app.command("disable")
    def users_disable(name: str, auth: str = AUTH_OPT) -> None:
        """Disable a user (every token stops working)."""
        try:
            with _open_auth(auth) as a:
                a.disable_user(name, by="cli")
        except KeyError as exc:
            _fail(str(exc).strip("'\""))
        typer.echo(f"user {name} disabled")

    @users_app.command("token")
    def users_token(name: str, ttl: float = typer.Option(None, help="Lifetime in seconds (default: no expiry)."),
                    note: str = typer.Option("", help="What the token is for."), auth: str = AUTH_OPT) -> None:
        """Issue an API token for a user (printed once; only its hash is stored)."""
        try:
            with _open_auth(auth) as a:
                typer.echo(a.issue_token(name, ttl_s=ttl, note=note, by="cli"))
        except (KeyError, ValueError) as exc:
            _fail(str(exc).strip("'\""))

    @users_app.command("revoke")
    def users_revoke(token_id: str = typer.Argument(..., help="The token id (the 12 hex digits after lkt_)."),
                     auth: str = AUTH_OPT) -> None:
        """Revoke a token."""
        with _open_auth(auth) as a:
            if not a.revoke_token(token_id, by="cli"):
                _fail(f"no active token {token_id!r}")
        typer.echo(f"token {token_id} revoked")

    @app.command("audit")
    def audit(
        start: str = typer.Option(None, help="From (UNIX seconds or ISO 8601)."),
        end: str = typer.Option(None, help="Until."),
        actor: str = typer.Option(None), agency: str = typer.Option(None),
        action: str = typer.Option(None, help="Action or prefix with * (e.g. 'auth.*', 'export')."),
        outcome: str = typer.Option(None, help="ok, denied, refused or error."),
        limit: int = typer.Option(200, min=1, max=1_000_000),
        verify: bool = typer.Option(False, "--verify", help="Check the hash chain of the whole log."),
        as_json: bool = typer.Option(False, "--json", help="JSON lines."),
        auth: str = AUTH_OPT,
    ) -> None:
        """Query the append-only audit log (who saw, acknowledged, exported or changed what)."""
        import json
        import time as _t

        from lookout.api.params import ApiError, parse_window

        try:
            s, e = parse_window(start, end)
        except ApiError as exc:
            _fail(exc.detail)
        with _open_auth(auth) as a:
            if verify:
                ok, n, msg = a.verify_audit()
                typer.echo(("ok: " if ok else "TAMPERED: ") + msg)
                if not ok:
                    raise typer.Exit(1)
                return
            rows = a.audit_entries(start=s, end=e, actor=actor, agency=agency, action=action, outcome=outcome,
                                   limit=limit)
        for r in rows:
            if as_json:
                typer.echo(json.dumps(r))
            else:
                ts = _t.strftime("%Y-%m-%d %H:%M:%S", _t.gmtime(r["time"]))
                det = json.dumps(r["detail"]) if r["detail"] else ""
                typer.echo(f"{r['seq']:6} {ts} {r['actor']:20} {r['agency']:8} {r['action']:18} {r['outcome']:7} "
                           f"{r['object']} {det}")

    @app.command("demo-agencies")
    def demo_agencies(auth: str = AUTH_OPT) -> None:
        """Create the demo's two agencies (USBP, GN-MX) with an operator each and print their logins."""
        from lookout.auth import setup_demo_agencies

        with _open_auth(auth) as a:
            rows = setup_demo_agencies(a)
        for r in rows:
            typer.echo(f"{r['agency']:6} ({r['title']}) labels {', '.join(r['labels'])}\n"
                       f"       user {r['user']}  password {r['password']}\n       token {r['token']}")

    @app.command("cot-out")
    def cot_out(
        to: str = typer.Option(..., "--to", help="tcp://host:port, tls://host:port or udp://239.2.3.1:6969."),
        store: str = typer.Option(None, "--store", help="Store path or URL (default: $LOOKOUT_STORE_URL or "
                                                        "lookout-out/lookout.db)."),
        agency: str = typer.Option(None, help="Filter for this agency's releasability (needs --auth registry). "
                                               "Without it everything is sent."),
        auth: str = AUTH_OPT,
        cafile: Path = typer.Option(None, help="TLS: CA certificate(s) the server is verified against."),
        cert: Path = typer.Option(None, help="TLS: client certificate (PEM)."),
        key: Path = typer.Option(None, help="TLS: client key (PEM)."),
        no_check_hostname: bool = typer.Option(False, "--no-check-hostname", help="TLS: do not match the server name."),
        protobuf: bool = typer.Option(False, "--protobuf", help="Send TAK Protocol Version 1 (protobuf)."),
        interval: float = typer.Option(1.0, min=0.1, help="Seconds between store polls."),
        stale: float = typer.Option(30.0, min=1.0, help="CoT stale time, seconds after each update."),
        duration: float = typer.Option(None, help="Stop after this many seconds (default: run until Ctrl-C)."),
        since: float = typer.Option(60.0, help="Start with tracks updated in the last this many seconds of the store."),
    ) -> None:
        """Stream the store's live tracks and alerts as Cursor-on-Target to a TAK server or multicast group."""
        import time as _t

        from lookout.share.feed import CotFeed
        from lookout.share.releasability import OPEN
        from lookout.share.transport import CotSender, parse_url, tls_client_context

        try:
            ep = parse_url(to)
        except ValueError as exc:
            _fail(str(exc))
        ctx = None
        if ep.scheme == "tls":
            try:
                ctx = tls_client_context(str(cafile) if cafile else None, str(cert) if cert else None,
                                         str(key) if key else None, check_hostname=not no_check_hostname)
            except (OSError, ValueError) as exc:
                _fail(f"cannot load the TLS certificates: {exc}")
        a = None
        ag = OPEN
        if agency is not None or auth is not None:
            a = _open_auth(auth)
            if agency is not None:
                ag = a.agency(agency)
                if ag is None:
                    _fail(f"no agency {agency!r} in {_auth_path(auth)}")
        st = open_store_or_exit(store)
        sender = CotSender(to, ssl_context=ctx, on_error=lambda m: typer.echo(f"warning: {m}", err=True))
        feed = CotFeed(sender, agency=ag, stale_s=stale, protobuf=protobuf, auth=a)
        typer.echo(f"CoT to {ep} for {ag.name} (labels {', '.join(sorted(ag.labels)) if not ag.all_labels else 'all'})")
        latest = max((t.time for t in st.tracks(limit=None)), default=None)
        cursor = (latest - since) if latest is not None else 0.0
        seen_alerts: dict[str, float] = {}
        t_end = None if duration is None else _t.monotonic() + duration
        try:
            while t_end is None or _t.monotonic() < t_end:
                rows = st.tracks(start=cursor)
                rows = [t for t in rows if t.time > cursor] if cursor else rows
                alerts = [x for x in st.alerts(start=cursor) if seen_alerts.get(x.id) != x.updated]
                for x in alerts:
                    seen_alerts[x.id] = x.updated
                live = [t for t in rows if str(t.status) != "deleted"]
                gone = [t.id for t in rows if str(t.status) == "deleted"]
                if rows:
                    cursor = max(t.time for t in rows)
                feed.publish(cursor, live, gone, alerts)
                _t.sleep(interval)
        except KeyboardInterrupt:
            pass
        finally:
            feed.close()
            st.close()
            typer.echo(f"sent {sender.sent} events ({sender.bytes} bytes), {sender.errors} errors")
            if a is not None:
                a.close()

    @app.command("cot-in")
    def cot_in(
        listen: str = typer.Option("tcp://127.0.0.1:8087", help="tcp://host:port, tls://host:port or udp://group:port."),
        store: str = typer.Option(None, "--store", help="Store path or URL to write the observations to."),
        label: str = typer.Option("REL-MX", help="Releasability label of what comes in."),
        auth: str = AUTH_OPT,
        cafile: Path = typer.Option(None, help="TLS: CA that client certificates must chain to."),
        cert: Path = typer.Option(None, help="TLS: server certificate (PEM)."),
        key: Path = typer.Option(None, help="TLS: server key (PEM)."),
        duration: float = typer.Option(None, help="Stop after this many seconds."),
    ) -> None:
        """Take CoT in from ATAK/TAK (blue-force positions, sighting markers) and store the observations."""
        import time as _t

        from lookout.share.transport import CotListener, parse_url, tls_server_context

        try:
            ep = parse_url(listen)
        except ValueError as exc:
            _fail(str(exc))
        ctx = None
        if ep.scheme == "tls":
            if not (cert and cafile):
                _fail("a tls:// listener needs --cert, --key and --cafile (client certificates are required)")
            try:
                ctx = tls_server_context(str(cert), str(key) if key else None, str(cafile))
            except (OSError, ValueError) as exc:
                _fail(f"cannot load the TLS certificates: {exc}")
        st = open_store_or_exit(store)
        a = _open_auth(auth) if auth else None
        lst = CotListener(listen, st.write_observations, ssl_context=ctx, label=label, auth=a)
        try:
            lst.start()
        except OSError as exc:
            _fail(f"cannot listen on {listen}: {exc}")
        typer.echo(f"CoT in on {ep.scheme}://{ep.host}:{lst.port} -> {store or 'the default store'}")
        t_end = None if duration is None else _t.monotonic() + duration
        try:
            while t_end is None or _t.monotonic() < t_end:
                _t.sleep(0.2)
        except KeyboardInterrupt:
            pass
        finally:
            lst.stop()
            typer.echo(f"accepted {lst.accepted} observations, refused {lst.refused}")
            st.close()
            if a is not None:
                a.close()
