"""The Unicode edge cases every tokenizer is checked on (written as bytes: some are invalid UTF-8)."""

CASES = [
    "Hello world! It's a test: we're here, they'LL see, I'M sure, you'VE been, he'd, She'S.",
    "中文字符测试，日本語のテキスト、한국어 텍스트。混合English和中文。",
    "Emoji: 👨‍👩‍👧‍👦 family, 🏳️‍🌈 flag, 👍🏽 tone, ❤️ heart, 🙂🙃😀😃😄 run",
    "Combining: e\u0301 a\u0308 n\u0303 A\u030a o\u0302\u0323 — precomposed: é ä ñ Å ộ",
    "RTL: مرحبا بالعالم — שלום עולם — mixed العربية123 עברית!",
    "Scripts: Привет мир, Γειά σου κόσμε, नमस्ते दुनिया, สวัสดีชาวโลก, Café naïve résumé",
    " " * 40 + "forty spaces before, then tabs:\t\t\tx\tand\t\ttabs",
    "newlines\n\n\n\nand\r\nwindows\r\n\r\nlines and \n \n \t \n mixed",
    "Digits: 1 12 123 1234 12345 123456 1234567 12345678901234567890 3.14159 1,000,000.50 ½ ⅓ ² ³ ٣ ๓",
    "Special strings: <|endoftext|> <|begin_of_text|><|end_of_text|> <s> </s> <unk> <pad> <bos> <eos>",
    "Chat: <|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n<think>\n</think>\nok<|im_end|> <start_of_turn>",
    "Partial specials: <|endoftext| <|im_start <s </s <<s>> <|<|endoftext|>|>",
    "Spaces: nbsp\u00a0here, ideographic\u3000here, zwsp\u200bhere, nel\u0085here, ls\u2028here, bom\ufeffhere",
    "Punctuation: !!!???...,,,;;; ---- ==== ''' \"\"\" ``` ~~~ @@@ ### $$$ %%% ^^^ &&& *** ((( )))",
    "Code: def f(x):\n    return x**2  # square\n\tif x != 0: print(f'{x:>8}')\n",
    "URL: https://example.com/path/to/file.html?query=1&b=two#frag user@example.org",
    "a" * 300 + " " + "abc" * 120 + " " + "😀" * 40,
    "Trailing spaces   ",
    "   Leading spaces",
    "\t",
    "x",
]

INVALID = [
    b"Invalid: \xff\xfe end",
    b"Truncated: \xc3( \xe2\x82 \xf0\x9f\x98 end",
    b"Overlong: \xc0\xaf surrogate \xed\xa0\x80 high \xf4\x90\x80\x80 end",
    b"Lone continuation: \x80\x81 \xbf end",
]


def write(path):
    data = b"\n".join([c.encode("utf-8") for c in CASES] + INVALID) + b"\n"
    with open(path, "wb") as f:
        f.write(data)
