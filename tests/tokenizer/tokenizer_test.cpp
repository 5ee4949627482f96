// The tokenizer layer's parts on small hand-made inputs (the real vocabularies are checked id for
// id against Hugging Face, llama.cpp and SentencePiece by tests/tokenizers/check.py), and every
// malformed tokenizer.json refused in one line naming the file and the field, exit 2.
#include <gtest/gtest.h>

#include "test_util.h"
#include "tokenizer/added_tokens.h"
#include "tokenizer/load.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/unicode.h"

namespace anatomy::tokenizer {
namespace {

using test::TempDir;

TEST(Unicode, RepairReplacesEachMaximalInvalidSubpart) {
  size_t n = 0;
  EXPECT_EQ(repair_utf8("ok \xC3\xA9", &n), "ok \xC3\xA9");
  EXPECT_EQ(n, 0u);
  // A truncated 3-byte sequence is one subpart; a lone continuation byte is one each.
  EXPECT_EQ(repair_utf8("a\xE2\x82" "b\x80\x81", &n), "a\uFFFD" "b\uFFFD\uFFFD");
  EXPECT_EQ(n, 3u);
  // Overlong and surrogate encodings are invalid from their first byte.
  EXPECT_EQ(repair_utf8("\xC0\xAF\xED\xA0\x80", &n), "\uFFFD\uFFFD\uFFFD\uFFFD\uFFFD");
}

TEST(Unicode, ByteLevelAlphabetRoundTrips) {
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  std::string back;
  ASSERT_TRUE(byte_level_decode(byte_level_encode(all), back));
  EXPECT_EQ(back, all);
  EXPECT_EQ(byte_level_encode(" "), "\u0120");  // 'Ġ'
  EXPECT_FALSE(byte_level_decode("\u4E2D", back));
}

TEST(Unicode, NfcKeepsOffsetsOfUnchangedBytes) {
  std::vector<uint32_t> origin = {0, 1, 2, 3, 4};  // "e" + U+0301 + "x": 4 bytes and the end
  const std::string out = normalize("e\xCC\x81x", NormalForm::nfc, &origin);
  EXPECT_EQ(out, "\xC3\xA9x");
  EXPECT_EQ(origin, (std::vector<uint32_t>{0, 0, 3, 4}));
}

TEST(AddedTokens, LeftmostLongestMatch) {
  const AddedToken a{"<s>", 1, true}, b{"<s>x", 2, true}, c{"s>", 3, true};
  const AddedTokenMatcher m({&a, &b, &c});
  const auto hits = m.find_all("a<s>x<s>");
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].id, 2);
  EXPECT_EQ(hits[0].begin, 1u);
  EXPECT_EQ(hits[1].id, 1);
}

// A byte-level BPE where "aaa" tests the leftmost tie and the rank order of merges.
std::string tiny_json(const std::string& merges = R"(["a a", "aa a", "b c"])", const std::string& extra = "") {
  return R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "c": 2, "aa": 3, "aaa": 4, "bc": 5, "Ġ": 6},
            "merges": )" + merges + R"(}, "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false},
            "decoder": {"type": "ByteLevel"})" + extra + "}";
}

TEST(Bpe, MergesByRankLeftmostFirst) {
  const auto tok = parse_tokenizer_json(tiny_json(), "tiny.json");
  EXPECT_EQ(tok->encode("aaaa").ids, (std::vector<int32_t>{3, 3}));    // (aa)(aa), not (aaa)(a)
  EXPECT_EQ(tok->encode("aaaaa").ids, (std::vector<int32_t>{3, 4}));   // (aa)(aa)(a), then "aa a" on the right pair
  EXPECT_EQ(tok->encode("abc a").ids, (std::vector<int32_t>{0, 5, 6, 0}));
  EXPECT_EQ(tok->decode(tok->encode("abc aaaa").ids), "abc aaaa");
}

TEST(Bpe, OffsetsAreInputBytes) {
  const auto tok = parse_tokenizer_json(tiny_json(), "tiny.json");
  EncodeOptions o;
  o.offsets = true;
  const auto e = tok->encode("abc aa", o);
  ASSERT_EQ(e.ids.size(), 4u);
  EXPECT_EQ(e.offsets[1], (std::pair<uint32_t, uint32_t>{1, 3}));
  EXPECT_EQ(e.offsets[3], (std::pair<uint32_t, uint32_t>{4, 6}));
}

// Each malformed file: exit 2, one line, naming the file and the field.
struct BadCase {
  const char* name;
  std::string json;
  std::vector<std::string> must_name;
};

TEST(TokenizerJson, MalformedFilesAreRefusedNamingFileAndField) {
  TempDir tmp;
  const std::vector<BadCase> cases = {
      {"missing_model", R"({"pre_tokenizer": null})", {"missing 'model'"}},
      {"unknown_merge", tiny_json(R"(["a z"])"), {"model.merges[0]", "'z'"}},
      {"duplicate_id", R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 0}, "merges": []}})", {"model.vocab.b", "id 0"}},
      {"id_beyond", R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 7}, "merges": []}})", {"model.vocab.b", "beyond"}},
      {"bad_regex", tiny_json(R"([])", R"(, "normalizer": {"type": "Replace", "pattern": {"Regex": "(["}, "content": ""})"),
       {"normalizer.pattern.Regex", "cannot be compiled"}},
      {"unknown_pre", R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "pre_tokenizer": {"type": "Whatever"}})",
       {"pre_tokenizer.type", "'Whatever'"}},
      {"unigram", R"({"model": {"type": "Unigram", "vocab": []}})", {"model.type", "Unigram"}},
      {"not_json", "{\"model\": ", {"invalid JSON"}},
  };
  for (const auto& c : cases) {
    const std::string path = tmp / (std::string(c.name) + ".json");
    test::write_file(path, c.json);
    const auto r = test::run_anatomy("tokenize " + path + " --string hello");
    EXPECT_EQ(r.exit_code, 2) << c.name << ": " << r.err;
    EXPECT_TRUE(r.out.empty()) << c.name;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << c.name << ": " << r.err;
    EXPECT_NE(r.err.find(path), std::string::npos) << c.name << ": " << r.err;
    for (const auto& s : c.must_name) EXPECT_NE(r.err.find(s), std::string::npos) << c.name << ": " << r.err;
  }
}

TEST(TokenizeCommand, FormatsAndDecode) {
  TempDir tmp;
  const std::string path = tmp / "tokenizer.json";
  test::write_file(path, tiny_json());
  auto r = test::run_anatomy("tokenize " + path + " --string 'abc aaaa'");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "0 5 6 3 3\n");
  EXPECT_NE(r.err.find("5 tokens, 8 bytes"), std::string::npos) << r.err;
  r = test::run_anatomy("tokenize " + tmp.path() + " --string '0,5 6 3'" + " --decode");
  EXPECT_EQ(r.out, "abc aa");
  r = test::run_anatomy("tokenize " + path + " --string 'aa' --format json");
  const auto d = io::json::parse(r.out);
  EXPECT_EQ(d["schema"], "anatomy.tokenize/1");
  EXPECT_EQ(d["tokens"], io::json::array({"aa"}));
  EXPECT_EQ(d["offsets"], io::json::parse("[[0, 2]]"));
  r = test::run_anatomy("tokenize " + path + " --string '0 99' --decode");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("'99' is not a token id"), std::string::npos) << r.err;
  r = test::run_anatomy("tokenize " + tmp.path() + "/nothing --string x");
  EXPECT_EQ(r.exit_code, 2);
}

}  // namespace
}  // namespace anatomy::tokenizer
