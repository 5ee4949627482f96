#include "io/pickle.h"

#include <cstring>
#include <map>
#include <unordered_map>

#include <fmt/format.h>

#include "core/error.h"

namespace anatomy::io {
namespace {

using Kind = PickleValue::Kind;

// Globals a checkpoint may name. Everything else ("os.system", "builtins.eval", …) is refused.
const std::map<std::string, DType, std::less<>>& storage_types() {
  static const std::map<std::string, DType, std::less<>> t = {
      {"torch.FloatStorage", DType::F32}, {"torch.DoubleStorage", DType::F64}, {"torch.HalfStorage", DType::F16},
      {"torch.BFloat16Storage", DType::BF16}, {"torch.LongStorage", DType::I64}, {"torch.IntStorage", DType::I32},
      {"torch.ShortStorage", DType::I16}, {"torch.CharStorage", DType::I8}, {"torch.ByteStorage", DType::U8},
      {"torch.BoolStorage", DType::BOOL}};
  return t;
}

bool allowed_global(const std::string& name) {
  static const char* const plain[] = {"collections.OrderedDict", "torch._utils._rebuild_tensor_v2",
                                      "torch._utils._rebuild_parameter", "torch.Size",
                                      "torch.float32", "torch.float64", "torch.float16", "torch.bfloat16",
                                      "torch.int64", "torch.int32", "torch.int16", "torch.int8", "torch.uint8",
                                      "torch.bool"};
  for (const char* p : plain)
    if (name == p) return true;
  return storage_types().count(name) > 0;
}

constexpr size_t kMaxStack = 1 << 20;

class Machine {
 public:
  Machine(std::string_view data, const std::string& what, bool* ran_out) : d_(data), what_(what), ran_out_(ran_out) {}

  Pickle run(size_t* used) {
    for (;;) {
      const uint8_t op = u8();
      if (op == '.') break;
      step(op);
    }
    if (stack_.size() != 1 || !marks_.empty()) bad("STOP with a stack of " + std::to_string(stack_.size()) + " values");
    if (used) *used = pos_;
    p_.root = stack_[0];
    return std::move(p_);
  }

 private:
  [[noreturn]] void bad(const std::string& why) const {
    fail(ErrorKind::format, fmt::format("{}: pickle byte {}: {}", what_, op_pos_, why));
  }

