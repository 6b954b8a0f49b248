"""docs/security.md against a real `lmdm serve`: CURVE keys from `lmdm keys`, refused network binds, OSC allow-list."""
from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import zmq
import zmq.auth

from bridge import osc
from bridge.client import Client
from bridge.security import CurveKeys
LMDM = str(Path(sys.executable).with_name("lmdm"))
pytestmark = pytest.mark.skipif(not zmq.has("curve"), reason="this libzmq has no CURVE")


def lmdm(*args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([LMDM, *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def keydir(tmp_path_factory) -> Path:
    """A key folder made by the real CLI: the server pair and one client, `studio`."""
    root = tmp_path_factory.mktemp("keys") / "keys"
    for args in (("new", str(root)), ("new", str(root), "--client", "studio")):
        done = lmdm("keys", *args)
        assert done.returncode == 0, done.stderr
    return root


def test_keys_write_files_zmq_auth_loads(keydir, tmp_path):
    server_pub, server_sec = zmq.auth.load_certificate(keydir / "server.key_secret")
    assert zmq.auth.load_certificate(keydir / "server.key") == (server_pub, None)
    assert zmq.curve_public(server_sec) == server_pub, "server.key_secret holds a matching pair"
    client = keydir / "clients" / "studio"
    pub, sec = zmq.auth.load_certificate(client / "client.key_secret")
    assert zmq.curve_public(sec) == pub
    assert zmq.auth.load_certificate(client / "server.key")[0] == server_pub
    assert pub in zmq.auth.load_certificates(keydir / "allowed"), "the client's key is on the allow-list"
    for secret in (keydir / "server.key_secret", client / "client.key_secret"):
        assert secret.stat().st_mode & 0o077 == 0, f"{secret} is readable by others"
    # a key made elsewhere, added by file and by text
    other_pub, _ = zmq.auth.create_certificates(tmp_path, "mixer")
    assert lmdm("keys", "add", str(keydir), other_pub).returncode == 0
    text_pub, _ = zmq.curve_keypair()
    assert lmdm("keys", "add", str(keydir), text_pub.decode(), "--name", "phone").returncode == 0
    allowed = zmq.auth.load_certificates(keydir / "allowed")
    assert zmq.auth.load_certificate(other_pub)[0] in allowed and text_pub in allowed
    listed = lmdm("keys", "list", str(keydir)).stdout
    assert server_pub.decode() in listed and "mixer" in listed and "phone" in listed
    # refusals: a second server pair without --force, a key that is not one
    again = lmdm("keys", "new", str(keydir))
    assert again.returncode != 0 and "--force" in again.stderr
    bad = lmdm("keys", "add", str(keydir), "not-a-key", "--name", "x")
    assert bad.returncode != 0 and "not a CURVE public key" in bad.stderr


def test_allowed_key_streams_unknown_and_plain_clients_get_no_session(start_worker, keydir):
    curve_worker = start_worker("--model", "loopback", "--curve-keys", str(keydir), "--client-timeout", "2")
    address = curve_worker.address
    keys = CurveKeys.load(keydir / "clients" / "studio")
    x = np.random.default_rng(3).uniform(-1, 1, (24000, 2)).astype(np.float32)
    with Client(address, stream="allowed", rate=48000, channels=2, curve=keys) as good:
        assert np.array_equal(good.stream_array(x)[4096:], x[:-4096])
        stranger_pub, stranger_sec = zmq.curve_keypair()
        stranger = CurveKeys(keys.server_public, stranger_pub, stranger_sec)
        for who, curve in (("unknown key", stranger), ("no CURVE", None)):
            c = Client(address, stream="intruder", rate=48000, channels=2, curve=curve, timeout=3)
            with pytest.raises(TimeoutError):
                c.connect()
            c.close()
        # the allowed client is still served, on the same session
        assert np.array_equal(good.stream_array(x, start=len(x))[4096:], x[:-4096])
        assert good.status().stream == "allowed"
    assert curve_worker.wait_log("refused a client at the CURVE handshake: key " + stranger_pub.decode())


def test_network_bind_without_keys_refuses_to_start(keydir):
    for args, hint in ((("--zmq", "tcp://0.0.0.0:5555"), "--curve-keys"), (("--osc", "0.0.0.0:0"), "--osc-allow"),
                       (("--zmq", "tcp://0.0.0.0:5555", "--curve-keys", str(keydir), "--osc", "0.0.0.0:0"),
                        "--osc-allow")):
        done = lmdm("serve", "--model", "loopback", "--osc-reply", "none", *args)
        assert done.returncode != 0, f"{args} started: {done.stdout}"
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error:"), done.stderr
        assert hint in lines[0] and "--insecure" in lines[0], lines[0]
        assert not done.stdout, "nothing was bound"


def test_insecure_network_bind_starts_and_warns(start_worker):
    w = start_worker("--model", "loopback", "--zmq", "tcp://0.0.0.0:0", "--insecure")
    assert w.wait_log("WARNING: --insecure: tcp://0.0.0.0:0 has no CURVE keys: anyone")
    port = w.address.rpartition(":")[2]
    with Client(f"tcp://127.0.0.1:{port}", stream="open", rate=44100, channels=1) as c:
        assert c.welcome.latency == 4096


def test_osc_from_a_sender_outside_the_allow_list_is_dropped_and_counted(start_worker, osc_inbox):
    inbox = osc_inbox
    w = start_worker("--model", "loopback", "--osc-allow", "127.0.0.1/32", osc_reply=inbox.port)
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as other, \
                socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as mine, \
                Client(w.address, stream="osc", rate=48000, channels=1) as c:
            other.bind(("127.0.0.2", 0))   # all of 127/8 is loopback on Linux: a second sender on this machine
            mine.bind(("127.0.0.1", 0))
            other.settimeout(0.5)
            for _ in range(4):
                other.sendto(osc.message("/lmdm/ping", []), ("127.0.0.1", w.osc_port))
            other.sendto(osc.message("/lmdm/gain", [0.5]), ("127.0.0.1", w.osc_port))
            with pytest.raises(TimeoutError):
                inbox.recv(timeout=1.0)
            with pytest.raises(TimeoutError):
                other.recvfrom(65536)          # never answered, neither there nor at the reply address
            mine.sendto(osc.message("/lmdm/gain", [0.25]), ("127.0.0.1", w.osc_port))
            assert inbox.until("/lmdm/ack")[1] == ["*", "gain", 0.25]
            assert c.status().params["gain"] == 0.25, "the allowed sender's value, not the dropped 0.5"
        assert w.wait_log("OSC from 127.0.0.2 dropped: not in the allow-list (127.0.0.1/32)")
    finally:
        w.stop()
        w._t.join(5)   # the log until the worker's exit
    assert any("OSC: 5 datagrams from senders outside the allow-list were dropped" in line for line in w.log), w.log


@pytest.mark.parametrize("zmq_at, osc_at, args, taken", [
    ("tcp://127.0.0.1:5555", "127.0.0.1", {}, ("127.0.0.0/8", "::1/128")),
    ("tcp://[::1]:5555", None, {}, ("127.0.0.0/8", "::1/128")),
    ("tcp://localhost:5555", "127.0.0.1", {"osc_allow": ("10.0.0.0/8",)}, ("10.0.0.0/8",)),
    ("ipc:///tmp/lmdm.sock", "0.0.0.0", {"osc_allow": ("192.168.1.7",)}, ("192.168.1.7",)),
    ("tcp://*:5555", "0.0.0.0", {"insecure": True}, ("0.0.0.0/0", "::/0")),
    ("tcp://eth0:5555", None, {"insecure": True}, ("127.0.0.0/8", "::1/128")),
])
def test_exposure_rules(zmq_at, osc_at, args, taken):
    from bridge.security import check_exposure

    got = check_exposure(zmq_at, osc_at, None, args.get("insecure", False), args.get("osc_allow", ()))
    assert got.osc_allow == taken
    assert bool(got.warnings) == args.get("insecure", False)


@pytest.mark.parametrize("zmq_at, osc_at, allow, said", [
    ("tcp://*:5555", None, (), "--curve-keys"),
    ("tcp://[::]:5555", None, (), "--curve-keys"),
    ("tcp://192.168.1.2:5555", None, (), "--curve-keys"),
    ("tcp://127.0.0.1:5555", "192.168.1.2", (), "--osc-allow"),
    ("tcp://127.0.0.1:5555", None, ("300.1.1.1/8",), "expected an address"),
])
def test_exposure_refusals(zmq_at, osc_at, allow, said):
    from bridge.security import SecurityError, check_exposure

    with pytest.raises(SecurityError, match=said):
        check_exposure(zmq_at, osc_at, None, False, allow)
