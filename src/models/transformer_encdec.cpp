// The encoder-decoder Transformer of hyunwoongko/transformer (seed 000): post-LN layers,
// sinusoidal positions (not a parameter), LayerNorm parameters named gamma/beta, an untied
// output projection decoder.linear. Defaults are the repository's conf.py.
#include <cmath>
#include <optional>

#include <fmt/format.h>

#include "models/families.h"
#include "nn/blocks.h"

namespace anatomy::models {
namespace {

struct Sizes {
  int64_t d, ffn, heads;
  double eps, drop;
};

// Keep-masks (1 keep, 0 padding) of one forward; absent in meta runs, where values are unknown.
struct Masks {
  std::optional<Tensor> src, trg;
};

// q, k, v projections split into contiguous heads; scores scaled by 1/√(d/heads); masked scores
// set to −10000 (not −∞); w_concat after concatenating the heads.
class MultiHeadAttention : public nn::Module {
 public:
  explicit MultiHeadAttention(int64_t heads) : nn::Module("MultiHeadAttention"), heads_(heads) {}
  // Self-attention (`cached`) appends this pass's keys and values to the KV cache and attends to
  // every cached step; cross-attention reads the encoder output whole.
  Tensor attend(nn::Run& run, const Tensor& q_in, const Tensor& kv_in, bool cached, const std::optional<Tensor>& keys_keep,
                const std::optional<Tensor>& queries_keep) const {
    const auto split = [&](const nn::Child<nn::Linear>& proj, const Tensor& x) {
      const Tensor y = proj(run, x);
      return y.reshape({x.dim(0), x.dim(1), heads_, y.dim(2) / heads_});  // (B, T, H, hd)
    };
    const Tensor q = split(w_q, q_in);
    Tensor k = split(w_k, kv_in), v = split(w_v, kv_in);
    ops::AttentionOptions o;
    o.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(q.dim(3))));
    o.causal = cached;
    o.masked_value = -10000.0f;
    o.key_padding = keys_keep ? &*keys_keep : nullptr;
    o.query_padding = queries_keep ? &*queries_keep : nullptr;
    if (cached) {
      const int64_t past = run.state.past;
      const Shape cache{k.dim(0), run.state.max_tokens, k.dim(2), k.dim(3)};
      Tensor& k_cache = run.state_tensor("k_cache", cache);
      Tensor& v_cache = run.state_tensor("v_cache", cache);
      ops::write_time(run.ctx, k_cache, k, past);
      ops::write_time(run.ctx, v_cache, v, past);
      o.past = past;
      o.keys = past + k.dim(1);
      k = k_cache;
      v = v_cache;
    }
    const Tensor out = attention.scope(run, q, [&] { return ops::attention(run.ctx, q, k, v, o); });
    return w_concat(run, out);
  }
  nn::Child<> attention{*this, "attention"};  // ScaleDotProductAttention: no parameters
  nn::Child<nn::Linear> w_q{*this, "w_q"}, w_k{*this, "w_k"}, w_v{*this, "w_v"}, w_concat{*this, "w_concat"};

 private:
  int64_t heads_;
};

// x = norm(x + dropout(sublayer(x))) (post-LN).
Tensor post_norm(nn::Run& run, const nn::Child<nn::LayerNorm>& norm, const nn::Child<nn::Dropout>& dropout,
                 const Tensor& x, const Tensor& y) {
  return norm(run, ops::add(run.ctx, x, nn::apply_dropout(run, dropout, y)));
}

class EncoderLayer : public nn::Module {
 public:
  EncoderLayer() : nn::Module("EncoderLayer") {}
  Tensor apply(nn::Run& run, const Tensor& x, const Masks& m) const {
    const Tensor a = attention.scope(run, x, [&] { return attention->attend(run, x, x, false, m.src, std::nullopt); });
    const Tensor h = post_norm(run, norm1, dropout1, x, a);
    return post_norm(run, norm2, dropout2, h, ffn(run, h));
  }
  nn::Child<MultiHeadAttention> attention{*this, "attention"};
  nn::Child<nn::LayerNorm> norm1{*this, "norm1"};
  nn::Child<nn::Dropout> dropout1{*this, "dropout1"};
  nn::Child<nn::PlainMLP> ffn{*this, "ffn"};
  nn::Child<nn::LayerNorm> norm2{*this, "norm2"};
  nn::Child<nn::Dropout> dropout2{*this, "dropout2"};
};