  const char* take(uint64_t n) {
    if (n > d_.size() - pos_) {
      if (ran_out_) *ran_out_ = true;
      bad(fmt::format("needs {} bytes, {} left", n, d_.size() - pos_));
    }
    const char* p = d_.data() + pos_;
    pos_ += n;
    return p;
  }
  uint8_t u8() {
    op_pos_ = pos_;
    return static_cast<uint8_t>(*take(1));
  }
  uint64_t le(int bytes) {
    const auto* p = reinterpret_cast<const uint8_t*>(take(static_cast<uint64_t>(bytes)));
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
    return v;
  }
  std::string line() {
    const size_t end = d_.find('\n', pos_);
    if (end == std::string_view::npos && d_.size() - pos_ <= 256 && ran_out_) *ran_out_ = true;
    if (end == std::string_view::npos || end - pos_ > 256) bad("GLOBAL name without a newline within 256 bytes");
    std::string s(d_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return s;
  }

  uint32_t make(PickleValue v) {
    if (p_.values.size() >= std::numeric_limits<uint32_t>::max()) bad("too many values");
    p_.values.push_back(std::move(v));
    return static_cast<uint32_t>(p_.values.size() - 1);
  }
  uint32_t make(Kind k) {
    PickleValue v;
    v.kind = k;
    return make(std::move(v));
  }
  void push(uint32_t v) {
    if (stack_.size() >= kMaxStack) bad("stack deeper than 2^20");
    stack_.push_back(v);
  }
  uint32_t pop() {
    if (stack_.size() <= (marks_.empty() ? 0 : marks_.back())) bad("pop from an empty stack");
    const uint32_t v = stack_.back();
    stack_.pop_back();
    return v;
  }
  uint32_t top() {
    if (stack_.size() <= (marks_.empty() ? 0 : marks_.back())) bad("empty stack");
    return stack_.back();
  }
  std::vector<uint32_t> pop_mark() {
    if (marks_.empty()) bad("no MARK to pop to");
    std::vector<uint32_t> items(stack_.begin() + static_cast<std::ptrdiff_t>(marks_.back()), stack_.end());
    stack_.resize(marks_.back());
    marks_.pop_back();
    return items;
  }
  PickleValue& val(uint32_t i) { return p_.values[i]; }
  PickleValue& container(uint32_t i, Kind k, const char* op) {
    if (val(i).kind != k) bad(fmt::format("{} on a value that is not a {}", op, k == Kind::list ? "list" : "dict"));
    return val(i);
  }

  void text(Kind k, uint64_t n) {
    PickleValue v;
    v.kind = k;
    v.text.assign(take(n), n);
    push(make(std::move(v)));
  }
  void integer(int64_t i, Kind k = Kind::integer) {
    PickleValue v;
    v.kind = k;
    v.integer = i;
    push(make(std::move(v)));
  }
  void tuple(std::vector<uint32_t> items) {
    PickleValue v;
    v.kind = Kind::tuple;
    v.items = std::move(items);
    push(make(std::move(v)));
  }
  void global(const std::string& name) {
    if (!allowed_global(name)) bad("global '" + name + "' is not allowed (anatomy executes nothing from a pickle)");
    PickleValue v;
    v.kind = Kind::global;
    v.text = name;
    push(make(std::move(v)));
  }
  void memo_put(uint64_t key) {
    if (memo_.size() > d_.size()) bad("memo larger than the pickle");
    memo_[key] = top();
  }
  void memo_get(uint64_t key) {
    auto it = memo_.find(key);
    if (it == memo_.end()) bad(fmt::format("memo key {} was never stored", key));
    push(it->second);
  }

  void step(uint8_t op);
  void reduce();
  void persistent_id();
  std::vector<int64_t> int_tuple(uint32_t i, const char* what);

  std::string_view d_;
  const std::string& what_;
  bool* ran_out_;
  size_t pos_ = 0, op_pos_ = 0;
  Pickle p_;
  std::vector<uint32_t> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, uint32_t> memo_;
};

void Machine::step(uint8_t op) {
  switch (op) {
    case 0x80: u8(); break;          // PROTO
    case 0x95: take(8); break;       // FRAME: a length hint only
    case '(': marks_.push_back(stack_.size()); break;
    case '0': pop(); break;          // POP
    case '1': pop_mark(); break;     // POP_MARK
    case '2': push(top()); break;    // DUP
    case 'N': push(make(Kind::none)); break;
    case 0x88: integer(1, Kind::boolean); break;
    case 0x89: integer(0, Kind::boolean); break;
    case 'J': integer(static_cast<int32_t>(le(4))); break;
    case 'K': integer(static_cast<int64_t>(le(1))); break;
    case 'M': integer(static_cast<int64_t>(le(2))); break;
    case 0x8a: {  // LONG1: n-byte two's complement
      const auto n = static_cast<int>(le(1));
      if (n > 8) bad(fmt::format("integer of {} bytes (at most 8)", n));
      uint64_t v = n ? le(n) : 0;
      if (n > 0 && n < 8 && (v >> (8 * n - 1)) & 1) v |= ~uint64_t{0} << (8 * n);
      integer(static_cast<int64_t>(v));
      break;
    }
    case 'G': {  // BINFLOAT, big-endian
      uint64_t bits = 0;
      for (const char* p = take(8), *e = p + 8; p < e; ++p) bits = (bits << 8) | static_cast<uint8_t>(*p);
      PickleValue v;
      v.kind = Kind::floating;
      std::memcpy(&v.floating, &bits, 8);
      push(make(std::move(v)));
      break;
    }
    case 'X': case 'T': text(Kind::string, le(4)); break;
    case 0x8c: case 'U': text(Kind::string, le(1)); break;
    case 0x8d: text(Kind::string, le(8)); break;
    case 'B': text(Kind::bytes, le(4)); break;
    case 'C': text(Kind::bytes, le(1)); break;
    case 0x8e: text(Kind::bytes, le(8)); break;
    case ')': tuple({}); break;
    case 't': tuple(pop_mark()); break;
    case 0x85: { const uint32_t a = pop(); tuple({a}); break; }
    case 0x86: { const uint32_t b = pop(), a = pop(); tuple({a, b}); break; }
    case 0x87: { const uint32_t c = pop(), b = pop(), a = pop(); tuple({a, b, c}); break; }
    case ']': push(make(Kind::list)); break;
    case 'l': { auto items = pop_mark(); const uint32_t l = make(Kind::list); val(l).items = std::move(items); push(l); break; }
    case 'a': { const uint32_t v = pop(); container(top(), Kind::list, "APPEND").items.push_back(v); break; }
    case 'e': { auto items = pop_mark(); auto& l = container(top(), Kind::list, "APPENDS").items; l.insert(l.end(), items.begin(), items.end()); break; }
    case '}': push(make(Kind::dict)); break;
    case 'd': case 's': case 'u': {
      auto items = op == 's' ? std::vector<uint32_t>{} : pop_mark();
      if (op == 's') { const uint32_t v = pop(), k = pop(); items = {k, v}; }
      if (items.size() % 2) bad("dict items: a key without a value");
      if (op == 'd') push(make(Kind::dict));
      auto& d = container(top(), Kind::dict, "SETITEMS").items;
      d.insert(d.end(), items.begin(), items.end());
      break;
    }
    case 'q': memo_put(le(1)); break;
    case 'r': memo_put(le(4)); break;
    case 0x94: memo_put(memo_.size()); break;
    case 'h': memo_get(le(1)); break;
    case 'j': memo_get(le(4)); break;
    case 'c': { std::string module = line(); global(module + "." + line()); break; }
    case 0x93: {  // STACK_GLOBAL: module and name from the stack, same allow-list
      const uint32_t name = pop(), module = pop();
      if (val(name).kind != Kind::string || val(module).kind != Kind::string) bad("STACK_GLOBAL needs two strings");
      global(val(module).text + "." + val(name).text);
      break;
    }
    case 'R': reduce(); break;
    case 'b': {  // BUILD: object state (an OrderedDict's _metadata, a parameter's __dict__) is not needed
      pop();
      const Kind k = val(top()).kind;
      if (k != Kind::dict && k != Kind::tensor) bad("BUILD on a value that is neither a dict nor a tensor");
      break;
    }
    case 'Q': persistent_id(); break;
    default: {
      static const std::map<uint8_t, const char*> refused = {
          {'i', "INST"}, {'o', "OBJ"}, {0x81, "NEWOBJ"}, {0x92, "NEWOBJ_EX"}, {0x82, "EXT1"}, {0x83, "EXT2"},
          {0x84, "EXT4"}, {'P', "PERSID"}, {'S', "STRING"}, {'V', "UNICODE"}, {'I', "INT"}, {'L', "LONG"},
          {'F', "FLOAT"}, {'p', "PUT"}, {'g', "GET"}, {0x8b, "LONG4"}, {0x8f, "EMPTY_SET"}, {0x90, "ADDITEMS"},
          {0x91, "FROZENSET"}, {0x96, "BYTEARRAY8"}, {0x97, "NEXT_BUFFER"}, {0x98, "READONLY_BUFFER"}};
      auto it = refused.find(op);
      bad(it != refused.end() ? fmt::format("opcode {} is not allowed", it->second) : fmt::format("unknown opcode 0x{:02x}", op));
    }
  }
}

std::vector<int64_t> Machine::int_tuple(uint32_t i, const char* what) {
  const PickleValue& t = val(i);
  if (t.kind != Kind::tuple) bad(fmt::format("tensor {} is not a tuple", what));
  std::vector<int64_t> out;
  for (uint32_t item : t.items) {
    if (val(item).kind != Kind::integer) bad(fmt::format("tensor {} holds a non-integer", what));
    out.push_back(val(item).integer);
  }
  return out;
}

// Only the allow-listed callables, each checked for the argument shapes it expects.
void Machine::reduce() {
  const uint32_t args = pop(), fn = pop();
  if (val(fn).kind != Kind::global) bad("REDUCE of a value that is not an allowed global");
  if (val(args).kind != Kind::tuple) bad("REDUCE arguments are not a tuple");
  const std::string& name = val(fn).text;
  const std::vector<uint32_t> a = val(args).items;
  if (name == "collections.OrderedDict") {
    if (!a.empty()) bad("OrderedDict with arguments");
    push(make(Kind::dict));
  } else if (name == "torch.Size") {
    if (a.size() != 1 || val(a[0]).kind != Kind::tuple) bad("torch.Size expects one tuple");
    push(a[0]);
  } else if (name == "torch._utils._rebuild_parameter") {
    if (a.size() != 3 || val(a[0]).kind != Kind::tensor) bad("_rebuild_parameter expects (tensor, requires_grad, hooks)");
    push(a[0]);
  } else if (name == "torch._utils._rebuild_tensor_v2") {
    if (a.size() < 6 || a.size() > 7) bad("_rebuild_tensor_v2 expects 6 or 7 arguments");
    if (val(a[0]).kind != Kind::storage) bad("_rebuild_tensor_v2: the first argument is not a storage reference");
    if (val(a[1]).kind != Kind::integer || val(a[1]).integer < 0) bad("_rebuild_tensor_v2: bad storage offset");
    PickleValue t;
    t.kind = Kind::tensor;
    t.items = {a[0]};
    t.offset = static_cast<uint64_t>(val(a[1]).integer);
    t.shape = int_tuple(a[2], "size");
    t.stride = int_tuple(a[3], "stride");
    if (t.shape.size() != t.stride.size() || t.shape.size() > 8) bad("_rebuild_tensor_v2: size and stride disagree");
    t.dtype = val(a[0]).dtype;
    push(make(std::move(t)));
  } else {
    bad("global '" + name + "' cannot be called");
  }
}

// ('storage', storage type, key, location, numel) → a storage reference, one per key.
void Machine::persistent_id() {
  const uint32_t pid = pop();
  const auto& t = val(pid);
  if (t.kind != Kind::tuple || t.items.size() < 5 || val(t.items[0]).text != "storage")
    bad("persistent id is not ('storage', type, key, location, numel)");
  const auto& type = val(t.items[1]);
  const auto& key = val(t.items[2]);
  const auto& location = val(t.items[3]);
  const auto& numel = val(t.items[4]);
  auto st = type.kind == Kind::global ? storage_types().find(type.text) : storage_types().end();
  if (st == storage_types().end()) bad("persistent id names no storage type");
  if (key.kind != Kind::string || location.kind != Kind::string || numel.kind != Kind::integer || numel.integer < 0)
    bad("persistent id fields have the wrong types");
  // 2^56 elements (≥ 64 PiB) bounds every byte size computed from it far below 2^64.
  if (numel.integer > (int64_t{1} << 56)) bad(fmt::format("storage of {} elements is absurd", numel.integer));
  PickleValue s;
  s.kind = Kind::storage;
  s.dtype = st->second;
  s.text = key.text;
  s.location = location.text;
  s.numel = static_cast<uint64_t>(numel.integer);
  push(make(std::move(s)));
}

}  // namespace

Pickle read_pickle(std::string_view data, const std::string& what, size_t* used, bool* ran_out) {
  if (ran_out) *ran_out = false;
  return Machine(data, what, ran_out).run(used);
}

}  // namespace anatomy::io
