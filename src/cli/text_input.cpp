#include "cli/text_input.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "core/error.h"
#include "tokenizer/load.h"

namespace anatomy::cli {

namespace fs = std::filesystem;

std::unique_ptr<tokenizer::Tokenizer> model_tokenizer(const std::string& model, const std::string& override) {
  if (!override.empty()) return tokenizer::load_tokenizer(override);
  const fs::path p(model);
  if (!fs::exists(p))
    fail(ErrorKind::config, model + ": a catalog model has no tokenizer; name one with --tokenizer (tokenizer.json, "
                                    "vocab.json, tokenizer.model, a .gguf or meta.pkl)");
  const std::string name = p.filename().string();
  const bool model_file = p.extension() == ".safetensors" || p.extension() == ".pt" || p.extension() == ".bin" ||
                          name == "config.json" || name.ends_with(".index.json");
  if (fs::is_regular_file(p) && model_file)
    return tokenizer::load_tokenizer(p.parent_path().empty() ? "." : p.parent_path().string());
  return tokenizer::load_tokenizer(model);
}

std::string read_text(const std::string& path, const std::string& option) {
  constexpr uint64_t kMax = 1ull << 31;
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) fail(ErrorKind::io, fmt::format("{}: {}: cannot read ({})", option, path, ec.message()));
  if (size > kMax) fail(ErrorKind::resource, fmt::format("{}: {}: {} bytes; at most 2 GiB", option, path, size));
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace anatomy::cli
