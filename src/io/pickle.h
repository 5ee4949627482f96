// A pickle reader that executes nothing: the subset of the pickle machine that torch.save writes
// (protocols 2–5), over an allow-list of opcodes and of globals. A global outside the list, and
// every opcode that would call or import something else (INST, OBJ, NEWOBJ, EXT*), is refused by
// name. REDUCE applies only the allow-listed constructors (OrderedDict, torch.Size, the tensor and
// parameter rebuilders), and BINPERSID only resolves ('storage', type, key, location, numel)
// references. Values live in one arena addressed by index, so a hostile pickle can neither
// recurse the C++ stack when freed nor leak through reference cycles.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/dtype.h"

namespace anatomy::io {

struct PickleValue {
  enum class Kind { none, boolean, integer, floating, string, bytes, tuple, list, dict, global, storage, tensor };
  Kind kind = Kind::none;
  int64_t integer = 0;              // boolean, integer
  double floating = 0;
  std::string text;                 // string, bytes, global ("module.name"), storage key
  std::vector<uint32_t> items;      // tuple, list; dict: key, value, key, value, …
  // storage: dtype, numel (elements), location; tensor: storage index in `items[0]`, offset,
  // shape, stride (in elements).
  DType dtype = DType::F32;
  uint64_t numel = 0;
  std::string location;
  uint64_t offset = 0;
  std::vector<int64_t> shape, stride;
};

struct Pickle {
  std::vector<PickleValue> values;  // the arena
  uint32_t root = 0;
  const PickleValue& at(uint32_t i) const { return values.at(i); }
};

// Parses one pickle from `data` (`what` names it in errors: "model.pt: data.pkl"); `used` gets
// the number of bytes it occupied (legacy checkpoints hold several pickles back to back), and
// `ran_out` is set when it failed only because `data` ended (a longer prefix may parse).
Pickle read_pickle(std::string_view data, const std::string& what, size_t* used = nullptr, bool* ran_out = nullptr);

}  // namespace anatomy::io
