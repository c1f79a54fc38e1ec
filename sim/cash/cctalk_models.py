"""What the simulated ccTalk slaves say about themselves: the model each one imitates.

Identification replies follow the ccTalk generic specification: the core headers every
peripheral answers (254 simple poll, 246 manufacturer, 245 equipment category, 244 product
code, 192 build code) and the core-plus headers the specification requires of coin acceptors
and payouts (242 serial number, 241 software revision, 4 comms revision, 1 reset). The
manufacturer string is the specification's standard one ("MCI" = Money Controls
(International), its Table 6), so a bus scan recognises the maker. Revision and build strings
are representative of their format, not read off a unit.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Identity:
    manufacturer: bytes
    category: bytes  # the specification's equipment category name
    product: bytes
    build: bytes
    software_revision: bytes
    comms_revision: bytes  # [release][major][minor] of the ccTalk specification implemented


@dataclass(frozen=True)
class AcceptorModel:
    identity: Identity
    database_version: int = 0  # 243: 0 = the coin set cannot be reprogrammed over ccTalk
    polling_priority: bytes = b"\x02\x14"  # 249: unit 2 (x10 ms), 20 -> poll every 200 ms


@dataclass(frozen=True)
class HopperModel:
    identity: Identity
    test_registers: int = 2  # how many status registers 163 returns (the spec defines 3)
    # Vendors differ: some count a refused dispense in the 166 event counter, some do not.
    refusal_advances_counter: bool = False
    low_level: int = 10  # 217: the low-level sensor reads "low" at or below this many coins


SR5I = AcceptorModel(
    Identity(
        manufacturer=b"MCI",
        category=b"Coin Acceptor",
        product=b"SR5",
        build=b"STD",
        software_revision=b"SR5i-JP-1.07",
        comms_revision=bytes([1, 4, 2]),
    )
)

SCH2 = HopperModel(
    Identity(
        manufacturer=b"MCI",
        category=b"Payout",
        product=b"SCH2",
        build=b"STD",
        software_revision=b"SCH2-2.11",
        comms_revision=bytes([1, 4, 2]),
    )
)

# The same hopper with the other vendors' habit: a refused dispense still advances the counter.
SCH2_COUNTING_REFUSALS = HopperModel(SCH2.identity, refusal_advances_counter=True)

HOPPER_MODELS = {"sch2": SCH2, "sch2-counting-refusals": SCH2_COUNTING_REFUSALS}

# Test-hopper (163) register bits, from the specification's table of hopper flags.
FLAG_PAYOUT_TIMEOUT = 1 << 1  # register 1: the hopper ran dry (no coin seen at the exit)
FLAG_POWER_UP = 1 << 6  # register 1: power applied since the last software reset
FLAG_PAYOUT_DISABLED = 1 << 7  # register 1: disabled after power-up/reset until enabled
FLAG_POWER_DOWN_IN_PAYOUT = 1 << 0  # register 3: power was lost during a payout

# 217 (request payout high / low status) bits.
LEVEL_LOW = 1 << 0
LEVEL_LOW_SUPPORTED = 1 << 4
