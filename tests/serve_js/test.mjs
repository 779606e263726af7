// Drives `janus serve` with the official `openai` npm client over loopback: model list, chat (plain
// and streamed, which must agree under greedy decoding), vision (an image the server generated, sent
// back as a data: URL), image generation (b64_json and url), an unknown model (404 through the SDK's
// error classes) and a wrong API key (401). Then SIGTERM: the server must exit 0.
// Usage: node test.mjs JANUS_BINARY MODEL_DIR
import { spawn } from "node:child_process";
import assert from "node:assert/strict";
import zlib from "node:zlib";
import OpenAI from "openai";

// A 64x64 RGB PNG: a red disc on a blue background (janus-shapes' picture vocabulary).
function crc32(buf) {
  let c, crc = 0xffffffff;
  for (const b of buf) {
    c = (crc ^ b) & 0xff;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    crc = (crc >>> 8) ^ c;
  }
  return (crc ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4), crc = Buffer.alloc(4), td = Buffer.concat([Buffer.from(type), data]);
  len.writeUInt32BE(data.length);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}
function disc_png(size = 64) {
  const raw = Buffer.alloc(size * (size * 3 + 1));
  for (let y = 0; y < size; y++) {
    raw[y * (size * 3 + 1)] = 0;  // filter: none
    for (let x = 0; x < size; x++) {
      const inside = (x - size / 2) ** 2 + (y - size / 2) ** 2 < (size / 4) ** 2;
      raw.set(inside ? [235, 20, 20] : [20, 20, 235], y * (size * 3 + 1) + 1 + x * 3);
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0); ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; ihdr[9] = 2;  // 8-bit RGB
  return Buffer.concat([Buffer.from("89504e470d0a1a0a", "hex"), chunk("IHDR", ihdr),
                        chunk("IDAT", zlib.deflateSync(raw)), chunk("IEND", Buffer.alloc(0))]);
}

const [bin, model] = process.argv.slice(2);
if (!bin || !model) {
  console.error("usage: node test.mjs JANUS_BINARY MODEL_DIR");
  process.exit(2);
}
const key = "js-test-key";
const srv = spawn(bin, ["-t", "1", "--device", "cpu", "serve", "-m", model, "--port", "0", "--api-key", key,
                        "--dtype", "f32", "--max-tokens", "24", "--ctx", "1024", "--no-request-log"],
                  { stdio: ["ignore", "inherit", "pipe"] });
let stderr = "";
const port = await new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error("server did not start in 60 s:\n" + stderr)), 60000);
  srv.stderr.on("data", (d) => {
    stderr += d.toString();
    const m = stderr.match(/http:\/\/127\.0\.0\.1:(\d+)\/v1/);
    if (m) { clearTimeout(timer); resolve(Number(m[1])); }
  });
  srv.on("exit", (code) => reject(new Error(`server exited (${code}) before listening:\n${stderr}`)));
});
const exited = new Promise((resolve) => srv.on("exit", (code, signal) => resolve({ code, signal })));
const baseURL = `http://127.0.0.1:${port}/v1`;
const client = new OpenAI({ apiKey: key, baseURL, maxRetries: 0, timeout: 60000 });
let failures = 0;
async function check(name, fn) {
  try { await fn(); console.log(`ok   ${name}`); }
  catch (e) { failures++; console.log(`FAIL ${name}: ${e.stack || e}`); }
}

let modelId;
await check("models.list", async () => {
  const list = await client.models.list();
  assert.equal(list.data.length, 1);
  modelId = list.data[0].id;
  assert.equal(modelId, model.replace(/\/+$/, "").split("/").pop());
  assert.equal(list.data[0].object, "model");
});

const messages = [{ role: "user", content: "Say something about foxes." }];
let plain;
await check("chat.completions.create (non-stream)", async () => {
  const r = await client.chat.completions.create({ model: modelId, messages, temperature: 0, max_tokens: 16 });
  assert.equal(r.object, "chat.completion");
  assert.equal(r.choices.length, 1);
  assert.equal(r.choices[0].message.role, "assistant");
  assert.equal(typeof r.choices[0].message.content, "string");
  assert.ok(["stop", "length"].includes(r.choices[0].finish_reason));
  assert.ok(r.usage.prompt_tokens > 0 && r.usage.completion_tokens > 0);
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
  plain = r.choices[0].message.content;
});

