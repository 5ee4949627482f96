// libFuzzer target: tokenizer.json is untrusted input. The bytes are parsed as a whole tokenizer
// (model, merges, normalizer, pre-tokenizer regexes, added tokens, post-processor, decoder); when
// one loads, it encodes and decodes a mixed text and the input itself. A refusal is fine; a
// crash, a hang (libFuzzer's -timeout per input) or unbounded memory is a bug.
#include <string_view>

#include "fuzz_input.h"
#include "tokenizer/load.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return anatomy::fuzz::run_one([&] {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    const auto tok = anatomy::tokenizer::parse_tokenizer_json(bytes, "tokenizer.json");
    for (const std::string_view text : {std::string_view("Hello world! 12345 中文 🙂 <s> it's  \n\t x"), bytes.substr(0, 512)}) {
      anatomy::tokenizer::EncodeOptions o;
      o.offsets = true;
      const auto enc = tok->encode(tok->prepare(text, nullptr), o);
      (void)tok->decode(enc.ids);
    }
  });
}
