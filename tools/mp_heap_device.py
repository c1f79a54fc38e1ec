# ruff: noqa: UP031  (MicroPython: %-formatting only)
# The device half of the heap check (tools/firmware_heap.py via tools/mp_heap.mjs), run
# under the real MicroPython: the firmware's App on the `machine` stand-in of
# tools/mp_machine.py, one link turn per step(). Each turn starts from a collected heap (the
# WebAssembly port collects only between calls from outside, not within one) and its end is
# sampled before any collection: the peak counts all a turn allocates on top of what lives.
import binascii
import gc

import machine  # the stand-in: built into the real port, so not the firmware's memory

STATS = [0, 0, 0, 0, 0]  # highest at the end of a turn; at the start of one; boot; base; when
FW = {}


def base():
    """The interpreter's and this harness's own heap, before any firmware module."""
    gc.collect()
    STATS[3] = gc.mem_alloc()
    return ""


def boot():
    import app
    import coin
    import ticks

    FW["app"] = app.App()
    FW["coin"] = coin
    FW["t0"] = ticks.now()  # the driver's clock starts at the App's boot
    return ""


def step(now, rx_hex):
    a = FW["app"]
    uart = machine.UART.last
    t = now
    now = (FW["t0"] + now) & 0x3FFFFFFF
    gc.collect()
    live = gc.mem_alloc() - STATS[3]
    if not STATS[2]:
        STATS[2] = live  # after boot
    if rx_hex:
        uart.feed(binascii.unhexlify(rx_hex))
    rx_hex = None
    if hasattr(a, "link_step"):
        a.link_step(now)
    else:
        _old_link_turn(a, uart, now)
    a.buzzer.update(now)
    a.leds.update(now)
    used = gc.mem_alloc() - STATS[3]
    if used > STATS[0]:
        STATS[0] = used
        STATS[4] = t
    if live > STATS[1]:
        STATS[1] = live
    return binascii.hexlify(uart.take()).decode()


def _old_link_turn(a, uart, now):
    """The link task's loop body before link_step existed, to measure old builds alike."""
    ch = a.channel
    events = []
    n = uart.any()
    if n:
        data = uart.read(n)
        if data:
            events = ch.receive(data, now)
    events += ch.tick(now)
    for event in events:
        a.on_link_event(event, now)
    while a.outbox and ch.can_send():
        msg_id, body = a.outbox.pop(0)
        ch.send(msg_id, body, now)
    out = ch.outgoing()
    if out:
        uart.write(out)


def coins(n):
    for _ in range(n):
        FW["app"]._coin_event((FW["coin"].COIN, 100, 3))


def noise(n):
    machine.UART.last.feed(bytes((i * 37 + 11) & 0xFF for i in range(n)))


def mem():
    gc.collect()
    return str(gc.mem_alloc() - STATS[3])


def report():
    return "%d %d %d %d %d" % (STATS[3], STATS[2], STATS[0], STATS[1], STATS[4])
