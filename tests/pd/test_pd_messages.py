"""Every message of lmdm~ against the real worker: parameters are acked, bad ones reported, status dumped."""
from __future__ import annotations

from pdrun import errors_in, recording_patch, reported, run_pd

EVENTS = ((1.0, "prompt warm analog pads"), (1.1, "cfg 3"), (1.2, "steps 8"), (1.3, "param seed 42"),
          (1.4, "mix 0.25"), (1.5, "mode text"), (1.6, "bogus 1"), (1.7, "reset"), (1.8, "bang"),
          (2.0, "disconnect"), (2.3, "connect"), (3.0, "bang"))


def test_messages_against_worker(external, serve, tmp_path):
    block = 32768   # 0.74 s of latency: a loaded machine's scheduling stalls must not show up as underruns here
    worker = serve(block=block)
    patch = recording_patch(tmp_path / "msgs.pd", worker.address, 2.5, tmp_path / "in.wav", tmp_path / "out.wav",
                            events=EVENTS)
    out = run_pd(patch, timeout=30)
    acks = {tuple(line.split(" ", 3)[2:]) for line in out.splitlines() if line.startswith("info: ack ")}
    for name, value in (("prompt", "warm\\ analog\\ pads"), ("cfg", "3"), ("steps", "8"), ("seed", "42"),
                        ("mix", "0.25"), ("mode", "text")):
        assert (name, value) in acks, (name, out)
    assert any(a[0] == "reset" for a in acks), out
    # The one bad parameter is the only error, named in the console and on the info outlet.
    errors = errors_in(out)
    assert all("bogus" in e for e in errors) and len(errors) == 2, out
    assert "error: lmdm~: worker error bad_param: unknown parameter 'bogus'" in out, out
    # disconnect / connect: a second session, in the mode chosen meanwhile, with nothing counted as an underrun.
    # welcome, bang, disconnect, then (welcome and two bangs, in an order that depends on the worker's speed) ending 1
    connected = [c[0] for c in reported(out, "connected")]
    assert connected[:3] == [1.0, 1.0, 0.0] and connected[-1] == 1.0 and len(connected) == 6, out
    assert [line for line in out.splitlines() if line.startswith("info: mode ")][-1] == "info: mode text", out
    assert out.count("lmdm~: connected to") == 2, out
    assert reported(out, "underruns")[-1] == [0.0] and reported(out, "late")[-1] == [0.0], out
    worker_status = reported(out, "worker")
    assert worker_status and len(worker_status[-1]) == 7 and worker_status[-1][-1] == block, out
    # lmdm~ states its play position, so the worker judges lateness too; it can only see less than lmdm~ (the
    # position it knows is older, the answer arrives later), and lmdm~ saw nothing late.
    health = reported(out, "health")
    assert worker_status[-1][3] == 0 and health and health[-1][0] == 0, out
    lead = reported(out, "lead")[-1]   # requests reach latency + 2048 ahead of the clock, never further
    assert lead[3] > 0 and 0 <= lead[0] <= lead[1] <= lead[2] <= block + 2048, out


def test_delete_and_recreate_while_streaming(external, serve, tmp_path):
    """Deleting lmdm~ joins its network thread off the audio path; a new one in its place connects again."""
    worker = serve(block=4096)
    obj = f"lmdm~ 1 1 {worker.address}"
    patch = _changing_patch(tmp_path / "dyn.pd", f"{obj} dyn", 1500,
                            f"pd-sub clear \\; pd-sub obj 10 10 {obj} dyn2 \\; pd-sub obj 10 60 print info "
                            "\\; pd-sub connect 0 1 1 0", 3000)
    out = run_pd(patch, timeout=30)
    assert "pd killed after timeout" not in out, out
    assert not errors_in(out), out
    assert "as 'dyn':" in out and "as 'dyn2':" in out, out
    assert reported(out, "latency") == [[4096.0]], out     # the new object's welcome, on its own info outlet


def test_two_objects_with_one_stream_id_do_not_fight(external, serve, tmp_path):
    """The second lmdm~ to say hello with a stream id takes it over; the first reports `taken_over` and stays off
    instead of taking it back (which would make the two take it from each other for ever)."""
    worker = serve(block=4096)
    obj = f"lmdm~ 1 1 {worker.address} twin"
    patch = _changing_patch(tmp_path / "dup.pd", obj, 1000, f"pd-sub obj 10 60 {obj}", 3500)
    out = run_pd(patch, timeout=30)
    assert "pd killed after timeout" not in out, out
    assert out.count("lmdm~: connected to") == 2, out   # each object once: no tug of war
    assert out.count("was taken over by another connection") == 1, out


def _changing_patch(path, first: str, at_ms: int, change: str, quit_ms: int):
    """A patch with `first` in a subpatch `sub`, DSP on; `change` (messages to pd-sub) at `at_ms`; quit at
    `quit_ms`."""
    path.write_text("\n".join([
        "#N canvas 0 0 600 400 12;",
        "#N canvas 0 0 300 200 sub 0;",
        f"#X obj 10 10 {first};",
        "#X restore 10 150 pd sub;",                               # 0
        "#X obj 10 10 loadbang;",                                  # 1
        "#X msg 10 40 \\; pd dsp 1;",                              # 2
        f"#X obj 10 70 delay {at_ms};",                            # 3
        f"#X msg 10 100 \\; {change};",                            # 4
        f"#X obj 200 70 delay {quit_ms};",                         # 5
        "#X msg 200 100 \\; pd quit;",                             # 6
        "#X connect 1 0 2 0;", "#X connect 1 0 3 0;", "#X connect 3 0 4 0;", "#X connect 1 0 5 0;",
        "#X connect 5 0 6 0;",
    ]) + "\n")
    return path
