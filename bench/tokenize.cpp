// Single-thread encode throughput of anatomy's tokenizers: a text as one string and line by line,
// MB/s of input. The first pass runs on a fresh tokenizer (cold piece cache) and is reported
// apart; the median is over `repeat` passes after it. Prints one JSON object per mode.
// usage: bench_tokenize TOKENIZER TEXT [repeat=5]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tokenizer/load.h"
#include "tokenizer/unicode.h"

using Clock = std::chrono::steady_clock;

namespace {

double seconds_for(const anatomy::tokenizer::Tokenizer& tok, const std::vector<std::string_view>& pieces, size_t& tokens) {
  const auto t0 = Clock::now();
  tokens = 0;
  anatomy::tokenizer::EncodeOptions o;
  o.add_special = false;
  for (const auto piece : pieces) tokens += tok.encode(piece, o).ids.size();
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: bench_tokenize TOKENIZER TEXT [repeat]\n");
    return 2;
  }
  const int repeat = argc > 3 ? std::atoi(argv[3]) : 5;
  std::ifstream in(argv[2], std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  const std::string text = anatomy::tokenizer::repair_utf8(s.str());
  std::vector<std::string_view> lines;
  for (size_t at = 0; at < text.size();) {
    const size_t nl = std::min(text.find('\n', at), text.size());
    lines.push_back(std::string_view(text).substr(at, nl - at));
    at = nl + 1;
  }
  const double mb = static_cast<double>(text.size()) / 1e6;
  for (const char* mode : {"whole", "lines"}) {
    const auto tok = anatomy::tokenizer::load_tokenizer(argv[1]);
    const std::vector<std::string_view> pieces = std::string(mode) == "whole" ? std::vector<std::string_view>{text} : lines;
    size_t tokens = 0;
    const double cold = seconds_for(*tok, pieces, tokens);
    std::vector<double> times;
    for (int r = 0; r < repeat; ++r) times.push_back(seconds_for(*tok, pieces, tokens));
    std::sort(times.begin(), times.end());
    std::printf("{\"impl\": \"anatomy\", \"tokenizer\": \"%s\", \"mode\": \"%s\", \"bytes\": %zu, \"tokens\": %zu, "
                "\"cold_mb_s\": %.3f, \"median_mb_s\": %.3f, \"min_mb_s\": %.3f, \"max_mb_s\": %.3f, \"repeat\": %d}\n",
                argv[1], mode, text.size(), tokens, mb / cold, mb / times[times.size() / 2], mb / times.back(), mb / times.front(), repeat);
  }
}