class DecoderLayer : public nn::Module {
 public:
  DecoderLayer() : nn::Module("DecoderLayer") {}
  Tensor apply(nn::Run& run, const Tensor& y, const Tensor& enc, const Masks& m) const {
    // The target mask of this implementation tests padding on the query position.
    const Tensor a = self_attention.scope(run, y, [&] { return self_attention->attend(run, y, y, true, std::nullopt, m.trg); });
    Tensor h = post_norm(run, norm1, dropout1, y, a);
    const Tensor c = enc_dec_attention.scope(run, h, [&] { return enc_dec_attention->attend(run, h, enc, false, m.src, std::nullopt); });
    h = post_norm(run, norm2, dropout2, h, c);
    return post_norm(run, norm3, dropout3, h, ffn(run, h));
  }
  nn::Child<MultiHeadAttention> self_attention{*this, "self_attention"};
  nn::Child<nn::LayerNorm> norm1{*this, "norm1"};
  nn::Child<nn::Dropout> dropout1{*this, "dropout1"};
  nn::Child<MultiHeadAttention> enc_dec_attention{*this, "enc_dec_attention"};
  nn::Child<nn::LayerNorm> norm2{*this, "norm2"};
  nn::Child<nn::Dropout> dropout2{*this, "dropout2"};
  nn::Child<nn::PlainMLP> ffn{*this, "ffn"};
  nn::Child<nn::LayerNorm> norm3{*this, "norm3"};
  nn::Child<nn::Dropout> dropout3{*this, "dropout3"};
};

// tok_emb(ids) + sinusoidal PE[:T] (no √d scaling), then dropout.
class TransformerEmbedding : public nn::Module {
 public:
  explicit TransformerEmbedding(bool decoder_side) : nn::Module("TransformerEmbedding"), decoder_side_(decoder_side) {}
  Tensor forward(nn::Run& run, const Tensor& ids) const override {
    const Tensor tok = tok_emb(run, ids);
    // Rows past … past+T−1 of the table: the decoder's later passes continue its positions.
    const int64_t past = decoder_side_ ? run.state.past : 0;
    const Tensor pe = pos_emb.scope(run, ids, [&] {
      const Tensor table = ops::sinusoid_table(run.ctx, past + ids.dim(1), tok.dim(2));
      return past ? ops::slice_time(run.ctx, table.reshape({1, past + ids.dim(1), tok.dim(2)}), past, ids.dim(1)).reshape({ids.dim(1), tok.dim(2)}) : table;
    });
    return nn::apply_dropout(run, drop_out, ops::add(run.ctx, tok, pe));
  }
  nn::Child<nn::Embedding> tok_emb{*this, "tok_emb"};
  nn::Child<> pos_emb{*this, "pos_emb"};  // PositionalEncoding: a constant table, no parameters
  nn::Child<nn::Dropout> drop_out{*this, "drop_out"};

 private:
  bool decoder_side_;
};

// Encoder: emb -> layers (self-attention over the source, padding masked).
class Encoder : public nn::Module {
 public:
  Encoder() : nn::Module("Encoder") {}
  Tensor apply(nn::Run& run, const Tensor& src, const Masks& m) const {
    return layers->run_each(run, layers.name(), emb(run, src),
                            [&](const EncoderLayer& layer, const Tensor& x) { return layer.apply(run, x, m); });
  }
  nn::Child<TransformerEmbedding> emb{*this, "emb"};
  nn::Child<nn::ModuleList<EncoderLayer>> layers{*this, "layers"};
};

// Decoder: emb -> layers (causal self-attention, cross-attention to the encoder) -> linear.
class Decoder : public nn::Module {
 public:
  Decoder() : nn::Module("Decoder") {}
  Tensor apply(nn::Run& run, const Tensor& ids, const Tensor& enc, const Masks& m) const {
    const Tensor y = layers->run_each(run, layers.name(), emb(run, ids),
                                      [&](const DecoderLayer& layer, const Tensor& x) { return layer.apply(run, x, enc, m); });
    return linear(run, nn::logits_positions(run, y));
  }
  nn::Child<TransformerEmbedding> emb{*this, "emb"};
  nn::Child<nn::ModuleList<DecoderLayer>> layers{*this, "layers"};
  nn::Child<nn::Linear> linear{*this, "linear"};
};

