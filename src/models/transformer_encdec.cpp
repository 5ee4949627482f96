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
  Tensor attend(nn::Run& run, const Tensor& q_in, const Tensor& kv_in, bool causal, const std::optional<Tensor>& keys_keep,
                const std::optional<Tensor>& queries_keep) const {
    const auto split = [&](const char* name, const Tensor& x) {
      const Tensor y = child(name)->call(run, name, x);
      return y.reshape({x.dim(0), x.dim(1), heads_, y.dim(2) / heads_});
    };
    const Tensor q = split("w_q", q_in), k = split("w_k", kv_in), v = split("w_v", kv_in);
    ops::AttentionOptions o;
    o.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(q.dim(3))));
    o.causal = causal;
    o.masked_value = -10000.0f;
    o.key_padding = keys_keep ? &*keys_keep : nullptr;
    o.query_padding = queries_keep ? &*queries_keep : nullptr;
    const auto& sdpa = *child("attention");
    const Tensor out = run.scope("attention", sdpa, q, [&] { return ops::attention(run.ctx, q, k, v, o); });
    return child("w_concat")->call(run, "w_concat", out);
  }

 private:
  int64_t heads_;
};

// x = norm(x + sublayer(x)) (post-LN), dropout being the identity at inference.
Tensor post_norm(nn::Run& run, const nn::Module& layer, const char* norm, const Tensor& x, const Tensor& y) {
  return layer.child(norm)->call(run, norm, ops::add(run.ctx, x, y));
}

class EncoderLayer : public nn::Module {
 public:
  EncoderLayer() : nn::Module("EncoderLayer") {}
  Tensor apply(nn::Run& run, const Tensor& x, const Masks& m) const {
    const auto& attn = static_cast<const MultiHeadAttention&>(*child("attention"));
    const Tensor a = run.scope("attention", attn, x, [&] { return attn.attend(run, x, x, false, m.src, std::nullopt); });
    const Tensor h = post_norm(run, *this, "norm1", x, a);
    return post_norm(run, *this, "norm2", h, child("ffn")->call(run, "ffn", h));
  }
};

class DecoderLayer : public nn::Module {
 public:
  DecoderLayer() : nn::Module("DecoderLayer") {}
  Tensor apply(nn::Run& run, const Tensor& y, const Tensor& enc, const Masks& m) const {
    const auto& self = static_cast<const MultiHeadAttention&>(*child("self_attention"));
    const auto& cross = static_cast<const MultiHeadAttention&>(*child("enc_dec_attention"));
    // The target mask of this implementation tests padding on the query position.
    const Tensor a = run.scope("self_attention", self, y, [&] { return self.attend(run, y, y, true, std::nullopt, m.trg); });
    Tensor h = post_norm(run, *this, "norm1", y, a);
    const Tensor c = run.scope("enc_dec_attention", cross, h, [&] { return cross.attend(run, h, enc, false, m.src, std::nullopt); });
    h = post_norm(run, *this, "norm2", h, c);
    return post_norm(run, *this, "norm3", h, child("ffn")->call(run, "ffn", h));
  }
};

class Transformer : public nn::LanguageModel {
 public:
  Transformer(int64_t src_pad, int64_t trg_pad) : nn::LanguageModel("Transformer"), src_pad_(src_pad), trg_pad_(trg_pad) {}

  // Decoder logits for target `ids` given the source run.source_ids (the ids themselves when unset).
  Tensor forward_ids(nn::Run& run, const Tensor& ids) const override {
    const Tensor& src = run.source_ids ? *run.source_ids : ids;
    Masks m;
    if (!run.ctx.meta()) {
      m.src = keep_mask(src, src_pad_);
      m.trg = keep_mask(ids, trg_pad_);
    }
    const auto& encoder = *child("encoder");
    const Tensor enc = run.scope("encoder", encoder, src, [&] {
      Tensor x = embed(run, *encoder.child("emb"), src);
      const auto& layers = *encoder.child("layers");
      return run.scope("layers", layers, x, [&] {
        for (const auto& [n, l] : layers.children()) {
          const auto& layer = static_cast<const EncoderLayer&>(*l);
          x = run.scope(n, layer, x, [&] { return layer.apply(run, x, m); });
        }
        return x;
      });
    });
    const auto& decoder = *child("decoder");
    Tensor out = run.scope("decoder", decoder, ids, [&] {
      Tensor y = embed(run, *decoder.child("emb"), ids);
      const auto& layers = *decoder.child("layers");
      y = run.scope("layers", layers, y, [&] {
        for (const auto& [n, l] : layers.children()) {
          const auto& layer = static_cast<const DecoderLayer&>(*l);
          y = run.scope(n, layer, y, [&] { return layer.apply(run, y, enc, m); });
        }
        return y;
      });
      if (run.last_logits_only && y.dim(1) > 1) y = ops::slice_time(run.ctx, y, y.dim(1) - 1, 1);
      return decoder.child("linear")->call(run, "linear", y);
    });
    run.state.past += ids.dim(1);
    return out;
  }

 private:
  static Tensor keep_mask(const Tensor& ids, int64_t pad) {
    Tensor keep = Tensor::empty(DType::F32, ids.shape());
    for (uint64_t i = 0; i < ids.numel(); ++i) keep.data<float>()[i] = ids.data<int64_t>()[i] == pad ? 0.0f : 1.0f;
    return keep;
  }

