"""Firmware build settings: version, coin acceptor programming, timings."""

FW_VERSION = "kofu-fw 0.1.0"

LINK_BAUD = 115200
# rp2 drops bytes at speed with the default small buffers; these come out of the heap.
# 1 KB is 89 ms of line at 115200 baud, against a link task polling every 2 ms; the device
# never has more than a window of frames (8 x 32 bytes) and its ACKs to send at once.
LINK_RXBUF = 1024
LINK_TXBUF = 512
LINK_POLL_MS = 2
LINK_READ_MAX = 128  # bytes taken from the UART a turn (64 KB/s, the line carries 11.5)

# pulses per coin as programmed into the acceptor -> value in yen
COIN_PULSES = {1: 10, 2: 50, 3: 100, 4: 500}
# the acceptor sends 30 ms pulses 30 ms apart (60 ms period)
PULSE_MIN_PERIOD_MS = 40  # faster pulses are noise
PULSE_MAX_MS = 80  # a line active longer than this is a fault
PULSE_DEBOUNCE_MS = 3  # edges closer than this are contact bounce of one pulse
TRAIN_GAP_MS = 100  # a quiet line for this long ends a pulse train
OUTBOX_MAX = 64  # coin events kept while the host link is down

SWITCH_POLL_MS = 10
SWITCH_DEBOUNCE_MS = 30

WDT_TIMEOUT_MS = 2000
HEALTH_MS = 100
STALL_LIMIT_MS = 1000  # a task silent this long stops the watchdog being fed
