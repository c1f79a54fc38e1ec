// Runs protocol/vector_check.py against protocol/vectors.json under the real MicroPython
// interpreter (the WebAssembly port, npm @micropython/micropython-webassembly-pyscript), so the
// shared codec is proven on MicroPython and not only on CPython. Used by `make firmware-check`.
import { readFileSync } from "node:fs";
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
for (const name of ["link_codec.py", "vector_check.py", "vectors.json"]) {
  mp.FS.writeFile("/kofu/" + name, readFileSync(join(root, "protocol", name)));
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
const result = out.find((l) => l.startsWith("RESULT"));
for (const line of out) if (!line.startsWith("RESULT")) console.log(line);
if (!result) {
  console.log("mp vectors: the checker did not finish");
  process.exit(1);
}
const [, impl, total, failed] = result.split(" ");
console.log(`mp vectors: ${impl} ${Number(total) - Number(failed)}/${total} vectors pass`);
process.exit(status || (impl !== "micropython" || failed !== "0" ? 1 : 0));
