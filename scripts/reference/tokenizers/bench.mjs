// Encoding-speed reference: @lenml/tokenizers on the same input file the C++ side uses.
//   node bench.mjs TOKENIZER_NAME INPUT_FILE [REPEATS]   → prints MB/s
// The input is made by make_bench_text.mjs (a few MB of mixed-script text and code).
import fs from "fs";
import { loadTokenizer } from "./make_goldens.mjs";

const [name, file, reps = "3"] = process.argv.slice(2);
const text = fs.readFileSync(file, "utf8");
const mb = Buffer.byteLength(text, "utf8") / 1e6;
let t0 = performance.now();
const tok = loadTokenizer(name);
const load = (performance.now() - t0) / 1000;
let best = Infinity, n = 0;
for (let r = 0; r < Number(reps); ++r) {
  t0 = performance.now();
  n = tok.encode(text, { add_special_tokens: false }).length;
  best = Math.min(best, (performance.now() - t0) / 1000);
}
console.log(`@lenml/tokenizers ${name}: load ${load.toFixed(3)} s, encode ${mb.toFixed(2)} MB -> ${n} tokens in ${best.toFixed(3)} s = ${(mb / best).toFixed(2)} MB/s (best of ${reps})`);
