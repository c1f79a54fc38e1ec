"""The deployment files in deploy/: the units parse (systemd's own verifier when it is
installed, a structural check always), the user, spool, udev names and the sample
configuration fit together, and the sample passes the doctor's configuration check."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from host import doctor

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
UNITS = DEPLOY / "systemd"
INSTALLED_KOFU = "/opt/kofu/.venv/bin/kofu"
REFERENCE_FLAGS = ("--kiosk", "--ozone-platform=wayland", "--noerrdialogs", "--disable-infobars",
                   "--disable-session-crashed-bubble", "--no-first-run")


def parse_unit(path: Path) -> dict[str, list[tuple[str, str]]]:
    """Sections -> (key, value) in order (systemd allows repeated keys)."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    for number, line in enumerate(path.read_text().splitlines(), 1):
        text = line.strip()
        if not text or text.startswith(("#", ";")):
            continue
        if text.startswith("[") and text.endswith("]"):
            current = sections.setdefault(text[1:-1], [])
            continue
        assert current is not None, f"{path.name}:{number}: a setting outside any section"
        assert "=" in text, f"{path.name}:{number}: not key=value: {text!r}"
        key, value = text.split("=", 1)
        assert re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", key), f"{path.name}:{number}: key {key!r}"
        current.append((key, value))
    return sections


def values(unit: dict[str, list[tuple[str, str]]], section: str, key: str) -> list[str]:
    return [v for k, v in unit.get(section, []) if k == key]


def test_kiosk_unit_structure() -> None:
    unit = parse_unit(UNITS / "kofu-kiosk.service")
    assert set(unit) == {"Unit", "Service", "Install"}
    svc = dict(unit["Service"])
    assert svc["ExecStart"] == f"{INSTALLED_KOFU} kiosk --config /etc/kofu/kiosk.toml"
    assert svc["User"] == "kofu" and svc["Group"] == "kofu"
    assert svc["Type"] == "notify" and int(svc["WatchdogSec"]) > 0
    assert svc["Restart"] == "always"
    for key, value in (("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"),
                       ("ProtectHome", "yes"), ("PrivateTmp", "yes"), ("DevicePolicy", "closed"),
                       ("CapabilityBoundingSet", "")):
        assert svc[key] == value, key
    assert "pcscd.socket" in dict(unit["Unit"])["Wants"]
    assert dict(unit["Install"])["WantedBy"] == "multi-user.target"
    env = dict(v.split("=", 1) for v in values(unit, "Service", "Environment"))
    assert env["KOFU_SPOOL_DIR"] in values(unit, "Service", "ReadWritePaths")
    assert env["KOFU_CASH_JOURNAL"].startswith(f"/var/lib/{svc['StateDirectory']}/")


def test_screen_unit_has_the_reference_kiosk_flags() -> None:
    unit = parse_unit(UNITS / "kofu-screen.service")
    svc = dict(unit["Service"])
    shell = shlex.split(svc["ExecStart"])
    assert shell[:2] == ["/bin/sh", "-c"]
    argv = shlex.split(shell[2])
    assert argv[:2] == ["exec", "/usr/bin/chromium"]
    for flag in REFERENCE_FLAGS:
        assert flag in argv, flag
    sample = tomllib.loads((DEPLOY / "kiosk.toml").read_text())
    ui = f"http://{sample['ui']['host']}:{sample['ui']['port']}/"
    # the page presents the screen token the kiosk service writes (its fragment, not a query)
    assert argv[-1] == f"{ui}#token=$(cat {sample['ui']['token_file']})"
    assert f"/dev/tcp/127.0.0.1/{sample['ui']['port']}" in svc["ExecStartPre"]
    token_dir = str(Path(sample["ui"]["token_file"]).parent)
    kiosk = parse_unit(UNITS / "kofu-kiosk.service")
    assert token_dir in values(kiosk, "Service", "ReadWritePaths")
    tmpfiles = (DEPLOY / "tmpfiles.d" / "kofu.conf").read_text()
    assert f"d {token_dir} 2750 kofu kofu-screen" in tmpfiles
    assert svc["Restart"] == "always"
    assert "kofu-screen.service" in (DEPLOY / "labwc" / "autostart").read_text()


def test_structural_check_catches_a_broken_unit(tmp_path: Path) -> None:
    broken = tmp_path / "broken.service"
    broken.write_text("ExecStart=/bin/true\n[Service]\n")
    with pytest.raises(AssertionError, match="outside any section"):
        parse_unit(broken)
    broken.write_text("[Service]\nExecStart /bin/true\n")
    with pytest.raises(AssertionError, match="not key=value"):
        parse_unit(broken)


