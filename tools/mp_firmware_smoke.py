# Runs under the real MicroPython (tools/mp_vectors.mjs): builds the firmware's App on a
# minimal `machine` stand-in and drives its synchronous paths, so MicroPython-only mistakes
# in firmware/ (not just syntax) fail `make firmware-check`.
import sys

import app
import coin as coin_mod
import config as a_config
import link_catalog as lcat
import link_channel as lch
import machine  # the stand-in written next to this file by mp_vectors.mjs

a = app.App()
now = 1000
a.on_link_event(lch.LinkUp(1, 2, "host", lch.RESET_HOST, lch.ROLE_HOST), now)
assert a.outbox[0][0] == lcat.MSG_STATUS
a.on_message(lcat.MSG_COIN_INHIBIT, lcat.encode_message(lcat.MSG_COIN_INHIBIT, (0,)), now)
assert not a.inhibited
a.on_message(lcat.MSG_BUZZER, lcat.encode_message(lcat.MSG_BUZZER, (lcat.BUZZER_ALARM, 0)), now)
a.on_message(
    lcat.MSG_LED, lcat.encode_message(lcat.MSG_LED, (lcat.LED_TRAY_GUIDE, lcat.LED_ON)), now
)
a.on_message(lcat.MSG_SERVICE_MODE, lcat.encode_message(lcat.MSG_SERVICE_MODE, (0,)), now)
a.on_message(lcat.MSG_STATUS_REQUEST, b"", now)
a.on_message(lcat.MSG_LED, b"\x01", now)  # malformed: ignored
for t in range(now, now + 600, 5):
    a.buzzer.update(t)
    a.leds.update(t)
assert machine.PWM.last_freq in (2000, 2500)
for t in (now, now + 60, now + 120):
    a.decoder.edge(t)
for result in a.decoder.poll(now + 400, False):
    a._coin_event(result)
coin = [m for m in a.outbox if m[0] == lcat.MSG_COIN]
assert lcat.decode_message(lcat.MSG_COIN, coin[0][1]) == (100, 3, 1), coin
a.on_link_event(lch.LinkDown("timeout", [(lcat.MSG_COIN, coin[0][1])]), now + 500)
assert a.inhibited and a.leds.out_of_service and a.outbox[0][0] == lcat.MSG_COIN
# a full outbox sheds sensor changes, never coin events nor the STATUS that must precede them
a.outbox = []
a.on_link_event(lch.LinkUp(1, 2, "host", lch.RESET_HOST, lch.ROLE_HOST), now)
while len(a.outbox) < a_config.OUTBOX_MAX:
    a._coin_event((coin_mod.COIN, 100, 3))
a.queue(lcat.MSG_TRAY, lcat.encode_message(lcat.MSG_TRAY, (lcat.TRAY_CHANGE, 1)))
assert a.outbox[0][0] == lcat.MSG_STATUS and a.outbox[-1][0] == lcat.MSG_COIN
print("FIRMWARE", sys.implementation.name, "ok")
