#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.h"
#include "io/safetensors.h"
#include "test_util.h"

namespace anatomy::io {
namespace {

using test::TempDir;

// A raw safetensors file: little-endian length, header text, data.
std::string raw(const std::string& header, const std::string& data, std::optional<uint64_t> length = {}) {
  const uint64_t n = length.value_or(header.size());
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(n >> (8 * i));
  return out + header + data;
}

// Expects read_safetensors to throw an error whose message names the file and `field`.
void expect_bad(const std::string& bytes, const std::string& field) {
  TempDir tmp;
  const std::string path = tmp / "bad.safetensors";
  test::write_file(path, bytes);
  test::expect_error([&] { read_safetensors(path); }, {path, field});
}

const std::string kOne = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";

TEST(Safetensors, WriterRoundTrip) {
  TempDir tmp;
  Tensor a = Tensor::zeros(DType::BF16, {3, 4});
  Tensor b = Tensor::zeros(DType::F32, {5});
  b.data<float>()[2] = 7.5f;
  write_safetensors(tmp / "m.safetensors", {{"x.weight", a}, {"x.bias", b}});
  const auto f = read_safetensors(tmp / "m.safetensors");
  ASSERT_EQ(f.tensors.size(), 2u);
  EXPECT_EQ(f.tensors[0].name, "x.weight");
  EXPECT_EQ(f.tensors[0].dtype, DType::BF16);
  EXPECT_EQ(f.tensors[0].shape, (Shape{3, 4}));
  EXPECT_EQ(f.tensors[1].offset % 8, 0u) << "data stays 8-byte aligned";
  EXPECT_EQ(f.metadata.at("format"), "pt");
  EXPECT_EQ(f.header_bytes + 24 + 20, f.file_size);
  EXPECT_FALSE(std::filesystem::exists(tmp / "m.safetensors.tmp"));
}

TEST(Safetensors, EmptyAndScalarTensorsAreAccepted) {
  TempDir tmp;
  test::write_file(tmp / "ok.safetensors",
                   raw(R"({"e":{"dtype":"F32","shape":[2,0],"data_offsets":[0,0]},)"
                       R"("s":{"dtype":"F32","shape":[],"data_offsets":[0,4]}})", "abcd"));
  EXPECT_EQ(read_safetensors(tmp / "ok.safetensors").tensors.size(), 2u);
}

TEST(Safetensors, HeaderLengthBounds) {
  expect_bad("", "header length");
  expect_bad(std::string(7, '\0'), "header length");
  expect_bad(raw("{}", "", uint64_t{1} << 63), "header length");
  expect_bad(raw("{}", "", UINT64_MAX), "header length");
  expect_bad(raw("{}", "", 100'000'001), "header length");
  expect_bad(raw(kOne, "12345678", 4096), "header length");  // larger than the file
}

TEST(Safetensors, HeaderMustBeStrictJsonObject) {
  expect_bad(raw("\xff\xfe{}", ""), "invalid JSON");
  expect_bad(raw("not json", ""), "invalid JSON");
  expect_bad(raw("[1,2]", ""), "not a JSON object");
  expect_bad(raw(std::string(100000, '[') + std::string(100000, ']'), ""), "nested");
  expect_bad(raw(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", "1234"), "duplicate key");
  expect_bad(raw(R"({"__metadata__":{"k":1}})", ""), "__metadata__.k");
  expect_bad(raw(std::string(R"({"a\u0000b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})"), "1234"), "NUL");
}

TEST(Safetensors, EntriesAreValidated) {
  expect_bad(raw(R"({"a":{"dtype":"F8_E9","shape":[2],"data_offsets":[0,8]}})", "12345678"), "tensor 'a'.dtype");
  expect_bad(raw(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", "12345678"), "needs 12");
  expect_bad(raw(R"({"a":{"dtype":"F32","shape":[9223372036854775808],"data_offsets":[0,8]}})", "12345678"), "shape");
  expect_bad(raw(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", "12345678"), "before begin");
  expect_bad(raw(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[-1,7]}})", "12345678"), "data_offsets");
  expect_bad(raw(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0.5,8]}})", "12345678"), "data_offsets");
  expect_bad(raw(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}})", "12345678"), "unknown field");
}

TEST(Safetensors, DataMustTileTheFile) {
  const std::string two = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)";
  expect_bad(raw(two + R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", "123456789012"), "overlaps");
  expect_bad(raw(two + R"("b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}})", std::string(20, 'x')), "gap");
  expect_bad(raw(kOne, "1234"), "past the end");
  expect_bad(raw(kOne, "1234567890"), "trailing bytes");
}

TEST(Safetensors, ManyTensorsStayBounded) {
  std::string header = "{";
  std::string data;
  for (int i = 0; i < 1'000'000; ++i) {
    if (i) header += ',';
    header += "\"t" + std::to_string(i) + R"(":{"dtype":"U8","shape":[1],"data_offsets":[)" +
              std::to_string(i) + "," + std::to_string(i + 1) + "]}";
  }
  header += "}";
  data.assign(1'000'000, 'x');
  TempDir tmp;
  test::write_file(tmp / "many.safetensors", raw(header, data));
  EXPECT_EQ(read_safetensors(tmp / "many.safetensors").tensors.size(), 1'000'000u);
}

class Sharded : public ::testing::Test {
 protected:
  void SetUp() override {
    write_safetensors_sharded(tmp.path(), {{"a", Tensor::zeros(DType::F32, {4})}, {"b", Tensor::zeros(DType::F32, {4})}}, 16);
  }
  void index(const std::string& weight_map) {
    test::write_file(tmp / "model.safetensors.index.json", R"({"metadata":{},"weight_map":)" + weight_map + "}");
  }
  void expect_bad_index(const std::string& field) {
    try {
      read_safetensors_index(tmp / "model.safetensors.index.json");
      FAIL() << "accepted a bad index (" << field << ")";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("model.safetensors.index.json"), std::string::npos) << e.what();
    }
  }
  TempDir tmp;
};

TEST_F(Sharded, WriterRoundTrip) {
  const auto shards = read_safetensors_index(tmp / "model.safetensors.index.json");
  ASSERT_EQ(shards.size(), 2u);
  EXPECT_EQ(shards[0].tensors[0].name, "a");
  EXPECT_EQ(shards[1].tensors[0].name, "b");
}

TEST_F(Sharded, PathsMustStayInTheFolder) {
  index(R"({"a":"../x.safetensors"})");
  expect_bad_index("leaves the folder");
  index(R"({"a":"/etc/passwd"})");
  expect_bad_index("not a relative file name");
  TempDir outside;
  write_safetensors(outside / "evil.safetensors", {{"a", Tensor::zeros(DType::F32, {4})}});
  std::filesystem::create_symlink(outside / "evil.safetensors", tmp / "link.safetensors");
  index(R"({"a":"link.safetensors"})");
  expect_bad_index("outside");
}

TEST_F(Sharded, EachTensorInExactlyOneShard) {
  write_safetensors(tmp / "dup.safetensors", {{"a", Tensor::zeros(DType::F32, {4})}});
  index(R"({"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors","c":"dup.safetensors"})");
  expect_bad_index("two shards");
  index(R"({"a":"model-00001-of-00002.safetensors","b":"missing.safetensors"})");
  expect_bad_index("missing");
  index(R"({"b":"model-00001-of-00002.safetensors"})");
  expect_bad_index("not in weight_map");
  index(R"({"a":"model-00002-of-00002.safetensors","b":"model-00002-of-00002.safetensors"})");
  expect_bad_index("not found in shard");
}

}  // namespace
}  // namespace anatomy::io