await check("chat.completions.create (stream) equals non-stream", async () => {
  const stream = await client.chat.completions.create({ model: modelId, messages, temperature: 0, max_tokens: 16,
                                                        stream: true, stream_options: { include_usage: true } });
  let text = "", finish = null, usage = null, n = 0;
  for await (const chunk of stream) {
    n++;
    assert.equal(chunk.object, "chat.completion.chunk");
    if (chunk.usage) usage = chunk.usage;
    if (!chunk.choices.length) continue;
    text += chunk.choices[0].delta.content ?? "";
    if (chunk.choices[0].finish_reason) finish = chunk.choices[0].finish_reason;
  }
  assert.ok(n >= 2);
  assert.equal(text, plain);
  assert.ok(["stop", "length"].includes(finish));
  assert.ok(usage && usage.completion_tokens > 0);
});

let png_b64;
await check("images.generate (b64_json)", async () => {
  const health = await (await fetch(`http://127.0.0.1:${port}/health`, { headers: { Authorization: `Bearer ${key}` } })).json();
  const size = `${health.image_size}x${health.image_size}`;
  const r = await client.images.generate({ model: modelId, prompt: "a red fox", n: 2, size, response_format: "b64_json",
                                           seed: 3 });
  assert.equal(r.data.length, 2);
  for (const d of r.data) {
    const bytes = Buffer.from(d.b64_json, "base64");
    assert.equal(bytes.subarray(0, 8).toString("hex"), "89504e470d0a1a0a");  // PNG signature
    assert.equal(bytes.readUInt32BE(16), health.image_size);                 // IHDR width
    assert.equal(bytes.readUInt32BE(20), health.image_size);                 // IHDR height
  }
  assert.notEqual(r.data[0].b64_json, r.data[1].b64_json);
  png_b64 = r.data[0].b64_json;
  await assert.rejects(client.images.generate({ model: modelId, prompt: "x", size: "1024x1024" }),
                       (e) => e instanceof OpenAI.BadRequestError && /only/.test(e.message));
});

await check("images.generate (url)", async () => {
  const r = await client.images.generate({ model: modelId, prompt: "a blue bird", response_format: "url" });
  const res = await fetch(r.data[0].url, { headers: { Authorization: `Bearer ${key}` } });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "image/png");
  const bytes = Buffer.from(await res.arrayBuffer());
  assert.equal(bytes.subarray(0, 8).toString("hex"), "89504e470d0a1a0a");
});

await check("vision (image_url data URL)", async () => {
  const r = await client.chat.completions.create({
    model: modelId, temperature: 0, max_tokens: 12,
    messages: [{ role: "user", content: [{ type: "text", text: "What is in this image?" },
                                         { type: "image_url", image_url: { url: `data:image/png;base64,${png_b64}` } }] }],
  });
  assert.equal(typeof r.choices[0].message.content, "string");
  assert.ok(r.usage.prompt_tokens > 10, "image tokens counted in the prompt");
  // A picture the trained janus-shapes model knows: its caption must name both colours.
  const d = await client.chat.completions.create({
    model: modelId, temperature: 0, max_tokens: 24,
    messages: [{ role: "user", content: [{ type: "text", text: "Describe this image in detail." },
                                         { type: "image_url", image_url: { url: `data:image/png;base64,${disc_png().toString("base64")}` } }] }],
  });
  const caption = d.choices[0].message.content;
  console.log(`     caption of a red disc on blue: "${caption.trim()}"`);
  if (modelId === "janus-shapes") assert.ok(/red/.test(caption) && /blue/.test(caption), caption);
  await assert.rejects(client.chat.completions.create({
    model: modelId, messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "https://example.com/a.png" } }] }],
  }), (e) => e instanceof OpenAI.BadRequestError && /data URL/.test(e.message));
});

await check("errors: unknown model 404, wrong key 401", async () => {
  await assert.rejects(client.chat.completions.create({ model: "gpt-4o", messages }),
                       (e) => e instanceof OpenAI.NotFoundError && e.status === 404);
  const wrong = new OpenAI({ apiKey: "wrong", baseURL, maxRetries: 0 });
  await assert.rejects(wrong.models.list(), (e) => e instanceof OpenAI.AuthenticationError && e.status === 401);
});

srv.kill("SIGTERM");
const ex = await Promise.race([exited, new Promise((r) => setTimeout(() => r({ code: "hang" }), 20000))]);
await check("SIGTERM: clean exit", async () => assert.equal(ex.code, 0, JSON.stringify(ex) + "\n" + stderr));
if (ex.code === "hang") srv.kill("SIGKILL");
console.log(failures ? `${failures} check(s) failed` : "all checks passed");
process.exit(failures ? 1 : 0);
