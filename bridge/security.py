"""Who may talk to the worker: CURVE keys for ZeroMQ, the rules for binding beyond loopback, the OSC sender allow-list.

Key folder (`lmdm keys new DIR`, docs/security.md), in zmq.auth's certificate format:

    DIR/server.key            the worker's public key: every client needs it
    DIR/server.key_secret     the worker's secret key: never leaves the worker's machine
    DIR/allowed/NAME.key      public keys of the clients allowed in (the ZAP authenticator reads this folder)
    DIR/clients/NAME/         a client made here: server.key, client.key, client.key_secret; copy it to that machine

A client's folder (`CurveKeys.load`) is what the Python client, `lmdm~ -curve-dir` and the Max bridge's `curvedir` read.
"""
from __future__ import annotations

import ipaddress
import logging
import os
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator

log = logging.getLogger("lmdm.security")

SERVER, CLIENT, ALLOWED, CLIENTS = "server", "client", "allowed", "clients"
NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
Z85_KEY = re.compile(r"^[0-9A-Za-z.\-:+=^!/*?&<>()\[\]{}@%$#]{40}$")
# Pd and Max give `$` and `#` a meaning in boxes and `{}` trouble Pd's GUI: keys made here avoid them so they can be
# typed as creation arguments. Rejection sampling over 84 of 85 Z85 digits costs about 6 of 256 bits.
PATCHER_UNSAFE = set("$#{}")
LOOPBACK_OSC = ("127.0.0.0/8", "::1/128")
EVERYONE = ("0.0.0.0/0", "::/0")
LOG_EVERY_S = 10.0


class SecurityError(ValueError):
    """A set-up that would expose the worker, or keys that cannot be used: one line for the user."""


# --- key files ------------------------------------------------------------------------------------------------------

def _cert(public: bytes, secret: bytes | None) -> str:
    """zmq.auth's certificate text (what zmq.auth.load_certificate reads)."""
    kind = "Secret" if secret else "Public"
    lines = [f"#   ****  Generated on {datetime.now(timezone.utc):%Y-%m-%d %H:%M:%S} by lmdm keys  ****",
             f"#   ZeroMQ CURVE {kind} Certificate", "#   " + ("DO NOT PROVIDE THIS FILE TO OTHER USERS nor change "
             "its permissions." if secret else "Exchange securely, or verify the key after exchange."),
             "", "metadata", "curve", f'    public-key = "{public.decode()}"']
    if secret:
        lines.append(f'    secret-key = "{secret.decode()}"')
    return "\n".join(lines) + "\n"


def _write_pair(folder: Path, name: str, public: bytes, secret: bytes) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.key").write_text(_cert(public, None))
    secret_path = folder / f"{name}.key_secret"
    secret_path.write_text(_cert(public, secret))
    os.chmod(secret_path, 0o600)


def keypair() -> tuple[bytes, bytes]:
    """A CURVE key pair (Z85) whose two keys can be typed into a Pd or Max box."""
    while True:
        public, secret = zmq.curve_keypair()
        if not PATCHER_UNSAFE & set((public + secret).decode()):
            return public, secret


def new_server(folder: str | os.PathLike, force: bool = False) -> Path:
    """Make the worker's key pair in `folder` (and an empty allow-list); refuse to replace one unless `force`."""
    root = Path(folder)
    if (root / f"{SERVER}.key_secret").exists() and not force:
        raise SecurityError(f"{root} already holds a server key pair; a new one locks out every client made for it "
                            "(pass --force to replace it)")
    _write_pair(root, SERVER, *keypair())
    (root / ALLOWED).mkdir(exist_ok=True)
    return root / f"{SERVER}.key"


def new_client(folder: str | os.PathLike, name: str) -> Path:
    """Make a client's folder DIR/clients/NAME (server.key + the client's pair) and allow its public key."""
    root = Path(folder)
    _check_name(name)
    server = root / f"{SERVER}.key"
    if not server.exists():
        raise SecurityError(f"{server} missing: run `lmdm keys new {root}` first")
    out = root / CLIENTS / name
    if out.exists():
        raise SecurityError(f"{out} exists already; delete it (and {root / ALLOWED / name}.key) to make a new one")
    public, secret = keypair()
    _write_pair(out, CLIENT, public, secret)
    (out / f"{SERVER}.key").write_text(server.read_text())
    allow(root, public, name)
    return out


def allow(folder: str | os.PathLike, key: str | bytes, name: str) -> Path:
    """Put a client's public key (Z85) on the allow-list as DIR/allowed/NAME.key."""
    _check_name(name)
    key = key.decode() if isinstance(key, bytes) else key
    if not Z85_KEY.match(key):
        raise SecurityError(f"{key!r} is not a CURVE public key (40 Z85 characters)")
    allowed = Path(folder) / ALLOWED
    allowed.mkdir(parents=True, exist_ok=True)
    path = allowed / f"{name}.key"
    path.write_text(_cert(key.encode(), None))
    return path


