"""sensors.pd in real Pd: OSC in from a (python-osc) sensor, scaled and smoothed /lmdm/... OSC out."""
from __future__ import annotations

import socket
import time

from pythonosc.osc_message import OscMessage
from pythonosc.udp_client import SimpleUDPClient

from pdrun import PATCHES, finish_pd, free_port, start_pd


def test_sensors_scale_and_smooth(external):
    listen = free_port(socket.SOCK_DGRAM)
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    sink.settimeout(0.05)
    # The patch listens on 8000 and sends to 9000 at load; the test moves both to free ports.
    pd = start_pd(PATCHES / "sensors.pd", sends=(f"lmdm-sensors-in listen {listen}", "lmdm-sensors-out disconnect",
                                                 f"lmdm-sensors-out connect 127.0.0.1 {sink.getsockname()[1]}"))
    sensor = SimpleUDPClient("127.0.0.1", listen)
    got: dict[str, list[float]] = {}
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            sensor.send_message("/sensor/tilt", 0.5)      # -> cfg 1 + 6 * 0.5 = 4
            sensor.send_message("/sensor/light", 2000.0)  # clipped at 1023 -> mix 1
            sensor.send_message("/sensor/shake", 0.5)     # -> feedback 0.45
            end = time.monotonic() + 0.1
            while time.monotonic() < end:
                try:
                    msg = OscMessage(sink.recv(1024))
                except socket.timeout:
                    continue
                got.setdefault(msg.address, []).extend(float(v) for v in msg.params)
            if all(abs(got.get(a, [0])[-1] - v) < 1e-4
                   for a, v in (("/lmdm/cfg", 4.0), ("/lmdm/mix", 1.0), ("/lmdm/feedback", 0.45))):
                break
    finally:
        pd.terminate()
        out = finish_pd(pd, timeout=10)
        sink.close()
    assert set(got) == {"/lmdm/cfg", "/lmdm/mix", "/lmdm/feedback"}, (got.keys(), out)
    assert abs(got["/lmdm/cfg"][-1] - 4.0) < 1e-4 and abs(got["/lmdm/feedback"][-1] - 0.45) < 1e-4, got
    assert abs(got["/lmdm/mix"][-1] - 1.0) < 1e-4 and max(got["/lmdm/mix"]) <= 1.0, got   # 2000 clipped at 1023
    # Smoothed: the values glide there from 0 in steps, never jump past the target.
    cfg = got["/lmdm/cfg"]
    assert len(set(cfg)) > 3 and all(0 <= v <= 4.0 + 1e-4 for v in cfg), cfg
