// The device half of `make firmware-check`'s heap check (driven by tools/firmware_heap.py):
// the firmware, as the .mpy files in DIR (what `tools/flash.py --mpy` puts on the board),
// under the real MicroPython interpreter (WebAssembly build) on the `machine` stand-in of
// tools/mp_machine.py. Reads one command a line on stdin — `step NOW HEX` (one link turn
// with HEX arriving on the UART; prints what the UART sent), `coins N`, `noise N`,
// `report`, `mem` (the firmware's heap now, collected) — and answers each with one line.
// usage: node tools/mp_heap.mjs DIR
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import { createInterface } from "node:readline";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(join(root, "tools", "node", "package.json"));
const pkg = require.resolve("@micropython/micropython-webassembly-pyscript/micropython.mjs");
const { loadMicroPython } = await import(pkg);
const mpyDir = process.argv[2];

const printed = [];
const fail = (err) => {
  for (const line of printed) console.log("! " + line);
  console.log("! " + String((err && err.message) || err).split("\n")[0]);
  process.exit(1);
};
process.on("uncaughtException", fail);

const mp = await loadMicroPython({ stdout: (l) => printed.push(l), stderr: (l) => printed.push(l) });
mp.FS.mkdir("/fw");
for (const name of readdirSync(mpyDir).filter((n) => n.endsWith(".mpy") && n !== "main.mpy")) {
  mp.FS.writeFile("/fw/" + name, readFileSync(join(mpyDir, name)));
}
mp.FS.writeFile("/fw/machine.py", readFileSync(join(root, "tools", "mp_machine.py")));
mp.FS.writeFile("/fw/mp_heap_device.py", readFileSync(join(root, "tools", "mp_heap_device.py")));
mp.runPython('import sys\nsys.path.insert(0, "/fw")\nimport mp_heap_device\n');
const dev = Object.fromEntries(
  ["base", "boot", "step", "coins", "noise", "report", "mem"].map((n) => [
    n,
    mp.globals.get("mp_heap_device")[n],
  ]),
);
dev.base(); // separate calls: this port collects garbage only between calls from outside
dev.boot();

for await (const line of createInterface({ input: process.stdin })) {
  const [op, a, b] = line.trim().split(" ");
  let reply = "";
  if (op === "step") reply = dev.step(Number(a), b || "");
  else if (op === "coins" || op === "noise") {
    dev[op](Number(a));
    // what the call left behind is only found by later collections (stale references on
    // the interpreter's stack): the next turn must start from the firmware's own heap
    dev.mem();
    dev.mem();
  }
  else if (op === "report") reply = dev.report();
  else if (op === "mem") reply = dev.mem();
  else fail("unknown command " + op);
  console.log(reply === undefined || reply === null ? "" : String(reply));
}
