#include "train/data.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/error.h"

namespace anatomy::train {
namespace {

Tensor i64(Shape shape) { return Tensor::empty(DType::I64, std::move(shape)); }

template <class T>
const std::vector<T>& of(const std::vector<T>& train, const std::vector<T>& validation, Split s) {
  return s == Split::train ? train : validation;
}

}  // namespace

TokenStream split_stream(std::vector<int32_t> ids, int64_t block, const std::string& file) {
  const auto n = static_cast<int64_t>(ids.size());
  const int64_t cut = n * 9 / 10;
  if (cut < block + 1 || n - cut < block + 1)
    fail(ErrorKind::config, fmt::format("{}: {} tokens; a 90/10 split needs at least {} in each part for blocks of {} "
                                        "(a longer text, or a smaller --block)", file, n, block + 1, block));
  TokenStream s;
  s.validation.assign(ids.begin() + cut, ids.end());
  ids.resize(static_cast<size_t>(cut));
  s.train = std::move(ids);
  return s;
}

Batch stream_batch(const TokenStream& data, Split split, int64_t batch, int64_t block, Rng& rng,
                   std::vector<int64_t>* offsets) {
  const std::vector<int32_t>& s = of(data.train, data.validation, split);
  Batch b{i64({batch, block}), i64({batch, block}), std::nullopt};
  for (int64_t r = 0; r < batch; ++r) {
    const auto o = static_cast<int64_t>(rng.below(s.size() - static_cast<size_t>(block)));
    if (offsets) offsets->push_back(o);
    for (int64_t t = 0; t < block; ++t) {
      b.ids.data<int64_t>()[r * block + t] = s[o + t];
      b.targets.data<int64_t>()[r * block + t] = s[o + t + 1];
    }
  }
  return b;
}

Pairs split_pairs(std::vector<std::pair<std::vector<int32_t>, std::vector<int32_t>>> pairs, const std::string& file) {
  const auto n = static_cast<int64_t>(pairs.size());
  const int64_t cut = n * 9 / 10;
  if (cut < 1 || n - cut < 1)
    fail(ErrorKind::config, fmt::format("{}: {} pairs; a 90/10 split needs at least 10", file, n));
  for (int64_t i = 0; i < n; ++i)
    if (pairs[i].first.empty() || pairs[i].second.size() < 2)
      fail(ErrorKind::config, fmt::format("{}: pair {} has an empty source or a target under two tokens", file, i + 1));
  Pairs p;
  p.validation.assign(pairs.begin() + cut, pairs.end());
  pairs.resize(static_cast<size_t>(cut));
  p.train = std::move(pairs);
  return p;
}

Batch pair_batch(const Pairs& data, Split split, int64_t batch, Rng& rng) {
  const auto& pairs = of(data.train, data.validation, split);
  std::vector<size_t> rows;
  size_t S = 0, T = 0;
  for (int64_t r = 0; r < batch; ++r) {
    rows.push_back(rng.below(pairs.size()));
    S = std::max(S, pairs[rows.back()].first.size());
    T = std::max(T, pairs[rows.back()].second.size() - 1);
  }
  const auto Si = static_cast<int64_t>(S), Ti = static_cast<int64_t>(T);
  Batch b{i64({batch, Ti}), i64({batch, Ti}), i64({batch, Si})};
  for (int64_t r = 0; r < batch; ++r) {
    const auto& [src, tgt] = pairs[rows[static_cast<size_t>(r)]];
    for (int64_t s = 0; s < Si; ++s)
      b.source->data<int64_t>()[r * Si + s] = s < static_cast<int64_t>(src.size()) ? src[s] : data.source_pad;
    for (int64_t t = 0; t < Ti; ++t) {
      const bool real = t + 1 < static_cast<int64_t>(tgt.size());
      b.ids.data<int64_t>()[r * Ti + t] = real ? tgt[t] : data.target_pad;
      b.targets.data<int64_t>()[r * Ti + t] = real ? tgt[t + 1] : kIgnore;
    }
  }
  return b;
}

}  // namespace anatomy::train
