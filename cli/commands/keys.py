"""`bifrost keys gen|list|allow|revoke|research-tls`: CURVE key pairs, the allow-list that
gives each a role, and the research cluster's TLS files."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.output import JSON_HELP, emit_json, literal, print_table, say
from cli.state import state_of

app = typer.Typer(
    help="CURVE keys for hosts and clients, the allow-list, and the research cluster's TLS files.",
    no_args_is_help=True,
)
JsonOption = Annotated[bool, typer.Option("--json", help=JSON_HELP)]
RoleOption = Annotated[
    str, typer.Option("--role", help="viewer (read), trader (+ orders), admin (+ kill, limits).")
]


@app.command("gen")
def gen(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="Key name (a person or a program).")] = None,
    host: Annotated[
        str | None, typer.Option("--host", help="Make host HOST's server key (host-HOST, admin).")
    ] = None,
    role: RoleOption = "viewer",
    json: JsonOption = False,
) -> None:
    """Make a key pair (secret file mode 0600) and allow its public key with a role."""
    from bifrost.bus.keys import KeyStore, host_key_name

    state = state_of(ctx)
    if (name is None) == (host is None):
        raise typer.BadParameter("give a NAME or --host HOST (not both)")
    if host is not None:
        state.config.services_on(host)  # an unknown host is a clear error
        name, role = host_key_name(host), "admin"
    assert name is not None
    store = KeyStore(state.config.keys_dir(state.home))
    pair = store.generate(name, role)
    document = {
        "name": name,
        "role": role,
        "public_key": pair.public.decode("ascii"),
        "public_file": str(store.directory / f"{name}.key"),
        "secret_file": str(store.directory / f"{name}.key_secret"),
    }
    if json:
        emit_json(document)
        return
    # A Z85 key holds '[', ']' and '/': printed as markup, a key like "..[/i+S].." broke it.
    say(f"made [bold]{literal(name)}[/] ({role}) in {literal(store.directory)}")
    say(
        f"  public key  {literal(document['public_key'])}  "
        f"(share {literal(document['public_file'])})"
    )
    say(
        f"  secret key  {literal(document['secret_file'])}  "
        "(mode 0600; never copy it off its machine)"
    )


@app.command("allow")
def allow(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The client's name.")],
    public_key: Annotated[str, typer.Argument(help="Its Z85 public key (40 characters).")],
    role: RoleOption = "viewer",
    json: JsonOption = False,
) -> None:
    """Allow a public key made elsewhere (or change its role).

    Running daemons of this host take it within a second (or at once on SIGHUP): no restart.
    """
    from bifrost.bus.keys import KeyStore

    state = state_of(ctx)
    store = KeyStore(state.config.keys_dir(state.home))
    client = store.allow(name, public_key, role)
    if json:
        emit_json({"name": client.name, "role": client.role, "public_key": client.public_key})
        return
    say(f"allowed [bold]{literal(name)}[/] as {role} in {literal(store.allow_list_path)}")
    say("running daemons of this host admit it from its next connection")


@app.command("revoke")
def revoke(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The client to take off the allow-list.")],
    json: JsonOption = False,
) -> None:
    """Take a client off the allow-list; its key files stay.

    Running daemons of this host refuse it within a second (at once on SIGHUP).
    Its next connection is refused; a connection it holds gets FORBIDDEN.
    """
    from bifrost.bus.keys import KeyStore

    state = state_of(ctx)
    store = KeyStore(state.config.keys_dir(state.home))
    client = store.revoke(name)
    if json:
        emit_json({"name": client.name, "role": client.role, "public_key": client.public_key})
        return
    say(f"revoked [bold]{literal(name)}[/] ({client.role}) in {literal(store.allow_list_path)}")
    say("running daemons of this host refuse it from its next request")


@app.command("list")
def list_keys(ctx: typer.Context, json: JsonOption = False) -> None:
    """Every key in the store and every allowed client, with roles."""
    from bifrost.bus.keys import KeyStore

    state = state_of(ctx)
    store = KeyStore(state.config.keys_dir(state.home))
    roles = {c.name: c for c in store.allowed()}
    names = sorted(set(store.names()) | set(roles))
    keys = [
        {
            "name": name,
            "role": roles[name].role if name in roles else None,
            "allowed": name in roles,
            "has_secret": (store.directory / f"{name}.key_secret").exists(),
            "public_key": store.public_key(name).decode("ascii"),
        }
        for name in names
    ]
    if json:
        emit_json({"keys_dir": str(store.directory), "keys": keys})
        return
    rows = [
        [
            literal(k["name"]),
            k["role"] or "-",
            "yes" if k["has_secret"] else "no",
            literal(k["public_key"]),
        ]
        for k in keys
    ]
    print_table(
        f"keys in {literal(store.directory)}", ["name", "role", "secret", "public key"], rows
    )


@app.command("research-tls")
def research_tls(
    ctx: typer.Context,
    force: Annotated[
        bool, typer.Option("--force", help="Replace existing files (then copy them again).")
    ] = False,
    days: Annotated[
        int | None,
        typer.Option("--days", min=1, help="Days the certificates hold (default: five years)."),
    ] = None,
    json: JsonOption = False,
) -> None:
    """Make the research cluster's TLS files: a CA certificate, and a node certificate and key.

    Dask checks every peer's certificate against the CA but not its host name (distributed
    turns check_hostname off), so the one node certificate is valid on every cluster host:
    copy the three files to the key store of each host that runs the scheduler, a worker or
    a client. The CA's own key is not kept; a new set (--force) replaces all three files.
    Their paths are the research section's tls_cert, tls_key and tls_ca (default: the key
    store).
    """
    from bifrost.research.tls import VALID_DAYS, make_research_tls

    state = state_of(ctx)
    config = state.config
    files = config.research.tls_files(config.keys_dir(state.home), config.path.parent)
    made = make_research_tls(files, force=force, days=days or VALID_DAYS)
    document = {
        "files": {name: str(path) for name, path in made.files.items()},
        "expires": made.expires.isoformat(),
    }
    if json:
        emit_json(document)
        return
    say(f"made the research cluster's TLS files (valid until {made.expires:%Y-%m-%d}):")
    say(f"  CA certificate    {literal(files['tls_ca'])}")
    say(f"  node certificate  {literal(files['tls_cert'])}")
    say(f"  node key          {literal(files['tls_key'])}  (mode 0600)")
    say(
        "copy all three to the key store of every cluster host (scheduler, workers and "
        "clients), keeping the key at mode 0600"
    )