def add_client(folder: str | os.PathLike, key: str, name: str | None = None) -> Path:
    """`lmdm keys add`: a certificate file (only its public key is kept) or a Z85 key string; NAME defaults to the
    file's name (a client folder's `client.key`: the folder's name)."""
    path = Path(key)
    if path.is_file():
        public, _ = _load(path)
        name = name or (path.parent.name if path.stem == CLIENT else path.stem)
        return allow(folder, public, name)
    if name is None:
        raise SecurityError(f"{key!r} is not a file; to allow a key given as text, name it with --name")
    return allow(folder, key, name)


def _load(path: Path) -> tuple[bytes, bytes | None]:
    try:
        public, secret = zmq.auth.load_certificate(path)
    except (OSError, ValueError) as exc:
        raise SecurityError(f"cannot read the key file {path}: {exc}") from None
    if public is None:
        raise SecurityError(f"{path} holds no public-key")
    return public, secret


def listing(folder: str | os.PathLike) -> list[tuple[str, str, str]]:
    """(role, name, public key) rows: the server, every allowed client, every client folder made here."""
    root = Path(folder)
    rows = [("server", SERVER, _load(root / f"{SERVER}.key")[0].decode())]
    allowed = {p.stem: _load(p)[0].decode() for p in sorted((root / ALLOWED).glob("*.key"))}
    rows += [("allowed", name, key) for name, key in allowed.items()]
    for d in sorted((root / CLIENTS).glob("*/")):
        key = _load(d / f"{CLIENT}.key")[0].decode()
        rows.append(("client", d.name, key + ("" if key in allowed.values() else "  (NOT allowed)")))
    return rows


def _check_name(name: str) -> None:
    if not NAME.match(name):
        raise SecurityError(f"client name {name!r} must be 1..64 characters of A-Z a-z 0-9 _ -")


@dataclass(frozen=True)
class CurveKeys:
    """What a client needs: the worker's public key and its own pair (Z85)."""

    server_public: bytes
    public: bytes
    secret: bytes

    @classmethod
    def load(cls, folder: str | os.PathLike) -> "CurveKeys":
        """A client folder: server.key and client.key_secret (`lmdm keys new DIR --client NAME` makes one)."""
        root = Path(folder)
        server, _ = _load(root / f"{SERVER}.key")
        public, secret = _load(root / f"{CLIENT}.key_secret")
        if secret is None:
            raise SecurityError(f"{root / CLIENT}.key_secret holds no secret-key")
        return cls(server, public, secret)

    def apply(self, sock: zmq.Socket) -> None:
        """Set on a DEALER before connect()."""
        sock.curve_serverkey, sock.curve_publickey, sock.curve_secretkey = self.server_public, self.public, self.secret


# --- exposure rules -------------------------------------------------------------------------------------------------

def is_loopback(host: str) -> bool:
    """127/8, ::1 and `localhost`; anything else (0.0.0.0, *, an interface name, a LAN address) reaches further."""
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def endpoint_host(endpoint: str) -> str | None:
    """The host a ZeroMQ endpoint binds, or None for transports that stay on this machine (ipc, inproc)."""
    transport, _, rest = endpoint.partition("://")
    if transport in ("ipc", "inproc"):
        return None
    return rest.rpartition(":")[0] or rest


