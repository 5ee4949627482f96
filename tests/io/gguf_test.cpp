#include <gtest/gtest.h>

#include <fmt/format.h>

#include "core/error.h"
#include "io/gguf.h"
#include "io/gguf_writer.h"
#include "test_util.h"

namespace anatomy::io {
namespace {

using test::TempDir;

// Builds GGUF bytes field by field, so that each malformed case changes exactly one thing.
struct Bytes {
  std::string s;
  template <class T>
  Bytes& put(T v) {
    s.append(reinterpret_cast<const char*>(&v), sizeof v);
    return *this;
  }
  Bytes& str(const std::string& v) {
    put<uint64_t>(v.size());
    s += v;
    return *this;
  }
  Bytes& header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
    s += "GGUF";
    return put(version).put(n_tensors).put(n_kv);
  }
  Bytes& kv_u32(const std::string& key, uint32_t v) { return str(key).put<uint32_t>(4).put(v); }
  Bytes& kv_str(const std::string& key, const std::string& v) { return str(key).put<uint32_t>(8).str(v); }
  // One F32 tensor info of shape ne (GGUF order).
  Bytes& tensor(const std::string& name, std::vector<uint64_t> ne, uint64_t offset, uint32_t type = 0) {
    str(name).put<uint32_t>(static_cast<uint32_t>(ne.size()));
    for (auto d : ne) put(d);
    return put(type).put(offset);
  }
  Bytes& pad_to(size_t align) {
    s.resize((s.size() + align - 1) / align * align, '\0');
    return *this;
  }
  Bytes& data(size_t n) {
    s.append(n, '\0');
    return *this;
  }
};

void expect_bad(const std::string& bytes, const std::string& field) {
  TempDir tmp;
  const std::string path = tmp / "bad.gguf";
  test::write_file(path, bytes);
  test::expect_error([&] { read_gguf(path); }, {path, field});
}

TEST(Gguf, WriterRoundTrip) {
  TempDir tmp;
  GgufWriter w;
  w.add_string("general.architecture", "llama");
  w.add_u32("llama.block_count", 2);
  w.add_f32("llama.rope.freq_base", 10000.0f);
  w.add_strings("tokenizer.ggml.tokens", {"a", "b", "c"});
  Tensor t = Tensor::zeros(DType::F32, {3, 5});
  w.add_tensor("token_embd.weight", t);
  w.add_tensor("output_norm.weight", Tensor::zeros(DType::F16, {5}));
  w.write(tmp / "m.gguf");
  const GgufFile f = read_gguf(tmp / "m.gguf");
  EXPECT_EQ(f.version, 3u);
  EXPECT_EQ(f.architecture(), "llama");
  EXPECT_EQ(f.metadata["llama.block_count"], 2);
  EXPECT_EQ(f.metadata["tokenizer.ggml.tokens"].size(), 3u);
  ASSERT_EQ(f.tensors.size(), 2u);
  EXPECT_EQ(f.tensors[0].shape, (Shape{3, 5})) << "row-major, GGUF's ne reversed";
  EXPECT_EQ(f.tensors[1].dtype, DType::F16);
  EXPECT_EQ(f.tensors[0].offset % 32, 0u);
}

TEST(Gguf, HeaderIsValidated) {
  expect_bad("GGML" + std::string(20, '\0'), "magic");
  for (uint32_t v : {0u, 1u, 4u}) expect_bad(Bytes().header(0, 0, v).s, "version");
  expect_bad(Bytes().header(0, 0, 0x03000000u).s, "big-endian");
  expect_bad(Bytes().header(UINT64_MAX, 0).s, "n_tensors");
  expect_bad(Bytes().header(uint64_t{1} << 62, 0).s, "n_tensors");
  expect_bad(Bytes().header(0, UINT64_MAX).s, "n_kv");
}

TEST(Gguf, MetadataIsValidated) {
  expect_bad(Bytes().header(0, 1).kv_u32("", 1).s, "empty key");
  expect_bad(Bytes().header(0, 2).kv_u32("a", 1).kv_u32("a", 2).s, "duplicate key");
  expect_bad(Bytes().header(0, 1).str("a").put<uint32_t>(99).put<uint32_t>(0).s, "bad value type");
  expect_bad(Bytes().header(0, 1).str("a").put<uint32_t>(8).put<uint64_t>(UINT64_MAX).s, "string length");
  expect_bad(Bytes().header(0, 1).str("a").put<uint32_t>(8).put<uint64_t>(100).s, "string length");
  expect_bad(Bytes().header(0, 1).str("a").put<uint32_t>(9).put<uint32_t>(9).put<uint64_t>(1).s, "nested arrays");
  expect_bad(Bytes().header(0, 1).str("a").put<uint32_t>(9).put<uint32_t>(4).put<uint64_t>(uint64_t{1} << 60).s, "array");
  for (uint32_t a : {0u, 13u, 1u << 31}) expect_bad(Bytes().header(0, 1).kv_u32("general.alignment", a).s, "general.alignment");
  expect_bad(Bytes().header(0, 1).kv_str("general.alignment", "32").s, "general.alignment");
}

TEST(Gguf, TensorInfosAreValidated) {
  auto one = [](const std::string& name, std::vector<uint64_t> ne, uint64_t off, uint32_t type = 0) {
    return Bytes().header(1, 0).tensor(name, std::move(ne), off, type).pad_to(32).data(64).s;
  };
  expect_bad(one(std::string(65, 'n'), {4}, 0), "string length");
  expect_bad(one("t", {1, 1, 1, 1, 1}, 0), "n_dims");
  expect_bad(one("t", {0}, 0), "dimension");
  expect_bad(one("t", {uint64_t{1} << 61, uint64_t{1} << 61}, 0), "overflows");
  expect_bad(one("t", {4}, 0, 77), "type");
  expect_bad(one("t", {33}, 0, 2), "blocks");  // Q4_0 needs multiples of 32
  expect_bad(one("t", {4}, 3), "not aligned");
  expect_bad(one("t", {4}, 64), "past the end");
  expect_bad(Bytes().header(2, 0).tensor("t", {4}, 0).tensor("t", {4}, 32).pad_to(32).data(64).s, "duplicate tensor");
  expect_bad(Bytes().header(2, 0).tensor("a", {16}, 0).tensor("b", {4}, 32).pad_to(32).data(96).s, "overlaps");
}

TEST(Gguf, DimensionsAndCountsThatLookNegative) {
  auto one = [](std::vector<uint64_t> ne) { return Bytes().header(1, 0).tensor("t", std::move(ne), 0).pad_to(32).data(32).s; };
  expect_bad(one({uint64_t{1} << 63}), "dimension");  // -2^63 as int64
  expect_bad(one({4, UINT64_MAX}), "dimension");      // -1
  expect_bad(Bytes().header(0, uint64_t{1} << 62).s, "n_kv");
}

TEST(Gguf, TokenizerMetadataIsChecked) {
  auto strings = [](Bytes& b, const std::string& key, int n) -> Bytes& {
    b.str(key).put<uint32_t>(9).put<uint32_t>(8).put<uint64_t>(static_cast<uint64_t>(n));
    for (int i = 0; i < n; ++i) b.str(fmt::format("t{}", i));
    return b;
  };
  auto i32s = [](Bytes& b, const std::string& key, int n) -> Bytes& {
    b.str(key).put<uint32_t>(9).put<uint32_t>(5).put<uint64_t>(static_cast<uint64_t>(n));
    for (int i = 0; i < n; ++i) b.put<int32_t>(0);
    return b;
  };
  Bytes wrong_type = Bytes().header(0, 2);
  strings(wrong_type, "tokenizer.ggml.tokens", 3);
  expect_bad(i32s(wrong_type, "tokenizer.ggml.scores", 3).s, "the GGUF spec says");
  Bytes short_types = Bytes().header(0, 2);
  strings(short_types, "tokenizer.ggml.tokens", 3);
  expect_bad(i32s(short_types, "tokenizer.ggml.token_type", 2).s, "2 entries for 3 tokens");
  Bytes bos = Bytes().header(0, 2);
  strings(bos, "tokenizer.ggml.tokens", 3);
  expect_bad(bos.kv_u32("tokenizer.ggml.bos_token_id", 3).s, "not below the vocabulary size 3");
  expect_bad(Bytes().header(0, 1).str("tokenizer.ggml.eos_token_id").put<uint32_t>(5).put<int32_t>(1).s, "spec says");
}

TEST(Gguf, NamesMapToHuggingFace) {
  EXPECT_EQ(gguf_to_hf_name("llama", "blk.3.attn_q.weight")->hf_name, "model.layers.3.self_attn.q_proj.weight");
  EXPECT_EQ(gguf_to_hf_name("llama", "blk.3.attn_q.weight")->layout, GgufNameMapping::Layout::rope_permuted);
  EXPECT_EQ(gguf_to_hf_name("llama", "output.weight")->hf_name, "lm_head.weight");
  EXPECT_FALSE(gguf_to_hf_name("llama", "rope_freqs.weight").has_value());
  EXPECT_EQ(gguf_to_hf_name("gpt2", "blk.0.attn_qkv.weight")->hf_name, "transformer.h.0.attn.c_attn.weight");
  EXPECT_EQ(gguf_to_hf_name("gpt2", "blk.0.attn_qkv.weight")->layout, GgufNameMapping::Layout::transposed);
  EXPECT_EQ(gguf_to_hf_name("mamba2", "blk.7.ssm_dt.bias")->hf_name, "backbone.layers.7.mixer.dt_bias");
  EXPECT_EQ(gguf_to_hf_name("mamba2", "blk.7.ssm_a")->hf_name, "backbone.layers.7.mixer.A_log");
  EXPECT_EQ(gguf_to_hf_name("nemotron_h", "blk.1.ffn_up.weight")->hf_name, "backbone.layers.1.mixer.up_proj.weight");
  EXPECT_THROW(gguf_to_hf_name("falcon", "output.weight"), Error);
}

}  // namespace
}  // namespace anatomy::io
