// Hard test corpus for tests/tokenizers: many scripts, emoji sequences, combining marks, code with
// tabs and mixed indentation, whitespace runs, long digit runs, special-token strings inside text,
// empty input and very long words. Used by make_goldens.mjs (goldens from @lenml/tokenizers).
const base = [
  "",
  " ",
  "  ",
  "\n",
  "\n\n\n",
  "\t",
  "Hello, how are you?",
  "Hello world",
  " Hello world ",
  "hello   world    with   runs  of  spaces",
  "The quick brown fox jumps over the lazy dog. THE QUICK BROWN FOX!",
  "I'm sure you'll see they've done what we'd said; it's John's, isn't it? I'M SURE THEY'LL",
  "mixed CASE wORDS aNd CamelCaseIdentifiers snake_case_identifiers SCREAMING_SNAKE",
  "Numbers: 0 1 12 123 1234 12345 123456 1234567 12345678901234567890 3.14159 -42 1e-9 0x1F 1,000,000",
  "Long digits 98765432109876543210987654321098765432109876543210",
  "Phone +1 (555) 123-4567, date 2024-06-01T12:34:56Z, version v1.2.3-rc.4",
  "中文测试：你好，世界！今天天气很好。我们一起去公园散步吧。",
  "日本語のテキスト：こんにちは、世界。カタカナとひらがなと漢字が混ざっています。",
  "한국어 텍스트: 안녕하세요, 세계! 오늘은 날씨가 좋네요.",
  "العربية: مرحبا بالعالم! كيف حالك اليوم؟ ١٢٣٤٥٦٧٨٩٠",
  "עברית: שלום עולם",
  "हिन्दी: नमस्ते दुनिया! आप कैसे हैं? ०१२३४५६७८९",
  "ภาษาไทย: สวัสดีชาวโลก วันนี้อากาศดีมาก",
  "Русский текст: Привет, мир! Съешь же ещё этих мягких французских булок.",
  "Ελληνικά: Γειά σου Κόσμε! ΣΊΣΥΦΟΣ σίσυφος",
  "Tiếng Việt: Xin chào thế giới, tôi là một mô hình ngôn ngữ.",
  "Türkçe: İstanbul'da ılık bir gün; IĞDIR ığdır",
  "Deutsch: Größenmaßstäbe, Straße, ÄÖÜ äöü ß ẞ",
  "Emoji: 😀 😃 😄 👍 👍🏽 👍🏿 ❤️ 🇺🇸 🇯🇵 🏳️‍🌈",
  "ZWJ families: 👨‍👩‍👧‍👦 👩‍❤️‍💋‍👨 🧑🏽‍💻 👩🏻‍🔬 🏃‍♀️",
  "Keycaps 1️⃣ 2️⃣ #️⃣ and variation selectors ︎☺︎ ☺️",
  "Combining: e\u0301 a\u0300 o\u0308 n\u0303 A\u030A \u0041\u0301\u0302\u0303 ḱ̶̢̛͇̀ z̴̡̛̜̖̤̭͓͈̲͔̮̜̈́͗̓͋̆̕͝a̸̧̧̢̛̼͎̪̤̭̰̖̓͑̾̈́̉̓͒̚l̵̢̡͓̫͍̞̬̭̝͋̅̐̽͊̾͗̕͝g̵̛͓̺͎̏̄͆̓͑̍̂̆͂̚o̴̢̝̭̳̜͖̲͐̇̈́͌̓̓̆",
  "NFC vs NFD: caf\u00e9 caf\u0065\u0301 \u00c5ngstr\u00f6m A\u030angstro\u0308m \u1e9b\u0323",
  "Compatibility: ﬁ ﬂ ² ³ ½ Ⅻ ① ｆｕｌｌｗｉｄｔｈ　ＡＢＣ　１２３ ㍿",
  "Math: ∀x∈ℝ, ∃y: x² + y² ≤ 1 ⇒ |x| ≤ 1; ∑ᵢ aᵢ = ∫₀¹ f(t) dt ≈ π/4",
  "Symbols: © ® ™ § ¶ † ‡ • … ‰ ′ ″ ‹ › « » “quotes” ‘single’ — – ‐",
  "def f(x):\n\treturn x * 2\n\n\tif x:\n        pass\n    \t  # mixed indentation\n",
  "int main(void) {\n    printf(\"%d\\n\", 42);\n\treturn 0;\n}\n",
  "    leading spaces\n\n\n    and trailing spaces    \n   \n",
  "tabs\t\tand\t\t\ttabs\t",
  "\r\nWindows\r\nline\r\nendings\r\n",
  "a\n\nb\n\n\nc\n\n\n\nd",
  "Multiple     spaces\u00a0non-breaking\u2003em-space\u3000ideographic",
  "Special tokens inside text: <｜begin▁of▁sentence｜>Hello<｜end▁of▁sentence｜>",
  "<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n",
  "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>",
  "<s>[INST] Hello [/INST]</s>",
  "<|User|>: <image_placeholder>\nWhat is this?\n\n<|Assistant|>:",
  "<|User|>: a cat\n\n<|Assistant|>:<begin_of_image>",
  "broken <|im_sta rt|> and <｜end▁of▁sentence and <image_placeholder",
  "<think>\nreasoning here\n</think>\n\nanswer",
  "URLs: https://example.com/path?query=value&x=1#frag mailto:someone@example.org",
  "JSON: {\"key\": [1, 2, 3], \"nested\": {\"a\": null, \"b\": true}}",
  "Markdown: # Title\n\n- item **bold** _italic_ `code`\n\n```python\nprint('hi')\n```",
  "Punctuation!!! ??? ... --- *** ((( ))) [[[ ]]] {{{ }}} ;;; ::: ''' \"\"\"",
  "a.b,c;d:e!f?g'h\"i(j)k[l]m{n}o<p>q/r\\s|t~u`v@w#x$y%z^&*_+-=",
  "don't won't can't shouldn't y'all 'tis o'clock rock'n'roll",
  "\u200b zero width \u200c non-joiner \u200d joiner \ufeff bom \u00ad soft-hyphen",
  "Control chars: \u0001\u0002\u0007\u001b[31mred\u001b[0m\u007f",
  "Private use: \ue000\uf8ff and astral 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕋𝕖𝕩𝕥 𐍈 𓀀 🀄",
  "Mixed: English中文English123中文456 ελληνικά Русский日本語",
  "ß SS ﬃ ǅ ǈ ǋ ǲ İ ı ŉ ǰ ΐ ΰ և ẖ ẗ ẘ ẙ ẚ ὐ",
  "CJK punctuation：「引号」『双引号』【括号】〈尖括号〉《书名号》、。，！？",
  "Hangul jamo: 각 한 글 ㄱㄴㄷ",
  "Devanagari conjuncts: क्ष त्र ज्ञ श्र द्ध",
  "Thai with tone marks: ก่ ก้ ก๊ ก๋ น้ำ",
  "Tamil: வணக்கம் உலகம்; Bengali: হ্যালো বিশ্ব; Georgian: გამარჯობა",
  "Armenian: Բարեւ աշխարհ; Ethiopic: ሰላም ልዑል; Cherokee: ᏣᎳᎩ",
  "Mongolian: ᠮᠣᠩᠭᠣᠯ; Tibetan: བོད་ཡིག; Khmer: ភាសាខ្មែរ",
];