def networks(specs: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    out = []
    for spec in specs:
        try:
            out.append(ipaddress.ip_network(spec, strict=False))
        except ValueError:
            raise SecurityError(f"--osc-allow {spec!r}: expected an address or ADDRESS/MASK such as 192.168.1.0/24")
    return tuple(out)


@dataclass
class Exposure:
    """What `lmdm serve` may open: the OSC allow-list to use and the warnings to print at start."""

    osc_allow: tuple[str, ...]
    warnings: list[str] = field(default_factory=list)


def check_exposure(zmq_endpoint: str, osc_host: str | None, curve_dir: str | None, insecure: bool,
                   osc_allow: tuple[str, ...]) -> Exposure:
    """The rules of docs/security.md; SecurityError (one line) when the set-up needs --curve-keys, --osc-allow or
    --insecure."""
    networks(osc_allow)
    warnings: list[str] = []
    if curve_dir is not None:
        _check_server_dir(Path(curve_dir), warnings)
    host = endpoint_host(zmq_endpoint)
    if host is not None and not is_loopback(host) and curve_dir is None:
        if not insecure:
            raise SecurityError(f"--zmq {zmq_endpoint} is reachable from the network without keys: pass "
                                "--curve-keys DIR (see `lmdm keys`, docs/security.md), or --insecure to accept it")
        warnings.append(f"--insecure: {zmq_endpoint} has no CURVE keys: anyone who can reach it can open sessions, "
                        "change prompts and parameters and read the generated audio")
    if osc_allow:
        return Exposure(tuple(osc_allow), warnings)
    if osc_host is None or is_loopback(osc_host):
        return Exposure(LOOPBACK_OSC, warnings)
    if not insecure:
        raise SecurityError(f"--osc {osc_host} takes OSC from the network and OSC has no keys: name the senders "
                            "with --osc-allow ADDR[/MASK] (repeatable), or pass --insecure to take them from anyone")
    warnings.append(f"--insecure: OSC on {osc_host} takes parameters, prompts and resets from any sender and answers "
                    "them (no --osc-allow)")
    return Exposure(EVERYONE, warnings)


def _check_server_dir(root: Path, warnings: list[str]) -> None:
    for name in (f"{SERVER}.key", f"{SERVER}.key_secret"):
        if not (root / name).is_file():
            raise SecurityError(f"--curve-keys {root}: {name} missing (make the keys with `lmdm keys new {root}`)")
    if _load(root / f"{SERVER}.key_secret")[1] is None:
        raise SecurityError(f"--curve-keys {root}: {SERVER}.key_secret holds no secret-key")
    if not list((root / ALLOWED).glob("*.key")):
        warnings.append(f"no client key in {root / ALLOWED}: every client will be refused "
                        f"(`lmdm keys new {root} --client NAME` or `lmdm keys add {root} FILE`)")


# --- what the worker runs -------------------------------------------------------------------------------------------

class RateLog:
    """At most one log line per `every_s`: a flood of refused peers must not flood the log."""

    def __init__(self, every_s: float = LOG_EVERY_S):
        self.every_s, self.last = every_s, -float("inf")

    def __call__(self, level: int, text: str, *args: Any) -> None:
        now = time.monotonic()
        if now - self.last >= self.every_s:
            self.last = now
            log.log(level, text, *args)


class _ZapLog:
    """The authenticator's logger: its DENIED lines become rate-limited warnings, the rest stays at debug."""

    def __init__(self, location: Path):
        self.location, self.denied, self.rate = location, 0, RateLog()
        self.inner = logging.getLogger("lmdm.security.zap")

    def debug(self, msg: str, *args: Any) -> None:
        if msg.startswith("DENIED") or (args and args[0] == "DENIED"):
            self.denied += 1
            key = args[-1].decode() if args and isinstance(args[-1], bytes) else "?"
            self.rate(logging.WARNING, "refused a client at the CURVE handshake: key %s is not in %s "
                      "(%d refused so far)", key, self.location, self.denied)
        else:
            self.inner.debug(msg, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class Guard:
    """The worker's side: CURVE on the ROUTER (call before bind) and the OSC sender allow-list."""

    def __init__(self, ctx: zmq.Context, router: zmq.Socket, curve_dir: str | None,
                 osc_allow: tuple[str, ...] | None):
        self.auth: ThreadAuthenticator | None = None
        if curve_dir is not None:
            root = Path(curve_dir)
            public, secret = _load(root / f"{SERVER}.key_secret")
            self.auth = ThreadAuthenticator(ctx, log=_ZapLog(root / ALLOWED))
            self.auth.start()
            self.auth.configure_curve(domain="*", location=str(root / ALLOWED))
            router.curve_secretkey, router.curve_publickey, router.curve_server = secret, public, True
            log.info("CURVE on: %d client keys allowed from %s", len(list((root / ALLOWED).glob("*.key"))),
                     root / ALLOWED)
        self.osc_nets = networks(osc_allow if osc_allow is not None else LOOPBACK_OSC)
        self.osc_dropped = 0
        self._rate = RateLog()

    def admit(self, host: str) -> bool:
        """Whether an OSC datagram from `host` is taken; the others are dropped unanswered, counted, logged."""
        try:
            addr = ipaddress.ip_address(host)
            if any(addr in net for net in self.osc_nets):
                return True
        except ValueError:
            pass
        self.osc_dropped += 1
        self._rate(logging.WARNING, "OSC from %s dropped: not in the allow-list (%s); %d dropped so far", host,
                   ", ".join(map(str, self.osc_nets)), self.osc_dropped)
        return False

    def close(self) -> None:
        """Before the context terminates (the authenticator holds a socket in it)."""
        if self.auth is not None:
            self.auth.stop()
            self.auth = None
        if self.osc_dropped:
            log.warning("OSC: %d datagrams from senders outside the allow-list were dropped", self.osc_dropped)
