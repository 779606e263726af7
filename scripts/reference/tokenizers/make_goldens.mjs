// Golden ids for tests/tokenizers, from @lenml/tokenizers (an independent JavaScript port of
// transformers' tokenizers). For each tokenizer and corpus text it records:
//   ids        encode(text, add_special_tokens=false)
//   ids_sp     encode(text, add_special_tokens=true)
//   dec        decode(ids, skip_special_tokens=true)
//   dec_sp     decode(ids, skip_special_tokens=false)
// Run: cd scripts/reference/tokenizers && npm ci && node make_data.mjs && node make_goldens.mjs
import fs from "fs";
import path from "path";
import zlib from "zlib";
import { fileURLToPath } from "url";
import { TokenizerLoader } from "@lenml/tokenizers";
import { corpus } from "./corpus.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const data = path.resolve(here, "../../../tests/data/tokenizers");

export function loadTokenizer(name) {
  let tj, cfg;
  const dir = path.join(data, name);
  if (fs.existsSync(path.join(dir, "tokenizer.json.gz"))) {
    tj = JSON.parse(zlib.gunzipSync(fs.readFileSync(path.join(dir, "tokenizer.json.gz"))).toString("utf8"));
    cfg = JSON.parse(fs.readFileSync(path.join(dir, "tokenizer_config.json"), "utf8"));
  } else {
    const m = path.join(here, "node_modules/@lenml", `tokenizer-${name}`, "models");
    tj = JSON.parse(fs.readFileSync(path.join(m, "tokenizer.json"), "utf8"));
    cfg = JSON.parse(fs.readFileSync(path.join(m, "tokenizer_config.json"), "utf8"));
  }
  return TokenizerLoader.fromPreTrained({ tokenizerJSON: tj, tokenizerConfig: cfg });
}

const names = ["deepseek_v3", "janus_style", "qwen3", "llama2", "llama3"];
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  fs.mkdirSync(path.join(data, "goldens"), { recursive: true });
  for (const name of names) {
    const tok = loadTokenizer(name);
    const cases = corpus.map((text) => {
      const ids = Array.from(tok.encode(text, { add_special_tokens: false }));
      const ids_sp = Array.from(tok.encode(text, { add_special_tokens: true }));
      return {
        text, ids, ids_sp,
        dec: ids.length ? tok.decode(ids, { skip_special_tokens: true }) : "",
        dec_sp: ids.length ? tok.decode(ids, { skip_special_tokens: false }) : "",
      };
    });
    const file = path.join(data, "goldens", `${name}.json`);
    fs.writeFileSync(file, JSON.stringify({ tokenizer: name, generator: "@lenml/tokenizers 3.7.2", cases }) + "\n");
    const rt = cases.filter((c) => c.dec_sp === c.text).length;
    console.log(`${name}: ${cases.length} cases, ${rt} round-trip exactly -> ${file}`);
  }
}