// What the first pass of a state keeps for the later ones: the encoder's output and the source's
// keep-mask.
constexpr const char* kEncoderOutput = "encoder output";
constexpr const char* kSourceKeep = "source keep-mask";

class Transformer : public nn::LanguageModel {
 public:
  Transformer(int64_t dec_vocab, int64_t max_len, int64_t src_pad, int64_t trg_pad)
      : nn::LanguageModel("Transformer", dec_vocab, max_len, "max_len"), src_pad_(src_pad), trg_pad_(trg_pad) {}
  nn::Child<Encoder> encoder{*this, "encoder"};
  nn::Child<Decoder> decoder{*this, "decoder"};
  int64_t source_vocab_size() const override { return encoder->emb->tok_emb->num_embeddings; }

 protected:
  // Decoder logits for target `ids` given the source run.source_ids (the ids themselves when
  // unset). The first pass of a state encodes the source and keeps its output; later passes (one
  // new target token each, when generating) reuse it and the decoder's KV caches.
  Tensor forward_tokens(nn::Run& run, const Tensor& ids) const override {
    Masks m;
    if (!run.ctx.meta()) m.trg = keep_mask(ids, trg_pad_);
    auto& kept = run.state.tensors;
    if (run.state.past == 0 || !kept.count(kEncoderOutput)) {
      const Tensor& src = run.source_ids ? *run.source_ids : ids;
      check_positions(0, src.dim(1));
      if (!run.ctx.meta()) kept.insert_or_assign(kSourceKeep, keep_mask(src, src_pad_));
      const Masks first{kept.count(kSourceKeep) ? std::optional(kept.at(kSourceKeep)) : std::nullopt, m.trg};
      kept.insert_or_assign(kEncoderOutput, encoder.scope(run, src, [&] { return encoder->apply(run, src, first); }));
    }
    if (kept.count(kSourceKeep)) m.src = kept.at(kSourceKeep);
    const Tensor enc = kept.at(kEncoderOutput);
    Tensor out = decoder.scope(run, ids, [&] { return decoder->apply(run, ids, enc, m); });
    run.state.past += ids.dim(1);
    return out;
  }

 private:
  static Tensor keep_mask(const Tensor& ids, int64_t pad) {
    Tensor keep = Tensor::empty(DType::F32, ids.shape());
    for (uint64_t i = 0; i < ids.numel(); ++i) keep.data<float>()[i] = ids.data<int64_t>()[i] == pad ? 0.0f : 1.0f;
    return keep;
  }

  int64_t src_pad_, trg_pad_;
};

std::shared_ptr<MultiHeadAttention> attention(const Sizes& s) {
  auto m = std::make_shared<MultiHeadAttention>(s.heads);
  m->attention.set(std::make_shared<nn::Module>("ScaleDotProductAttention"));
  for (auto* proj : {&m->w_q, &m->w_k, &m->w_v, &m->w_concat}) proj->set(std::make_shared<nn::Linear>(s.d, s.d, true));
  return m;
}

// PositionwiseFeedForward: linear2(dropout(relu(linear1(x)))).
std::shared_ptr<nn::PlainMLP> ffn(const Sizes& s) {
  auto m = std::make_shared<nn::PlainMLP>("PositionwiseFeedForward", "linear1", "relu", "linear2", "dropout",
                                                /*dropout_inside=*/true);
  m->in.set(std::make_shared<nn::Linear>(s.d, s.ffn, true));
  m->out.set(std::make_shared<nn::Linear>(s.ffn, s.d, true));
  m->act.set(std::make_shared<nn::ActivationModule>(Activation::relu, "ReLU"));
  m->dropout.set(std::make_shared<nn::Dropout>(s.drop));
  return m;
}

std::shared_ptr<nn::LayerNorm> norm(const Sizes& s) {
  return std::make_shared<nn::LayerNorm>(s.d, s.eps, true, "LayerNorm", "gamma", "beta");
}

