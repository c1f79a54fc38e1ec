// Runs protocol/vector_check.py against protocol/vectors.json under the real MicroPython
// interpreter (the WebAssembly port, npm @micropython/micropython-webassembly-pyscript), so the
// shared codec is proven on MicroPython and not only on CPython. Used by `make firmware-check`.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(join(root, "tools", "node", "package.json"));
const pkg = require.resolve("@micropython/micropython-webassembly-pyscript/micropython.mjs");
const { loadMicroPython } = await import(pkg);

process.on("uncaughtException", (err) => {
  console.log("mp vectors: " + String((err && err.message) || err).split("\n")[0]);
  process.exit(1);
});
const out = [];
const mp = await loadMicroPython({
  heapsize: 8 * 1024 * 1024,
  stdout: (line) => out.push(line),
  stderr: (line) => out.push(line),
});
mp.FS.mkdir("/kofu");
const protocol = join(root, "protocol");
const linkModules = readdirSync(protocol).filter((n) => n.startsWith("link_") && n.endsWith(".py"));
for (const name of [...linkModules, "vector_check.py", "vectors.json"]) {
  mp.FS.writeFile("/kofu/" + name, readFileSync(join(protocol, name)));
}
const script = `
import sys, json
sys.path.insert(0, "/kofu")
import vector_check
with open("/kofu/vectors.json") as fh:
    vectors = json.load(fh)
bad = vector_check.check(vectors)
for line in bad:
    print("FAIL", line)
print("RESULT", sys.implementation.name, vector_check.count(vectors), len(bad))
`;
let status = 0;
try {
  mp.runPython(script);
} catch (err) {
  out.push(String(err.message || err));
  status = 1;
}
// Second: the firmware's App on the real interpreter, with a minimal machine stand-in.
const MACHINE = `
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
    last_freq = 0
    def __init__(self, pin):
        self.d = 0
    def freq(self, f=None):
        if f is not None:
            PWM.last_freq = f
        return PWM.last_freq
    def duty_u16(self, d=None):
        if d is not None:
            self.d = d
        return self.d
class UART:
    def __init__(self, id, **kw):
        self.out = b""
    def any(self):
        return 0
    def read(self, n=-1):
        return None
    def write(self, b):
        self.out += b
        return len(b)
class WDT:
    def __init__(self, timeout=5000):
        pass
    def feed(self):
        pass
`;
mp.FS.mkdir("/fw");
mp.FS.writeFile("/fw/machine.py", MACHINE);
const fwdir = join(root, "firmware");
for (const name of readdirSync(fwdir).filter((n) => n.endsWith(".py") && n !== "main.py")) {
  mp.FS.writeFile("/fw/" + name, readFileSync(join(fwdir, name)));
}
for (const name of linkModules) {
  mp.FS.writeFile("/fw/" + name, readFileSync(join(protocol, name)));
}
mp.FS.writeFile("/fw/smoke.py", readFileSync(join(root, "tools", "mp_firmware_smoke.py")));
try {
  mp.runPython('import sys\nsys.path.insert(0, "/fw")\nimport smoke\n');
} catch (err) {
  out.push(String(err.message || err));
  status = 1;
}
if (!out.some((l) => l.startsWith("FIRMWARE micropython ok"))) status = 1;
else console.log("mp firmware: App built and driven under micropython");

const result = out.find((l) => l.startsWith("RESULT"));
for (const line of out) if (!/^(RESULT|FIRMWARE)/.test(line)) console.log(line);
if (!result) {
  console.log("mp vectors: the checker did not finish");
  process.exit(1);
}
const [, impl, total, failed] = result.split(" ");
console.log(`mp vectors: ${impl} ${Number(total) - Number(failed)}/${total} vectors pass`);
process.exit(status || (impl !== "micropython" || failed !== "0" ? 1 : 0));
