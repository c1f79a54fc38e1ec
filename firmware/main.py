"""Boot entry on the board: run the coprocessor application unless SAFE_BOOT is strapped."""

import board
from machine import Pin

if Pin(board.SAFE_BOOT, Pin.IN, Pin.PULL_UP).value() == 1:
    import app

    app.run()
