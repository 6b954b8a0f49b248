"""lmdm~ with CURVE keys against a real `lmdm serve --curve-keys`: the right keys stream the input back exactly, a
key that is not on the worker's allow-list gets nothing and says so, and a `curve` message with the right keys
reconnects."""
from __future__ import annotations

import numpy as np
import soundfile as sf
import zmq

from bridge import security
from pdrun import dropouts, errors_in, recording_patch, reported, run_pd

BLOCK = 32768   # latency with room for a loaded two-core machine, as in test_pd_loopback.py
RATE = 44100


def keys(tmp_path):
    root = tmp_path / "keys"
    security.new_server(root)
    return root, security.new_client(root, "pd")


def recorded(tmp_path):
    x, rate = sf.read(tmp_path / "in.wav", dtype="float32")
    y, _ = sf.read(tmp_path / "out.wav", dtype="float32")
    assert rate == RATE
    return x, y


def test_right_keys_from_a_client_folder_stream(external, serve, tmp_path):
    root, client = keys(tmp_path)
    worker = serve(block=BLOCK, args=("--curve-keys", str(root)))
    # lmdm~'s flags may stand anywhere among its arguments: `-curve-dir DIR` rides along with the address
    patch = recording_patch(tmp_path / "curve.pd", f"{worker.address} -curve-dir {client}", 6.0,
                            tmp_path / "in.wav", tmp_path / "out.wav", events=((7.0, "bang"),))
    out = run_pd(patch, timeout=30)
    assert not errors_in(out), out
    assert reported(out, "latency")[-1][0] == BLOCK, out
    assert reported(out, "curve")[-1][0] == 1, out
    x, y = recorded(tmp_path)
    live = np.flatnonzero(y)
    assert live.size, f"no output with the right keys\n{out}\n{worker.output()}"
    start = max(int(live[0]), BLOCK)
    assert not dropouts(y, x, start, BLOCK), out
    assert len(y) - start >= 3 * RATE


def test_unknown_key_gets_nothing_and_a_curve_message_reconnects(external, serve, tmp_path):
    root, client = keys(tmp_path)
    worker = serve(block=BLOCK, args=("--curve-keys", str(root)))
    server = zmq.auth.load_certificate(root / "server.key")[0].decode()
    public, secret = security.keypair()   # a pair the worker never allowed
    change_at = 4.0                       # seconds after load; recording runs from 1.5 s to 9.5 s
    patch = recording_patch(tmp_path / "wrong.pd",
                            f"{worker.address} -curve {server} {public.decode()} {secret.decode()}", 8.0,
                            tmp_path / "in.wav", tmp_path / "out.wav", events=((change_at, f"curve {client}"),))
    out = run_pd(patch, timeout=30)
    assert "the worker refused this lmdm~'s CURVE key: it is not on the worker's allow-list" in out, out
    assert "info: error auth the\\ worker\\ refused" in out, out   # one symbol: Pd's print escapes its spaces
    x, y = recorded(tmp_path)
    refused = int((change_at - 1.5) * RATE)
    assert not np.any(y[:refused]), "audio came back while the key was refused"
    start = int((change_at - 1.5 + 2.0) * RATE)   # reconnected and one latency later
    assert np.any(y[start:]), f"no output after the curve message\n{out}"
    assert not dropouts(y, x, start, BLOCK), out
    assert "refused a client at the CURVE handshake: key " + public.decode() in worker.output()


def test_no_keys_against_a_curve_worker_is_told_what_is_missing(external, serve, tmp_path):
    root, _ = keys(tmp_path)
    worker = serve(block=BLOCK, args=("--curve-keys", str(root)))
    patch = recording_patch(tmp_path / "plain.pd", worker.address, 2.0, tmp_path / "in.wav", tmp_path / "out.wav")
    out = run_pd(patch, timeout=20)
    assert "the worker requires CURVE keys (lmdm serve --curve-keys?): give lmdm~ -curve-dir" in out, out
    assert "info: connected 1" not in out, out
    _, y = recorded(tmp_path)
    assert not np.any(y), "audio came back without keys"
