// The unpickler on hand-written pickles: the values torch.save writes, and every refusal. The
// files torch itself writes (good and hostile) are checked end to end by tests/torch/check.py.
#include <gtest/gtest.h>

#include "core/error.h"
#include "io/pickle.h"
#include "test_util.h"

namespace anatomy::io {
namespace {

using Kind = PickleValue::Kind;
using namespace std::string_literals;

Pickle parse(const std::string& bytes) { return read_pickle(bytes, "t.pkl"); }

void expect_refused(const std::string& bytes, const std::string& must_name) {
  test::expect_error([&] { parse(bytes); }, {"t.pkl", must_name});
}

TEST(Pickle, Scalars) {
  // (None, True, -2 as LONG1, 70000 as BININT, 1.5, "hé", b"\x01")
  const std::string bytes = "\x80\x02(N\x88\x8a\x01\xfeJ\x70\x11\x01\x00G\x3f\xf8\x00\x00\x00\x00\x00\x00X\x03\x00\x00\x00h\xc3\xa9" "C\x01\x01t."s;
  const Pickle p = parse(bytes);
  const auto& t = p.at(p.root);
  ASSERT_EQ(t.kind, Kind::tuple);
  ASSERT_EQ(t.items.size(), 7u);
  EXPECT_EQ(p.at(t.items[0]).kind, Kind::none);
  EXPECT_EQ(p.at(t.items[1]).integer, 1);
  EXPECT_EQ(p.at(t.items[2]).integer, -2);
  EXPECT_EQ(p.at(t.items[3]).integer, 70000);
  EXPECT_EQ(p.at(t.items[4]).floating, 1.5);
  EXPECT_EQ(p.at(t.items[5]).text, "h\xc3\xa9");
  EXPECT_EQ(p.at(t.items[6]).kind, Kind::bytes);
}

TEST(Pickle, TensorFromStorageAndMemo) {
  // {'w': _rebuild_tensor_v2(pid('storage', FloatStorage, '0', 'cpu', 6), 0, (2, 3), (3, 1), False, OrderedDict())}
  const std::string bytes =
      "\x80\x02}q\x00X\x01\x00\x00\x00wq\x01" "ctorch._utils\n_rebuild_tensor_v2\nq\x02"
      "((X\x07\x00\x00\x00storageq\x03" "ctorch\nFloatStorage\nX\x01\x00\x00\x00" "0X\x03\x00\x00\x00" "cpuK\x06tQ"
      "K\x00K\x02K\x03\x86K\x03K\x01\x86\x89" "ccollections\nOrderedDict\n)R"
      "tRs."s;
  const Pickle p = parse(bytes);
  const auto& d = p.at(p.root);
  ASSERT_EQ(d.kind, Kind::dict);
  const auto& t = p.at(d.items[1]);
  ASSERT_EQ(t.kind, Kind::tensor);
  EXPECT_EQ(t.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(t.stride, (std::vector<int64_t>{3, 1}));
  EXPECT_EQ(t.dtype, DType::F32);
  EXPECT_EQ(p.at(t.items[0]).numel, 6u);
  EXPECT_EQ(p.at(t.items[0]).text, "0");
}

TEST(Pickle, RefusesWhatWouldRunCode) {
  expect_refused("cos\nsystem\n."s, "'os.system' is not allowed");
  expect_refused("cbuiltins\neval\n."s, "'builtins.eval' is not allowed");
  expect_refused("\x8c\x02os\x8c\x06system\x93."s, "'os.system' is not allowed");
  expect_refused("(ios\nsystem\n."s, "INST");
  expect_refused("(ccollections\nOrderedDict\no."s, "OBJ");
  expect_refused("ccollections\nOrderedDict\n)\x81."s, "NEWOBJ");
  expect_refused("\x82\x01."s, "EXT1");
  expect_refused("ctorch\nSize\n(K\x01tR."s, "torch.Size expects one tuple");
  expect_refused("ctorch\nFloatStorage\n)R."s, "cannot be called");
  expect_refused("K\x01)R."s, "not an allowed global");
  expect_refused("(X\x07\x00\x00\x00storageK\x01X\x01\x00\x00\x00" "0X\x03\x00\x00\x00" "cpuK\x06tQ."s, "names no storage type");
  // numel 2^62: × 4 bytes would wrap to 0 and match an empty zip entry.
  expect_refused("(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x00" "0X\x03\x00\x00\x00"
                 "cpu\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x40tQ."s, "absurd");
}

TEST(Pickle, RefusesMalformedStreams) {
  expect_refused(""s, "needs 1 bytes");
  expect_refused("\x80\x02K\x01"s, "needs 1 bytes");             // no STOP
  expect_refused("X\xff\xff\xff\xff."s, "needs 4294967295 bytes");  // string past the end
  expect_refused("h\x00."s, "memo key 0 was never stored");
  expect_refused("0."s, "empty stack");
  expect_refused("K\x01K\x02."s, "STOP with a stack of 2");
  expect_refused("t."s, "no MARK");
  expect_refused("K\x01K\x01" "a."s, "not a list");
  expect_refused("}K\x01s."s, "empty stack");
  expect_refused("\x8a\x09\x01\x01\x01\x01\x01\x01\x01\x01\x01."s, "9 bytes");
  expect_refused("\xff."s, "unknown opcode 0xff");
  expect_refused("c" + std::string(300, 'a') + "\nb\n.", "newline within 256 bytes");
}

TEST(Pickle, ReportsRunningOut) {
  bool ran_out = false;
  EXPECT_THROW(read_pickle("\x80\x02]q\x00(K\x01"s, "t", nullptr, &ran_out), Error);
  EXPECT_TRUE(ran_out);
  EXPECT_THROW(read_pickle("\xff."s, "t", nullptr, &ran_out), Error);
  EXPECT_FALSE(ran_out);
  size_t used = 0;
  read_pickle("K\x05.trailing"s, "t", &used);
  EXPECT_EQ(used, 3u);
}

TEST(Pickle, SelfReferenceIsHarmless) {
  // A list memoized and appended to itself: a cycle in Python; here indices, freed without recursion.
  const Pickle p = parse("]q\x00h\x00" "a."s);
  EXPECT_EQ(p.at(p.root).items[0], p.root);
  // 100,000 nested lists (no recursion in parsing or freeing).
  std::string deep;
  for (int i = 0; i < 100000; ++i) deep += "]";
  for (int i = 0; i < 99999; ++i) deep += "a";
  EXPECT_EQ(parse(deep + ".").values.size(), 100000u);
}

}  // namespace
}  // namespace anatomy::io
