# A `machine` stand-in for running the firmware under the real MicroPython interpreter
# (tools/mp_heap.mjs). Its UART allocates rxbuf and txbuf from the heap as the rp2 port's
# does, so the heap figures include the ring buffers a board really holds.
PWRON_RESET = 1
WDT_RESET = 3


def reset_cause():
    return PWRON_RESET


class Pin:
    IN = 0
    OUT = 1
    PULL_UP = 1
    IRQ_FALLING = 4
    IRQ_RISING = 8

    def __init__(self, id, mode=-1, pull=-1):
        self.id = id
        self.level = 1 if pull == 1 else 0

    def value(self, v=None):
        if v is None:
            return self.level
        self.level = v

    def irq(self, handler=None, trigger=0):
        self.handler = handler


class PWM:
    def __init__(self, pin):
        self.d = 0
        self.f = 0

    def freq(self, f=None):
        if f is not None:
            self.f = f
        return self.f

    def duty_u16(self, d=None):
        if d is not None:
            self.d = d
        return self.d


class UART:
    last = None

    def __init__(self, id, baudrate=115200, tx=None, rx=None, rxbuf=256, txbuf=256):
        self.rx = bytearray(rxbuf)  # the ring buffers uart_init allocates from the heap
        self.tx = bytearray(txbuf)
        self.head = 0
        self.rx_len = 0
        self.tx_len = 0
        self.dropped = 0
        UART.last = self

    def feed(self, data):
        """Bytes arriving on RX; what does not fit the buffer is lost, as on the chip."""
        size = len(self.rx)
        for b in data:
            if self.rx_len == size:
                self.dropped += 1
                continue
            self.rx[(self.head + self.rx_len) % size] = b
            self.rx_len += 1

    def any(self):
        return self.rx_len

    def read(self, n=-1):
        if self.rx_len == 0:
            return None
        if n < 0 or n > self.rx_len:
            n = self.rx_len
        size = len(self.rx)
        first = min(n, size - self.head)
        mv = memoryview(self.rx)
        if first == n:
            data = bytes(mv[self.head : self.head + n])
        else:
            data = bytes(mv[self.head :]) + bytes(mv[: n - first])
        self.head = (self.head + n) % size
        self.rx_len -= n
        return data

    def write(self, b):
        n = min(len(b), len(self.tx) - self.tx_len)
        for i in range(n):
            self.tx[self.tx_len + i] = b[i]
        self.tx_len += n
        return n

    def take(self):
        """What the TX line carried since the last call."""
        data = bytes(memoryview(self.tx)[: self.tx_len])
        self.tx_len = 0
        return data


class WDT:
    def __init__(self, timeout=5000):
        pass

    def feed(self):
        pass
