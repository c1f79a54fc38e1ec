"""The coprocessor application: asyncio tasks for the host link, coin pulses, switches,
buzzer and LEDs, and a supervisor that feeds the watchdog only while every task is alive."""

import asyncio
import os
import struct

import board
import buzzer
import coin
import config
import leds
import link_catalog as lcat
import link_channel as lch
import machine
import switches
import ticks
from machine import PWM, UART, Pin

# the rp2 port defines PWRON_RESET and WDT_RESET; other causes are not on every port
_CAUSES = {
    machine.PWRON_RESET: lch.RESET_POWER_ON,
    machine.WDT_RESET: lch.RESET_WATCHDOG,
    getattr(machine, "SOFT_RESET", -1): lch.RESET_SOFT,
}


def rand32() -> int:
    """32 random bits: the RP2040's ring-oscillator entropy via os.urandom where the port
    has it, else the seeded PRNG (good enough for a session epoch, never for secrets)."""
    if hasattr(os, "urandom"):
        return int(struct.unpack("<I", os.urandom(4))[0])
    import random

    return random.getrandbits(32)


class App:
    def __init__(self) -> None:
        now = ticks.now()
        self.boot_ms = now
        self.boot_id = rand32()
        self.reset_cause = _CAUSES.get(machine.reset_cause(), lch.RESET_OTHER)
        self.uart = UART(
            board.LINK_UART_ID,
            baudrate=config.LINK_BAUD,
            tx=Pin(board.LINK_TX),
            rx=Pin(board.LINK_RX),
            rxbuf=config.LINK_RXBUF,
            txbuf=config.LINK_TXBUF,
        )
        self.channel = lch.Channel(
            lch.ROLE_DEVICE,
            config.FW_VERSION,
            now,
            self.reset_cause,
            catalog_hash=lcat.CATALOG_HASH,
            rand32=rand32,
        )
        self.inhibit_pin = Pin(board.COIN_INHIBIT, Pin.OUT)
        self.inhibited = True
        self.lock_pins = (Pin(board.CCTALK_INHIBIT, Pin.OUT), Pin(board.BILL_INHIBIT, Pin.OUT))
        self.acceptors_locked = True
        self.pulse_pin = Pin(board.COIN_PULSE, Pin.IN, Pin.PULL_UP)
        self.decoder = coin.PulseDecoder(config.COIN_PULSES)
        self.coin_counter = 0
        edge = Pin.IRQ_FALLING if board.COIN_PULSE_ACTIVE == 0 else Pin.IRQ_RISING
        self.pulse_pin.irq(self._on_pulse_edge, edge)
        self.inputs: list[tuple[Pin, switches.Debounced, int, int]] = []
        for pin_no, active, kind, which in (
            (board.TRAY_CERT, board.TRAY_PRESENT, lcat.MSG_TRAY, lcat.TRAY_CERTIFICATE),
            (board.TRAY_CHANGE, board.TRAY_PRESENT, lcat.MSG_TRAY, lcat.TRAY_CHANGE),
            (board.DOOR, board.DOOR_OPEN, lcat.MSG_DOOR, 0),
        ):
            pin = Pin(pin_no, Pin.IN, Pin.PULL_UP)
            state = 1 if pin.value() == active else 0
            self.inputs.append(
                (pin, switches.Debounced(state, config.SWITCH_DEBOUNCE_MS), kind, which)
            )
        self.buzzer = buzzer.Buzzer(PWM(Pin(board.BUZZER)))
        self.leds = leds.Leds(
            [
                Pin(board.LED_CARD, Pin.OUT),
                Pin(board.LED_TRAY, Pin.OUT),
                Pin(board.LED_CHANGE, Pin.OUT),
            ],
            Pin(board.LED_STATUS, Pin.OUT),
        )
        self.outbox: list[tuple[int, bytes]] = []  # coin events wait here, never dropped
        self.alive = {"link": now, "inputs": now, "outputs": now}
        self.safe_state()

    # -- outputs ------------------------------------------------------------------------
    def set_inhibit(self, on: bool) -> None:
        self.inhibited = on
        level = board.COIN_INHIBIT_ON if on else 1 - board.COIN_INHIBIT_ON
        self.inhibit_pin.value(level)

    def lock_acceptors(self, on: bool) -> None:
        self.acceptors_locked = on
        level = board.ACCEPTOR_LOCK_ON if on else 1 - board.ACCEPTOR_LOCK_ON
        for pin in self.lock_pins:
            pin.value(level)

    def safe_state(self) -> None:
        """Host link lost: refuse coins and bills on every acceptor, silence the buzzer,
        show out of service."""
        self.set_inhibit(True)
        self.lock_acceptors(True)
        self.buzzer.play(buzzer.OFF, 0, ticks.now())
        self.leds.safe()

    # -- inputs -------------------------------------------------------------------------
    def _on_pulse_edge(self, pin: Pin) -> None:
        self.decoder.edge(ticks.now())

    def _coin_event(self, result: tuple[int, int, int]) -> None:
        self.coin_counter = (self.coin_counter + 1) & 0xFFFF
        kind, value, pulses = result
        if kind == coin.COIN:
            body = lcat.encode_message(lcat.MSG_COIN, (value, pulses, self.coin_counter))
            self.queue(lcat.MSG_COIN, body)
        else:
            body = lcat.encode_message(lcat.MSG_COIN_REJECTED, (value, pulses, self.coin_counter))
            self.queue(lcat.MSG_COIN_REJECTED, body)

    def queue(self, msg_id: int, body: bytes) -> None:
        kept = (lcat.MSG_COIN, lcat.MSG_COIN_REJECTED, lcat.MSG_STATUS)
        if len(self.outbox) >= config.OUTBOX_MAX:
            # sensor changes can go (STATUS re-sends them in full); coin events never do:
            # the inhibit line, asserted while the link is down, bounds how many can come.
            # Nor does STATUS: it carries the boot_id the host needs before any coin event.
            for i in range(len(self.outbox)):
                if self.outbox[i][0] not in kept:
                    del self.outbox[i]
                    break
            else:
                if msg_id not in kept:
                    return
        self.outbox.append((msg_id, body))

    def status_body(self, now: int) -> bytes:
        states = [s[1].state for s in self.inputs]
        return lcat.encode_message(
            lcat.MSG_STATUS,
            (
                1 if self.inhibited else 0,
                states[2],
                states[0],
                states[1],
                self.buzzer.pattern,
                self.leds.modes[0],
                self.leds.modes[1],
                self.leds.modes[2],
                1 if self.leds.out_of_service else 0,
                self.reset_cause,
                self.coin_counter,
                lch.ticks_diff(now, self.boot_ms) // 1000,
                self.boot_id,
            ),
        )

    # -- link ---------------------------------------------------------------------------
    def on_message(self, msg_id: int, body: bytes, now: int) -> None:
        try:
            values = lcat.decode_message(msg_id, body)
        except lcat.MessageError:
            return  # the catalog hash matched, so this is a host bug: ignore, never crash
        if msg_id == lcat.MSG_COIN_INHIBIT:
            self.set_inhibit(values[0] != 0)
        elif msg_id == lcat.MSG_BUZZER:
            self.buzzer.play(values[0], values[1], now)
        elif msg_id == lcat.MSG_LED:
            self.leds.set(values[0], values[1])
        elif msg_id == lcat.MSG_SERVICE_MODE:
            if values[0]:
                self.leds.safe()
            else:
                self.leds.out_of_service = False
        elif msg_id == lcat.MSG_STATUS_REQUEST:
            self.queue(lcat.MSG_STATUS, self.status_body(now))

    def on_link_event(self, event: object, now: int) -> None:
        if isinstance(event, lch.Received):
            self.on_message(event.msg_id, event.body, now)
        elif isinstance(event, lch.LinkUp):
            # the host learns the whole state first, then the coin events that waited
            self.outbox.insert(0, (lcat.MSG_STATUS, self.status_body(now)))
            self.lock_acceptors(False)  # a host is there: it inhibits them by protocol
        elif isinstance(event, lch.LinkDown):
            self.safe_state()
            resend = [m for m in event.unacked if m[0] in (lcat.MSG_COIN, lcat.MSG_COIN_REJECTED)]
            self.outbox = resend + [m for m in self.outbox if m[0] != lcat.MSG_STATUS]

    def link_step(self, now: int) -> None:
        """One turn of the link: read what arrived, run the channel, send what it made."""
        uart = self.uart
        ch = self.channel
        # one bounded read a turn: a full UART buffer (of noise, say) never needs one
        # allocation of its size, and a turn's garbage stays small; at LINK_READ_MAX bytes
        # every LINK_POLL_MS the task still drains the line several times faster than it fills
        n = uart.any()
        if n:
            data = uart.read(min(n, config.LINK_READ_MAX))
            if data:
                for event in ch.receive(data, now):
                    self.on_link_event(event, now)
            data = None
        for event in ch.tick(now):
            self.on_link_event(event, now)
        while self.outbox and ch.can_send():
            msg_id, body = self.outbox.pop(0)
            ch.send(msg_id, body, now)
        out = ch.outgoing()
        if out:
            uart.write(out)

    async def link_task(self) -> None:
        while True:
            now = ticks.now()
            self.link_step(now)
            self.alive["link"] = now
            await asyncio.sleep_ms(config.LINK_POLL_MS)

    async def inputs_task(self) -> None:
        while True:
            now = ticks.now()
            pulse_active = self.pulse_pin.value() == board.COIN_PULSE_ACTIVE
            for result in self.decoder.poll(now, pulse_active):
                self._coin_event(result)
            for pin, deb, kind, which in self.inputs:
                active = board.DOOR_OPEN if kind == lcat.MSG_DOOR else board.TRAY_PRESENT
                if deb.sample(1 if pin.value() == active else 0, now) and self.channel.up:
                    if kind == lcat.MSG_DOOR:
                        self.queue(kind, lcat.encode_message(kind, (deb.state,)))
                    else:
                        self.queue(kind, lcat.encode_message(kind, (which, deb.state)))
            self.alive["inputs"] = now
            await asyncio.sleep_ms(config.SWITCH_POLL_MS)

    async def outputs_task(self) -> None:
        while True:
            now = ticks.now()
            self.buzzer.update(now)
            self.leds.update(now)
            self.alive["outputs"] = now
            await asyncio.sleep_ms(5)

    async def supervisor(self) -> None:
        wdt = machine.WDT(timeout=config.WDT_TIMEOUT_MS)
        while True:
            now = ticks.now()
            healthy = True
            for t in self.alive.values():
                if lch.ticks_diff(now, t) > config.STALL_LIMIT_MS:
                    healthy = False
            if healthy:
                wdt.feed()
            await asyncio.sleep_ms(config.HEALTH_MS)


async def main() -> None:
    app = App()
    tasks = [
        asyncio.create_task(app.link_task()),
        asyncio.create_task(app.inputs_task()),
        asyncio.create_task(app.outputs_task()),
    ]
    await app.supervisor()
    for task in tasks:
        task.cancel()


def run() -> None:
    asyncio.run(main())
