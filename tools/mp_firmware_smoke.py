# Runs under the real MicroPython (tools/mp_vectors.mjs): builds the firmware's App on a
# minimal `machine` stand-in and drives its synchronous paths, so MicroPython-only mistakes
# in firmware/ (not just syntax) fail `make firmware-check`.
import sys

import app
import coin as coin_mod
import config as a_config
import link_codec as lc
import machine  # the stand-in written next to this file by mp_vectors.mjs

a = app.App()
now = 1000
a.on_link_event(lc.LinkUp(1, 2, "host", lc.RESET_HOST, lc.ROLE_HOST), now)
assert a.outbox[0][0] == lc.MSG_STATUS
a.on_message(lc.MSG_COIN_INHIBIT, lc.encode_message(lc.MSG_COIN_INHIBIT, (0,)), now)
assert not a.inhibited
a.on_message(lc.MSG_BUZZER, lc.encode_message(lc.MSG_BUZZER, (lc.BUZZER_ALARM, 0)), now)
a.on_message(lc.MSG_LED, lc.encode_message(lc.MSG_LED, (lc.LED_TRAY_GUIDE, lc.LED_ON)), now)
a.on_message(lc.MSG_SERVICE_MODE, lc.encode_message(lc.MSG_SERVICE_MODE, (0,)), now)
a.on_message(lc.MSG_STATUS_REQUEST, b"", now)
a.on_message(lc.MSG_LED, b"\x01", now)  # malformed: ignored
for t in range(now, now + 600, 5):
    a.buzzer.update(t)
    a.leds.update(t)
assert machine.PWM.last_freq in (2000, 2500)
for t in (now, now + 60, now + 120):
    a.decoder.edge(t)
for result in a.decoder.poll(now + 400, False):
    a._coin_event(result)
coin = [m for m in a.outbox if m[0] == lc.MSG_COIN]
assert lc.decode_message(lc.MSG_COIN, coin[0][1]) == (100, 3, 1), coin
a.on_link_event(lc.LinkDown("timeout", [(lc.MSG_COIN, coin[0][1])]), now + 500)
assert a.inhibited and a.leds.out_of_service and a.outbox[0][0] == lc.MSG_COIN
# a full outbox sheds sensor changes, never coin events nor the STATUS that must precede them
a.outbox = []
a.on_link_event(lc.LinkUp(1, 2, "host", lc.RESET_HOST, lc.ROLE_HOST), now)
while len(a.outbox) < a_config.OUTBOX_MAX:
    a._coin_event((coin_mod.COIN, 100, 3))
a.queue(lc.MSG_TRAY, lc.encode_message(lc.MSG_TRAY, (lc.TRAY_CHANGE, 1)))
assert a.outbox[0][0] == lc.MSG_STATUS and a.outbox[-1][0] == lc.MSG_COIN
print("FIRMWARE", sys.implementation.name, "ok")