def systemd_verify(unit_dir: Path, name: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["systemd-analyze", "verify", "--man=no", str(unit_dir / name)],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd not installed")
def test_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    kofu = Path(sys.executable).with_name("kofu")
    assert kofu.exists(), "the venv's kofu entry point (tools/bootstrap.sh)"
    for unit in UNITS.glob("*.service"):
        # the installed path does not exist on a build machine: point at this checkout's
        text = unit.read_text().replace(INSTALLED_KOFU, str(kofu))
        (tmp_path / unit.name).write_text(text)
        proc = systemd_verify(tmp_path, unit.name)
        assert proc.returncode == 0 and not proc.stderr.strip(), (unit.name, proc.stderr)
    # the verifier is not blind: an unknown key is reported
    (tmp_path / "bad.service").write_text("[Service]\nExecStart=/bin/true\nRestartt=always\n")
    assert "Unknown key" in systemd_verify(tmp_path, "bad.service").stderr


@pytest.mark.skipif(shutil.which("systemd-sysusers") is None
                    or shutil.which("systemd-tmpfiles") is None, reason="systemd not installed")
def test_user_and_spool_in_a_scratch_root(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    for argv in (["systemd-sysusers", f"--root={tmp_path}", str(DEPLOY / "sysusers.d/kofu.conf")],
                 ["systemd-tmpfiles", f"--root={tmp_path}", "--create",
                  str(DEPLOY / "tmpfiles.d/kofu.conf")]):
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "etc/passwd").read_text().startswith("kofu:")
    spool = tmp_path / "run/kofu/spool"
    assert spool.is_dir() and spool.stat().st_mode & 0o777 == 0o700


def test_spool_is_on_tmpfs_and_matches_the_unit() -> None:
    lines = [line.split() for line in (DEPLOY / "tmpfiles.d/kofu.conf").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    spool = next(f for f in lines if f[1].endswith("/spool"))
    assert spool[0] == "d" and spool[1].startswith("/run/") and spool[2] == "0700"
    assert spool[3] == spool[4] == "kofu"
    unit = parse_unit(UNITS / "kofu-kiosk.service")
    assert f"KOFU_SPOOL_DIR={spool[1]}" in values(unit, "Service", "Environment")
    assert doctor.DEFAULT_SPOOL == Path(spool[1])


UDEV_FIELD = re.compile(r'\s*([A-Z]+(?:\{[^}]+\})?)\s*(==|!=|\+=|:=|=)\s*"([^"]*)"\s*(?:,|$)')


def udev_rules() -> list[dict[str, str]]:
    rules = []
    for line in (DEPLOY / "udev/99-kofu.rules").read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields, pos = {}, 0
        while pos < len(line):
            m = UDEV_FIELD.match(line, pos)
            assert m, f"udev rule does not parse at {line[pos:]!r}"
            fields[m.group(1) + m.group(2)] = m.group(3)
            pos = m.end()
        rules.append(fields)
    return rules


def test_udev_rules_give_stable_names_by_vendor_product_serial() -> None:
    rules = udev_rules()
    names = {r["SYMLINK+="] for r in rules}
    assert {"kofu-coproc", "kofu-cctalk", "kofu-id003", "kofu-receipt"} <= names
    for rule in rules:
        match = [k for k in rule if k.endswith("==")]
        for attr in ("idVendor", "idProduct", "serial"):
            assert any(attr in k for k in match), (rule["SYMLINK+="], attr)
        assert all(re.fullmatch(r"[0-9a-f]{4}", v) for k, v in rule.items()
                   if "idVendor" in k or "idProduct" in k)
        assert rule["GROUP="] == "kofu" and rule["MODE="] == "0660"
    # two identical adapters are told apart by their serial numbers
    keys = [tuple(sorted((k, v) for k, v in r.items() if k.endswith("=="))) for r in rules]
    assert len(set(keys)) == len(keys)


def test_sample_config_uses_the_udev_names_and_passes_the_doctor() -> None:
    raw, loaded = doctor.load_config(DEPLOY / "kiosk.toml")
    assert loaded.status == doctor.OK and raw is not None
    assert [f.status for f in doctor.check_config(raw)] == [doctor.OK]
    links = {f"/dev/{r['SYMLINK+=']}" for r in udev_rules()}
    ports = {raw["coproc"]["port"], raw["cash"]["cctalk"]["port"], raw["cash"]["id003"]["port"],
             raw["receipt"]["device"]}
    assert ports <= links
    assert raw["center"]["url"].startswith("https://")
    assert raw["ui"]["host"] == "127.0.0.1"


def test_doctor_cli_accepts_the_sample(capsys: pytest.CaptureFixture[str]) -> None:
    assert doctor.main(["--config", str(DEPLOY / "kiosk.toml"), "--config-only"]) == 0
    assert "every table is well-formed" in capsys.readouterr().out
