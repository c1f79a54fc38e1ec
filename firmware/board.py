"""Raspberry Pi Pico (RP2040) pin map of the kiosk coprocessor board: the one place that
knows which GPIO does what and which level means "active"."""

# host link: hardware UART0 to the Pi (GP0 TX, GP1 RX)
LINK_UART_ID = 0
LINK_TX = 0
LINK_RX = 1

# pulse-output coin acceptor: open-collector pulse line, low while a pulse lasts
COIN_PULSE = 2
COIN_PULSE_ACTIVE = 0
# acceptor inhibit input: driven high to refuse every coin
COIN_INHIBIT = 3
COIN_INHIBIT_ON = 1

# inhibit-all inputs of the serial acceptors (the ccTalk coin acceptor's and the bill
# validator's): driven high while the host link is down, so nothing takes money while no host
# can account for it; released once a host is there again (it then inhibits them by protocol)
CCTALK_INHIBIT = 4
BILL_INHIBIT = 5
ACCEPTOR_LOCK_ON = 1

# optical tray sensors: beam blocked (item present) pulls the line low
TRAY_CERT = 6
TRAY_CHANGE = 7
TRAY_PRESENT = 0
# door switch: closed door holds the line low; open door lets the pull-up win
DOOR = 8
DOOR_OPEN = 1

# guide LEDs (active high) and the on-board status LED
LED_CARD = 10
LED_TRAY = 11
LED_CHANGE = 12
LED_STATUS = 25

# piezo alarm buzzer, driven by PWM
BUZZER = 15

# strap GP22 to GND at power-up to skip the application (keeps the REPL free for mpremote)
SAFE_BOOT = 22