  // tok_emb(ids) + sinusoidal PE[:T] (no √d scaling), then dropout.
  static Tensor embed(nn::Run& run, const nn::Module& emb, const Tensor& ids) {
    return run.scope("emb", emb, ids, [&] {
      const Tensor tok = emb.child("tok_emb")->call(run, "tok_emb", ids);
      const auto& pos_emb = *emb.child("pos_emb");
      const Tensor pe = run.scope("pos_emb", pos_emb, ids, [&] { return ops::sinusoid_table(run.ctx, ids.dim(1), tok.dim(2)); });
      return emb.child("drop_out")->call(run, "drop_out", ops::add(run.ctx, tok, pe));
    });
  }

  int64_t src_pad_, trg_pad_;
};

std::shared_ptr<nn::Module> attention(const Sizes& s) {
  auto m = std::make_shared<MultiHeadAttention>(s.heads);
  m->add("attention", std::make_shared<nn::Module>("ScaleDotProductAttention"));
  for (const char* name : {"w_q", "w_k", "w_v", "w_concat"})
    m->add(name, std::make_shared<nn::Linear>(s.d, s.d, true));
  return m;
}

// linear2(dropout(relu(linear1(x))))
class PositionwiseFeedForward : public nn::Module {
 public:
  PositionwiseFeedForward() : nn::Module("PositionwiseFeedForward") {}
  Tensor forward(nn::Run& run, const Tensor& x) const override {
    const Tensor h = child("relu")->call(run, "relu", child("linear1")->call(run, "linear1", x));
    return child("linear2")->call(run, "linear2", child("dropout")->call(run, "dropout", h));
  }
};

std::shared_ptr<nn::Module> ffn(const Sizes& s) {
  auto m = std::make_shared<PositionwiseFeedForward>();
  m->add("linear1", std::make_shared<nn::Linear>(s.d, s.ffn, true));
  m->add("linear2", std::make_shared<nn::Linear>(s.ffn, s.d, true));
  m->add("relu", std::make_shared<nn::ActivationModule>(nn::Activation::relu, "ReLU"));
  m->add("dropout", std::make_shared<nn::Dropout>(s.drop));
  return m;
}

std::shared_ptr<nn::LayerNorm> norm(const Sizes& s) {
  return std::make_shared<nn::LayerNorm>(s.d, s.eps, true, "LayerNorm", "gamma", "beta");
}

std::shared_ptr<nn::Module> embedding(const Sizes& s, int64_t vocab) {
  auto m = std::make_shared<nn::Module>("TransformerEmbedding");
  m->add("tok_emb", std::make_shared<nn::Embedding>(vocab, s.d, "TokenEmbedding"));
  m->add("pos_emb", std::make_shared<nn::Module>("PositionalEncoding"));
  m->add("drop_out", std::make_shared<nn::Dropout>(s.drop));
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

  auto root = std::make_shared<Transformer>(c.index_or("src_pad_idx", 1), c.index_or("trg_pad_idx", 1));
  auto enc = root->add("encoder", std::make_shared<nn::Module>("Encoder"));
  enc->add("emb", embedding(s, enc_vocab));
  auto enc_layers = enc->add("layers", std::make_shared<nn::ModuleList>());
  for (int64_t i = 0; i < layers; ++i) {
    auto l = enc_layers->add(std::to_string(i), std::make_shared<EncoderLayer>());
    l->add("attention", attention(s));
    l->add("norm1", norm(s));
    l->add("dropout1", std::make_shared<nn::Dropout>(s.drop));
    l->add("ffn", ffn(s));
    l->add("norm2", norm(s));
    l->add("dropout2", std::make_shared<nn::Dropout>(s.drop));
  }
  auto dec = root->add("decoder", std::make_shared<nn::Module>("Decoder"));
  dec->add("emb", embedding(s, dec_vocab));
  auto dec_layers = dec->add("layers", std::make_shared<nn::ModuleList>());
  for (int64_t i = 0; i < layers; ++i) {
    auto l = dec_layers->add(std::to_string(i), std::make_shared<DecoderLayer>());
    l->add("self_attention", attention(s));
    l->add("norm1", norm(s));
    l->add("dropout1", std::make_shared<nn::Dropout>(s.drop));
    l->add("enc_dec_attention", attention(s));
    l->add("norm2", norm(s));
    l->add("dropout2", std::make_shared<nn::Dropout>(s.drop));
    l->add("ffn", ffn(s));
    l->add("norm3", norm(s));
    l->add("dropout3", std::make_shared<nn::Dropout>(s.drop));
  }
  dec->add("linear", std::make_shared<nn::Linear>(s.d, dec_vocab, true))->cls = ops::OpClass::head;

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
      {"attention", attention_kind(heads, heads) +
                        ", encoder self, decoder causal self + cross, biases, mask fill -10000"},
      {"ffn", "linear2(relu(linear1(x))), not gated"},
      {"ffn_hidden", s.ffn},
      {"norm", fmt::format("LayerNorm (gamma, beta), eps {:g}, post-norm", s.eps)},
      {"layer_norm_eps", s.eps},
      {"position_embedding", fmt::format("sinusoidal, fixed (not a parameter), max_len {}", max_len)},
      {"max_len", max_len},
      {"drop_prob", s.drop},
      {"tie_word_embeddings", false},
  };
  return m;
}

}  // namespace

const Family kTransformerEncDec{"transformer_encdec", build};

}  // namespace anatomy::models
