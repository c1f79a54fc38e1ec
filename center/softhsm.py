"""The embedded PKCS#11 token: Debian's SoftHSM 2, kept in the center's state directory.

``kofu center`` sets it up on first start: ``softhsm/softhsm2.conf`` (pointed to by
SOFTHSM2_CONF for the center's processes), the token directory, and a random user PIN in
``softhsm/user-pin`` (0600). The token is initialised in a child process that takes both
PINs on stdin: softhsm2-util would need them on its command line (visible to every user in
/proc) or on a terminal. The SO PIN is not kept: on this disk it would guard nothing the
user PIN does not, and nothing here needs it after initialisation.
"""

from __future__ import annotations

import ctypes
import os
import secrets
import subprocess
import sys
from pathlib import Path

from center.keystore import TokenSettings
from center.private_files import private_dir, write_private

MODULE = "/usr/lib/softhsm/libsofthsm2.so"  # Debian's softhsm2 package
TOKEN_LABEL = "kofu-center"

CKF_RW_SESSION = 0x2
CKF_SERIAL_SESSION = 0x4
CKF_TOKEN_INITIALIZED = 0x400
CKU_SO = 0
CKR_CRYPTOKI_ALREADY_INITIALIZED = 0x191


def settings(state: Path) -> TokenSettings:
    root = state / "softhsm"
    return TokenSettings(MODULE, TOKEN_LABEL, root / "user-pin", root / "softhsm2.conf")


def ensure(state: Path) -> TokenSettings:
    """Idempotent: conf, token directory, PIN file, an initialised token."""
    s = settings(state)
    assert s.softhsm_conf is not None
    root = private_dir(s.softhsm_conf.parent)
    tokens = private_dir(root / "tokens")
    if not Path(MODULE).exists():
        raise RuntimeError(
            "the embedded key token needs Debian's softhsm2 package (apt-get install softhsm2), "
            "or configure a PKCS#11 module with --pkcs11-module"
        )
    write_private(
        s.softhsm_conf,
        f"directories.tokendir = {tokens}\nobjectstore.backend = file\n"
        "log.level = ERROR\nslots.removable = false\n",
    )
    if not s.pin_file.exists():
        if any(tokens.iterdir()):
            raise RuntimeError(
                f"{tokens} holds a token but its PIN file {s.pin_file} is gone: restore it "
                "from the backup of the state directory"
            )
        write_private(s.pin_file, secrets.token_hex(16) + "\n")
    if not any(tokens.iterdir()):
        so_pin = secrets.token_hex(16)
        user_pin = s.pin_file.read_text(encoding="utf-8").strip()
        env = {**os.environ, "SOFTHSM2_CONF": str(s.softhsm_conf)}
        done = subprocess.run(
            [sys.executable, "-m", "center.softhsm", MODULE, TOKEN_LABEL],
            input=f"{so_pin}\n{user_pin}\n",
            env=env,
            text=True,
            capture_output=True,
            timeout=60,
        )
        if done.returncode != 0:
            raise RuntimeError(f"initialising the embedded token failed: {done.stderr.strip()}")
    return s


def _check(rv: int, what: str) -> None:
    if rv != 0:
        raise SystemExit(f"{what}: CKR 0x{rv:x}")


def _init_token(module: str, label: str, so_pin: bytes, user_pin: bytes) -> None:
    """C_InitToken + C_InitPIN on the first free slot (python-pkcs11 has no InitToken)."""
    lib = ctypes.CDLL(module)
    funcs = ctypes.c_void_p()
    _check(lib.C_GetFunctionList(ctypes.byref(funcs)), "C_GetFunctionList")
    ulong = ctypes.c_ulong
    rv = lib.C_Initialize(None)
    if rv not in (0, CKR_CRYPTOKI_ALREADY_INITIALIZED):
        _check(rv, "C_Initialize")
    count = ulong(0)
    _check(lib.C_GetSlotList(ctypes.c_ubyte(0), None, ctypes.byref(count)), "C_GetSlotList")
    slots = (ulong * count.value)()
    _check(lib.C_GetSlotList(ctypes.c_ubyte(0), slots, ctypes.byref(count)), "C_GetSlotList")
    padded = label.encode("utf-8").ljust(32, b" ")
    for slot in slots[: count.value]:
        info = ctypes.create_string_buffer(256)
        _check(lib.C_GetTokenInfo(ulong(slot), info), "C_GetTokenInfo")
        # CK_TOKEN_INFO: label 32, manufacturer 32, model 16, serial 16, then flags
        flags = ulong.from_buffer(info, 96).value
        if flags & CKF_TOKEN_INITIALIZED:
            continue
        _check(lib.C_InitToken(ulong(slot), so_pin, ulong(len(so_pin)), padded), "C_InitToken")
        break
    else:
        raise SystemExit("no free slot for the token")
    # the initialised token moves to a new slot id: find it by label
    _check(lib.C_GetSlotList(ctypes.c_ubyte(1), None, ctypes.byref(count)), "C_GetSlotList")
    slots = (ulong * count.value)()
    _check(lib.C_GetSlotList(ctypes.c_ubyte(1), slots, ctypes.byref(count)), "C_GetSlotList")
    for slot in slots[: count.value]:
        info = ctypes.create_string_buffer(256)
        _check(lib.C_GetTokenInfo(ulong(slot), info), "C_GetTokenInfo")
        if info.raw[:32] == padded:
            session = ulong(0)
            _check(
                lib.C_OpenSession(
                    ulong(slot), ulong(CKF_RW_SESSION | CKF_SERIAL_SESSION), None, None,
                    ctypes.byref(session),
                ),
                "C_OpenSession",
            )  # fmt: skip
            _check(lib.C_Login(session, ulong(CKU_SO), so_pin, ulong(len(so_pin))), "C_Login")
            _check(lib.C_InitPIN(session, user_pin, ulong(len(user_pin))), "C_InitPIN")
            _check(lib.C_Logout(session), "C_Logout")
            _check(lib.C_CloseSession(session), "C_CloseSession")
            break
    else:
        raise SystemExit("the initialised token is not listed")
    lib.C_Finalize(None)


if __name__ == "__main__":
    so, user = (line.strip().encode("utf-8") for line in sys.stdin.read().splitlines()[:2])
    _init_token(sys.argv[1], sys.argv[2], so, user)