std::shared_ptr<TransformerEmbedding> embedding(const Sizes& s, int64_t vocab, bool decoder_side) {
  auto m = std::make_shared<TransformerEmbedding>(decoder_side);
  m->tok_emb.set(std::make_shared<nn::Embedding>(vocab, s.d, "TokenEmbedding"));
  m->pos_emb.set(std::make_shared<nn::Module>("PositionalEncoding"));
  m->drop_out.set(std::make_shared<nn::Dropout>(s.drop));
  return m;
}

Model build(const ConfigReader& c) {
  const int64_t heads = c.count_or("n_head", 8);
  const Sizes s{c.count("d_model"), c.count("ffn_hidden"), heads, c.positive_or("layer_norm_eps", 1e-12),
                c.number_or("drop_prob", 0.1)};
  const int64_t layers = c.layers("n_layers"),
                enc_vocab = c.count("enc_voc_size"), dec_vocab = c.count("dec_voc_size"),
                max_len = c.count_or("max_len", 256);
  check_heads(c, "d_model", "n_head", nullptr, nullptr);
  if (c.flag_or("tie_word_embeddings", false))
    c.error("tie_word_embeddings", "hyunwoongko/transformer never ties its output projection");

  auto root = std::make_shared<Transformer>(dec_vocab, max_len, c.index_or("src_pad_idx", 1), c.index_or("trg_pad_idx", 1));
  auto enc = root->encoder.set(std::make_shared<Encoder>());
  enc->emb.set(embedding(s, enc_vocab, false));
  auto enc_layers = enc->layers.set(std::make_shared<nn::ModuleList<EncoderLayer>>());
  for (int64_t i = 0; i < layers; ++i) {
    auto l = enc_layers->append(std::make_shared<EncoderLayer>());
    l->attention.set(attention(s));
    l->norm1.set(norm(s));
    l->dropout1.set(std::make_shared<nn::Dropout>(s.drop));
    l->ffn.set(ffn(s));
    l->norm2.set(norm(s));
    l->dropout2.set(std::make_shared<nn::Dropout>(s.drop));
  }
  auto dec = root->decoder.set(std::make_shared<Decoder>());
  dec->emb.set(embedding(s, dec_vocab, true));
  auto dec_layers = dec->layers.set(std::make_shared<nn::ModuleList<DecoderLayer>>());
  for (int64_t i = 0; i < layers; ++i) {
    auto l = dec_layers->append(std::make_shared<DecoderLayer>());
    l->self_attention.set(attention(s));
    l->norm1.set(norm(s));
    l->dropout1.set(std::make_shared<nn::Dropout>(s.drop));
    l->enc_dec_attention.set(attention(s));
    l->norm2.set(norm(s));
    l->dropout2.set(std::make_shared<nn::Dropout>(s.drop));
    l->ffn.set(ffn(s));
    l->norm3.set(norm(s));
    l->dropout3.set(std::make_shared<nn::Dropout>(s.drop));
  }
  dec->linear.set(std::make_shared<nn::Linear>(s.d, dec_vocab, true))->cls = ops::OpClass::head;

  Model m;
  m.architecture = "Transformer";
  m.model_type = "transformer_encdec";
  m.root = root;
  m.config = {
      {"d_model", s.d},
      {"n_layers", layers},
      {"encoder_layers", layers},
      {"decoder_layers", layers},
      {"enc_voc_size", enc_vocab},
      {"dec_voc_size", dec_vocab},
      {"n_head", heads},
      {"num_key_value_heads", heads},
      {"head_dim", s.d / heads},
      {"gqa_ratio", 1},
      {"attention", attention_facts(heads, heads, {"bias", "encoder_self", "decoder_causal_self", "decoder_cross",
                                                   "mask_fill_minus_10000"})},
      {"ffn", ffn_facts("plain", "relu", "linear2(relu(linear1(x)))")},
      {"ffn_hidden", s.ffn},
      {"norm", norm_facts("layer_norm", s.eps, "post", {{"bias", true}, {"names", "gamma_beta"}})},
      {"layer_norm_eps", s.eps},
      {"position_embedding", {{"kind", "sinusoidal"}, {"positions", max_len}}},
      {"max_len", max_len},
      {"drop_prob", s.drop},
      {"tie_word_embeddings", false},
  };
  return m;
}

}  // namespace

const Family kTransformerEncDec{"transformer_encdec", "hyunwoongko/transformer conf.py", build};

}  // namespace anatomy::models
