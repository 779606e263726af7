// Writes a few MB of mixed text for the encoding benchmark: corpus texts (many scripts, emoji,
// code, whitespace runs) shuffled with a fixed seed and joined, plus generated prose-like lines.
//   node make_bench_text.mjs OUT_FILE [MEGABYTES=4]
import fs from "fs";
import { corpus } from "./corpus.mjs";

const [out, mbArg = "4"] = process.argv.slice(2);
const target = Number(mbArg) * 1e6;
let s = 1234567;
const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
const words = ["the", "model", "token", "image", "generation", "of", "and", "a", "in", "is", "with", "for",
  "data", "vision", "language", "transformer", "attention", "layer", "weights", "checkpoint", "sample"];
const parts = [];
let size = 0;
while (size < target) {
  let piece;
  if (rnd() < 0.5) piece = corpus[Math.floor(rnd() * corpus.length)];
  else {
    const n = 5 + Math.floor(rnd() * 30);
    const w = [];
    for (let i = 0; i < n; ++i) w.push(words[Math.floor(rnd() * words.length)] + (rnd() < 0.05 ? String(Math.floor(rnd() * 100000)) : ""));
    piece = w.join(" ") + ".";
  }
  parts.push(piece);
  size += Buffer.byteLength(piece, "utf8") + 1;
}
fs.writeFileSync(out, parts.join("\n"));
console.log(`wrote ${out}: ${(size / 1e6).toFixed(2)} MB`);
