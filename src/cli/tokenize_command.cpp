// `anatomy tokenize MODEL_OR_TOKENIZER (--text FILE | --string S)`: text to ids with the model's
// own tokenizer (or --tokenizer), and back with --decode. The document (anatomy.tokenize/1)
// holds ids, token strings and byte offsets; `ids` prints the ids alone, `table` is for people.
#include <sstream>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/ids.h"
#include "cli/render.h"
#include "cli/text_input.h"
#include "core/error.h"
#include "tokenizer/unicode.h"

namespace anatomy::cli {

namespace {

std::string read_input(const TokenizeOptions& o) { return o.text_file.empty() ? o.string : read_text(o.text_file, "--text"); }

// Ids separated by spaces, commas or newlines, checked as --ids are.
std::vector<int32_t> parse_token_ids(const std::string& text, int32_t vocab) {
  std::string joined, item;
  std::istringstream words(text);
  while (words >> item) {
    for (char& c : item) if (c == ',') c = ' ';
    std::istringstream parts(item);
    for (std::string part; parts >> part;) {
      if (!joined.empty()) joined += ',';
      joined += part;
    }
  }
  if (joined.empty()) return {};  // no ids: the empty text
  const auto ids = parse_ids(joined, vocab, "--decode");
  return std::vector<int32_t>(ids.begin(), ids.end());
}

std::vector<std::string_view> split_lines(std::string_view text, bool lines) {
  std::vector<std::string_view> out;
  // As JavaScript's split("\n") without the empty string after a final newline: "" is one line.
  if (!lines || text.empty()) return {text};
  size_t at = 0;
  while (at < text.size()) {
    const size_t nl = text.find('\n', at);
    const size_t end = nl == std::string_view::npos ? text.size() : nl;
    out.push_back(text.substr(at, end - at));
    at = end + 1;
  }
  return out;
}

}  // namespace

io::ordered_json tokenize_document(const TokenizeOptions& o, Progress& progress) {
  const auto tok = [&] {
    ProgressTask task(progress, "loading the tokenizer", 0);
    return model_tokenizer(o.model, o.tokenizer);
  }();
  io::ordered_json d = {{"schema", "anatomy.tokenize/1"}, {"tokenizer", tok->describe()}};
  const std::string raw = read_input(o);
  if (o.decode) {
    const auto ids = parse_token_ids(raw, tok->size());
    d["mode"] = "decode";
    d["ids"] = ids;
    d["text"] = tok->decode(ids, o.no_special);
    return d;
  }
  size_t replaced = 0;
  const std::string text = tok->prepare(raw, &replaced);
  tokenizer::EncodeOptions eo;
  eo.add_special = !o.no_special;
  eo.offsets = o.format != "ids";
  d["mode"] = "encode";
  d["input"] = {{"source", o.text_file.empty() ? "--string" : o.text_file}, {"bytes", raw.size()}, {"invalid_utf8_replaced", replaced}};
  d["add_special_tokens"] = eo.add_special;
  io::ordered_json lines = io::ordered_json::array();
  uint64_t tokens = 0, dropped = 0;
  for (const std::string_view line : split_lines(text, o.lines)) {
    const auto enc = tok->encode(line, eo);
    tokens += enc.ids.size();
    dropped += enc.dropped_bytes;
    io::ordered_json entry = {{"ids", enc.ids}};
    if (eo.offsets) {
      io::ordered_json strings = io::ordered_json::array(), offsets = io::ordered_json::array();
      const size_t base = static_cast<size_t>(line.data() - text.data());
      for (size_t i = 0; i < enc.ids.size(); ++i) {
        strings.push_back(tok->token(enc.ids[i]));
        offsets.push_back({base + enc.offsets[i].first, base + enc.offsets[i].second});
      }
      entry["tokens"] = strings;
      entry["offsets"] = offsets;
    }
    lines.push_back(entry);
  }
  if (o.lines) d["lines"] = lines;
  else d.update(lines[0]);
  d["counts"] = {{"tokens", tokens}, {"bytes", text.size()},
                 {"bytes_per_token", tokens ? static_cast<double>(text.size()) / static_cast<double>(tokens) : 0.0},
                 {"dropped_bytes", dropped}};
  return d;
}

std::string tokenize_command(const TokenizeOptions& o, Progress& progress) {
  const io::ordered_json d = tokenize_document(o, progress);
  if (o.format == "json") return d.dump(2, ' ', false, io::ordered_json::error_handler_t::replace) + "\n";
  if (d["mode"] == "decode") return d["text"].get<std::string>();
  const auto& counts = d["counts"];
  const std::string summary = fmt::format("{} tokens, {} bytes, {:.3f} bytes per token ({})", counts["tokens"].get<uint64_t>(),
                                          counts["bytes"].get<uint64_t>(), counts["bytes_per_token"].get<double>(),
                                          d["tokenizer"]["source"].get<std::string>());
  std::vector<std::string> notes;
  if (d["input"]["invalid_utf8_replaced"] != 0)
    notes.push_back(fmt::format("{} invalid UTF-8 sequences were replaced by U+FFFD before tokenizing, as Hugging Face does",
                                d["input"]["invalid_utf8_replaced"].get<uint64_t>()));
  if (counts["dropped_bytes"] != 0)
    notes.push_back(fmt::format("{} bytes have no token (no unknown token, no byte fallback) and were dropped, as Hugging Face drops them",
                                counts["dropped_bytes"].get<uint64_t>()));
  if (o.format == "ids") {
    fmt::print(stderr, "{}\n", summary);
    for (const auto& n : notes) fmt::print(stderr, "note: {}\n", n);
    std::string out;
    const auto& entries = o.lines ? d["lines"] : io::ordered_json::array({d});
    for (const auto& e : entries) {
      std::string line;
      for (const auto& id : e["ids"]) {
        if (!line.empty()) line += ' ';
        line += std::to_string(id.get<int64_t>());
      }
      out += line + "\n";
    }
    return out;
  }
  Table t({"#", "id", "token", "bytes", "text"}, {Table::Align::right, Table::Align::right, Table::Align::left, Table::Align::left, Table::Align::left});
  const auto& entries = o.lines ? d["lines"] : io::ordered_json::array({d});
  std::string text = tokenizer::repair_utf8(read_input(o));  // shown as JSON strings: valid UTF-8 only
  size_t row = 0;
  for (const auto& e : entries)
    for (size_t i = 0; i < e["ids"].size(); ++i) {
      const auto b = e["offsets"][i][0].get<size_t>(), en = e["offsets"][i][1].get<size_t>();
      t.add({std::to_string(row++), std::to_string(e["ids"][i].get<int64_t>()), io::json(e["tokens"][i]).dump(-1, ' ', false, io::json::error_handler_t::replace),
             fmt::format("{}..{}", b, en), io::json(text.substr(b, en - b)).dump(-1, ' ', false, io::json::error_handler_t::replace)});
    }
  std::string out = t.render(parse_format(o.format == "table" ? "table" : "md"));
  out += summary + "\n";
  for (const auto& n : notes) out += "note: " + n + "\n";
  return out;
}

}  // namespace anatomy::cli