const generated = [
  "a".repeat(1000),
  "ab".repeat(700),
  "supercalifragilisticexpialidocious".repeat(20),
  "Pneumonoultramicroscopicsilicovolcanoconiosis Antidisestablishmentarianism",
  "1234567890".repeat(30),
  " ".repeat(100) + "x" + " ".repeat(100),
  "\n".repeat(50) + "end",
  "\t ".repeat(40) + "\n",
  "😀".repeat(60),
  "👨‍👩‍👧‍👦".repeat(20),
  "中".repeat(300),
  "漢字かなカナ".repeat(40),
  "ä".repeat(200) + "a\u0308".repeat(200),
  "Ωμέγα".repeat(50),
  "-".repeat(120) + "=".repeat(80),
  "http://" + "a/".repeat(100),
  "The end.\n",
];

// A few sentence-like random mixtures (fixed seed, so the corpus is stable).
function lcg(seed) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
}
const pool = ["hello", "world", " ", "  ", "\n", "\t", "中文", "😀", "👍🏽", "123", "4567", "ü", "e\u0301",
  "don't", "!", "?", "...", "Привет", "مرحبا", "नमस्ते", "สวัสดี", "<|im_end|>", "<｜end▁of▁sentence｜>", "<s>",
  "x_y", "CamelCase", "\u3000", "\u00a0", "'s", "'LL", "—", "𝔘", "\r\n", "::", "{}", "0.5", "Ⅻ", "ﬁ"];
const rnd = lcg(20240601);
for (let k = 0; k < 60; ++k) {
  let s = "";
  const n = 3 + Math.floor(rnd() * 25);
  for (let i = 0; i < n; ++i) s += pool[Math.floor(rnd() * pool.length)];
  generated.push(s);
}

// Random strings over many Unicode blocks, with special-token strings and whitespace mixed in. The
// pool leaves out U+FEFF, U+0085 and U+180E (JavaScript's \s disagrees with Oniguruma's about them,
// see docs/tokenize.md) and code points newer than Unicode 14 (Oniguruma 6.9.8's tables).
const ranges = [[0x20, 0x7e], [0x20, 0x7e], [0x20, 0x7e], [0x9, 0xd], [0xa0, 0x17f], [0x300, 0x36f], [0x370, 0x3ff],
  [0x400, 0x4ff], [0x590, 0x5ff], [0x600, 0x6ff], [0x900, 0x97f], [0xe00, 0xe7f], [0x1100, 0x11ff], [0x2000, 0x206f],
  [0x2100, 0x23ff], [0x3000, 0x30ff], [0x4e00, 0x4fff], [0xac00, 0xacff], [0xff00, 0xffef], [0x1f300, 0x1f5ff],
  [0x1f900, 0x1f9ff], [0x1d400, 0x1d4ff]];
const extra = [0xfeff, 0x85, 0x180e];
const words = ["<|im_end|>", "<｜end▁of▁sentence｜>", "<s>", "</s>", "<|eot_id|>", "<image_placeholder>", "<|User|>",
  "<｜User｜>", "<think>", " ", "  ", "\n", "\n\n", " \n ", "\t\t", "\r\n", "don't", "'S", "123456", "ﬁ", "İ", "ǅ",
  "▁", " ▁ ", "<0x41>", "\u00a0", "Ⅻ", "１２３", "\u0301", "<begin_of_image>"];
const rnd2 = lcg(424242);
for (let k = 0; k < 200; ++k) {
  let s = "";
  const n = Math.floor(rnd2() * 30);
  for (let i = 0; i < n; ++i) {
    const r = rnd2();
    if (r < 0.2) s += words[Math.floor(rnd2() * words.length)];
    else {
      const [a, b] = ranges[Math.floor(rnd2() * ranges.length)];
      let cp = a + Math.floor(rnd2() * (b - a + 1));
      if ((cp >= 0xd800 && cp < 0xe000) || extra.includes(cp)) cp = 0x41;
      s += String.fromCodePoint(cp);
    }
  }
  generated.push(s);
}

export const corpus = [...base.filter((x) => typeof x === "string"), ...generated];
