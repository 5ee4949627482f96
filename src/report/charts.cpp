// Charts drawn with cairo (PNG and SVG surfaces) and pango (text shaping, so Cyrillic and CJK labels
// render with Debian's DejaVu and Noto CJK fonts). Horizontal bars for per-row figures (sized by
// row count, so 100+ rows stay readable); lines with optional log axes for figures against a length
// or a step. Missing points of a line (validation loss between evaluations) are NaN and skipped.
#include "report/charts.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>

#include <cairo-svg.h>
#include <cairo.h>
#include <pango/pangocairo.h>

#include "core/error.h"

namespace anatomy::report {

using Json = io::ordered_json;

namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

double number_or_nan(const Json& j, const char* key) {
  return j.contains(key) && j[key].is_number() ? j[key].get<double>() : kNan;
}

std::optional<ChartSpec> layer_time(const Json& profile) {
  const Json& blocks = profile.at("blocks");
  if (blocks.empty()) return std::nullopt;
  ChartSpec c{.name = "layer_time", .title_key = "chart.layer_time", .value_key = "axis.ms"};
  for (const auto& b : blocks) {
    c.labels.push_back(b.at("path").get<std::string>());
    c.notes.push_back(b.at("type").get<std::string>());
  }
  c.series.push_back({"series.time_ms", {}});
  for (const auto& b : blocks) c.series[0].values.push_back(b.at("ms").get<double>());
  return c;
}

std::optional<ChartSpec> type_time(const Json& profile) {
  const Json& types = profile.at("types");
  if (types.empty()) return std::nullopt;
  ChartSpec c{.name = "type_time", .title_key = "chart.type_time", .value_key = "axis.ms"};
  c.series.push_back({"series.self_ms", {}});
  for (const auto& t : types) {
    c.labels.push_back(t.at("type").get<std::string>());
    c.notes.push_back("×" + std::to_string(t.at("calls_per_pass").get<int64_t>()));
    c.series[0].values.push_back(t.at("self_ms").get<double>());
  }
  return c;
}

std::optional<ChartSpec> block_time(const Json& profile) {
  const Json& blocks = profile.at("blocks");
  if (blocks.empty()) return std::nullopt;
  ChartSpec c{.name = "block_time", .title_key = "chart.block_time", .value_key = "axis.pct_of_ceiling", .note_prefix = "bound."};
  c.series.push_back({"series.pct_of_peak", {}});
  for (const auto& b : blocks) {
    c.labels.push_back(b.at("path").get<std::string>());
    c.notes.push_back(b.at("bound").get<std::string>());
    c.series[0].values.push_back(number_or_nan(b, "pct_of_peak"));
  }
  return c;
}

std::optional<ChartSpec> runtime_scaling(const Json& bench) {
  if (!bench.contains("scaling") || bench.at("scaling").size() < 2) return std::nullopt;
  ChartSpec c{.name = "runtime_scaling", .kind = ChartSpec::Kind::lines, .title_key = "chart.runtime_scaling",
              .value_key = "axis.ms", .x_key = "axis.tokens", .log_x = true, .log_y = true};
  c.series.push_back({"series.forward_ms", {}});
  for (const auto& s : bench.at("scaling")) {
    c.x.push_back(s.at("tokens").get<double>());
    c.series[0].values.push_back(s.at("forward_s").get<double>() * 1e3);
  }
  return c;
}

std::optional<ChartSpec> training(const Json& t) {
  if (!t.contains("log") || t.at("log").empty()) return std::nullopt;
  ChartSpec c{.name = "training", .kind = ChartSpec::Kind::lines, .title_key = "chart.training",
              .value_key = "axis.loss", .x_key = "axis.step"};
  c.series = {{"series.train_loss", {}}, {"series.val_loss", {}}};
  for (const auto& e : t.at("log")) {
    c.x.push_back(e.at("step").get<double>());
    c.series[0].values.push_back(number_or_nan(e, "train_loss"));
    c.series[1].values.push_back(number_or_nan(e, "val_loss"));
  }
  if (std::all_of(c.series[1].values.begin(), c.series[1].values.end(), [](double v) { return std::isnan(v); }))
    c.series.pop_back();
  return c;
}

}  // namespace

std::vector<ChartSpec> chart_specs(const Json& report) {
  std::vector<ChartSpec> out;
  auto add = [&](std::optional<ChartSpec> c) {
    if (c) out.push_back(std::move(*c));
  };
  if (report.contains("profile")) {
    add(layer_time(report.at("profile")));
    add(type_time(report.at("profile")));
    add(block_time(report.at("profile")));
  }
  if (report.contains("bench")) add(runtime_scaling(report.at("bench")));
  if (report.contains("training")) add(training(report.at("training")));
  return out;
}

namespace {

std::vector<std::string> notes(const ChartSpec& c, const Catalog& cat) {
  if (c.note_prefix.empty()) return c.notes;
  std::vector<std::string> out;
  for (const auto& n : c.notes) out.push_back(cat.text(c.note_prefix + n));
  return out;
}

}  // namespace

Json chart_json(const ChartSpec& c, const Catalog& cat) {
  Json series = Json::array();
  for (const auto& s : c.series) {
    Json values = Json::array();
    for (const double v : s.values) values.push_back(std::isnan(v) ? Json(nullptr) : Json(v));
    series.push_back({{"name", cat.text(s.name_key)}, {"values", values}});
  }
  return {{"name", c.name}, {"kind", c.kind == ChartSpec::Kind::bars ? "bars" : "lines"},
          {"title", cat.text(c.title_key)}, {"value_axis", cat.text(c.value_key)},
          {"x_axis", c.x_key.empty() ? "" : cat.text(c.x_key)}, {"labels", c.labels}, {"notes", notes(c, cat)},
          {"x", c.x}, {"series", series}, {"log_x", c.log_x}, {"log_y", c.log_y}};
}

namespace {

// Pango's font list: DejaVu for Latin and Cyrillic, the Noto CJK face of the script asked for.
std::string font_family(Lang lang) {
  return lang == Lang::zh_TW ? "DejaVu Sans, Noto Sans CJK TC" : "DejaVu Sans, Noto Sans CJK SC";
}

// `text` laid out in the chart font of `lang` at `size` pixels: the one place a pango layout is made.
class Layout {
 public:
  Layout(cairo_t* cr, Lang lang, const std::string& text, double size, bool bold = false)
      : layout_(pango_cairo_create_layout(cr)) {
    PangoFontDescription* font = pango_font_description_from_string(font_family(lang).c_str());
    pango_font_description_set_absolute_size(font, size * PANGO_SCALE);
    if (bold) pango_font_description_set_weight(font, PANGO_WEIGHT_BOLD);
    pango_layout_set_font_description(layout_, font);
    pango_font_description_free(font);
    pango_layout_set_text(layout_, text.c_str(), -1);
  }
  ~Layout() { g_object_unref(layout_); }
  Layout(const Layout&) = delete;
  Layout& operator=(const Layout&) = delete;

  PangoLayout* get() const { return layout_; }
  int width() const {
    int w = 0, h = 0;
    pango_layout_get_pixel_size(layout_, &w, &h);
    return w;
  }

 private:
  PangoLayout* layout_;
};

struct Painter {
  cairo_t* cr;
  Lang lang;

  // Draws `text` with its top-left (align 0), top-centre (0.5) or top-right (1) at (x, y); returns its width.
  double text(const std::string& s, double x, double y, double size, double align = 0, bool bold = false) const {
    const Layout layout(cr, lang, s, size, bold);
    const int w = layout.width();
    cairo_move_to(cr, x - align * w, y);
    pango_cairo_show_layout(cr, layout.get());
    return w;
  }
  double width(const std::string& s, double size) const { return Layout(cr, lang, s, size).width(); }
  void color(uint32_t rgb) const {
    cairo_set_source_rgb(cr, ((rgb >> 16) & 255) / 255.0, ((rgb >> 8) & 255) / 255.0, (rgb & 255) / 255.0);
  }
  void line(double x0, double y0, double x1, double y1) const {
    cairo_move_to(cr, x0, y0);
    cairo_line_to(cr, x1, y1);
    cairo_stroke(cr);
  }
};

constexpr uint32_t kPalette[] = {0x4472c4, 0xed7d31, 0x70ad47, 0xa5a5a5, 0xffc000};
constexpr double kWidth = 960;
constexpr double kRow = 16, kTop = 48, kBottom = 44;

// Round steps (1, 2, 5 × 10^k) covering [0, top].
std::vector<double> linear_ticks(double top) {
  if (!(top > 0)) return {0, 1};
  const double raw = top / 5, mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double step = raw / mag < 1.5 ? mag : raw / mag < 3.5 ? 2 * mag : raw / mag < 7.5 ? 5 * mag : 10 * mag;
  std::vector<double> t;
  for (double v = 0; v <= top * (1 + 1e-9) + step * 0.999; v += step) t.push_back(v);
  return t;
}

std::string tick_label(double v, const Catalog& cat) {
  return (v >= 1 || v == 0) && v == std::floor(v) ? cat.integer(static_cast<int64_t>(v)) : cat.figure(v);
}

double chart_height(const ChartSpec& c) {
  return c.kind == ChartSpec::Kind::bars ? kTop + kBottom + kRow * static_cast<double>(c.labels.size()) : 480;
}

void draw_bars(const ChartSpec& c, const Catalog& cat, const Painter& p) {
  const std::vector<double>& v = c.series.at(0).values;
  const std::vector<std::string> note = notes(c, cat);
  double label_w = 0, top = 0;
  for (const auto& l : c.labels) label_w = std::max(label_w, p.width(l, 11));
  label_w = std::min(label_w, kWidth * 0.4);
  for (const double x : v)
    if (std::isfinite(x)) top = std::max(top, x);
  const std::vector<double> ticks = linear_ticks(top);
  const double x0 = label_w + 16, x1 = kWidth - 170, span = ticks.back() > 0 ? ticks.back() : 1;
  const double bottom = kTop + kRow * static_cast<double>(c.labels.size());
  cairo_set_line_width(p.cr, 1);
  for (const double t : ticks) {
    const double x = x0 + (x1 - x0) * t / span;
    p.color(0xdddddd);
    p.line(x, kTop, x, bottom);
    p.color(0x333333);
    p.text(tick_label(t, cat), x, bottom + 4, 10, 0.5);
  }
  for (size_t i = 0; i < c.labels.size(); ++i) {
    const double y = kTop + kRow * static_cast<double>(i);
    p.color(0x222222);
    p.text(c.labels[i], x0 - 6, y + 1, 11, 1);
    if (!std::isfinite(v[i])) continue;
    const double w = (x1 - x0) * v[i] / span;
    p.color(kPalette[0]);
    cairo_rectangle(p.cr, x0, y + 2, std::max(w, 0.5), kRow - 4);
    cairo_fill(p.cr);
    p.color(0x333333);
    std::string value = cat.figure(v[i]);
    if (i < note.size() && !note[i].empty()) value += "  " + note[i];
    p.text(value, x0 + w + 4, y + 1, 10);
  }
  p.color(0x222222);
  p.text(cat.text(c.value_key), (x0 + x1) / 2, bottom + 22, 11, 0.5);
}

struct Axis {
  double lo, hi;
  bool log;
  double at(double v, double a, double b) const {
    const double f = log ? (std::log10(v) - std::log10(lo)) / (std::log10(hi) - std::log10(lo)) : (v - lo) / (hi - lo);
    return a + (b - a) * f;
  }
  std::vector<double> ticks() const {
    if (!log) return linear_ticks(hi);
    // 1-2-5 steps per decade when the axis spans at most three decades, powers of ten beyond.
    const bool fine = std::log10(hi / lo) <= 3.01;
    std::vector<double> t;
    for (double e = std::floor(std::log10(lo)); e <= std::ceil(std::log10(hi)); ++e)
      for (const double m : fine ? std::vector<double>{1, 2, 5} : std::vector<double>{1}) t.push_back(m * std::pow(10.0, e));
    return t;
  }
};

Axis axis_over(const std::vector<double>& values, bool log) {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const double v : values)
    if (std::isfinite(v) && (!log || v > 0)) lo = std::min(lo, v), hi = std::max(hi, v);
  if (!std::isfinite(lo)) lo = 1, hi = 10;
  if (log) {
    // The 1-2-5 grid values just outside the data.
    auto below = [](double v) {
      const double d = std::pow(10.0, std::floor(std::log10(v)));
      return v >= 5 * d ? 5 * d : v >= 2 * d ? 2 * d : d;
    };
    auto above = [](double v) {
      const double d = std::pow(10.0, std::floor(std::log10(v)));
      return v <= d ? d : v <= 2 * d ? 2 * d : v <= 5 * d ? 5 * d : 10 * d;
    };
    const double a = below(lo), b = above(hi);
    return {a, b > a ? b : a * 10, true};
  }
  return {0, linear_ticks(hi).back() > 0 ? linear_ticks(hi).back() : 1, false};
}

void draw_lines(const ChartSpec& c, const Catalog& cat, const Painter& p) {
  std::vector<double> all;
  for (const auto& s : c.series) all.insert(all.end(), s.values.begin(), s.values.end());
  const Axis ax = c.log_x ? axis_over(c.x, true) : Axis{c.x.empty() ? 0 : std::min(0.0, c.x.front()), c.x.empty() ? 1 : c.x.back(), false};
  const Axis ay = axis_over(all, c.log_y);
  const double left = 80, right = kWidth - 30, top = kTop, bottom = 480 - 60;
  cairo_set_line_width(p.cr, 1);
  // A grid line and its label at each tick of an axis (vertical lines for the x axis).
  const auto grid = [&](const Axis& a, bool vertical) {
    for (const double t : a.ticks()) {
      if (t < a.lo || t > a.hi) continue;
      const double at = vertical ? a.at(t, left, right) : a.at(t, bottom, top);
      p.color(0xdddddd);
      vertical ? p.line(at, top, at, bottom) : p.line(left, at, right, at);
      p.color(0x333333);
      vertical ? p.text(tick_label(t, cat), at, bottom + 4, 10, 0.5) : p.text(tick_label(t, cat), left - 6, at - 7, 10, 1);
    }
  };
  grid(ay, false);
  grid(ax, true);
  double legend_x = left;
  for (size_t s = 0; s < c.series.size(); ++s) {
    const auto& values = c.series[s].values;
    p.color(kPalette[s % 5]);
    cairo_set_line_width(p.cr, 2);
    bool pen = false;
    for (size_t i = 0; i < values.size() && i < c.x.size(); ++i) {
      if (!std::isfinite(values[i]) || (c.log_y && values[i] <= 0) || (c.log_x && c.x[i] <= 0)) continue;
      const double x = ax.at(c.x[i], left, right), y = ay.at(values[i], bottom, top);
      pen ? cairo_line_to(p.cr, x, y) : cairo_move_to(p.cr, x, y);
      pen = true;
    }
    cairo_stroke(p.cr);
    for (size_t i = 0; i < values.size() && i < c.x.size(); ++i) {
      if (!std::isfinite(values[i]) || (c.log_y && values[i] <= 0) || (c.log_x && c.x[i] <= 0)) continue;
      cairo_arc(p.cr, ax.at(c.x[i], left, right), ay.at(values[i], bottom, top), 2.5, 0, 2 * M_PI);
      cairo_fill(p.cr);
    }
    cairo_rectangle(p.cr, legend_x, bottom + 40, 14, 4);
    cairo_fill(p.cr);
    p.color(0x222222);
    legend_x += 20 + p.text(cat.text(c.series[s].name_key), legend_x + 18, bottom + 34, 11) + 16;
  }
  p.color(0x222222);
  p.text(cat.text(c.x_key), (left + right) / 2, bottom + 20, 11, 0.5);
  cairo_save(p.cr);
  cairo_translate(p.cr, 14, (top + bottom) / 2);
  cairo_rotate(p.cr, -M_PI / 2);
  p.text(cat.text(c.value_key), 0, 0, 11, 0.5);
  cairo_restore(p.cr);
}

void draw(const ChartSpec& c, const Catalog& cat, cairo_t* cr) {
  const Painter p{cr, cat.lang()};
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  p.color(0x111111);
  p.text(cat.text(c.title_key), kWidth / 2, 14, 15, 0.5, true);
  if (c.kind == ChartSpec::Kind::bars) draw_bars(c, cat, p);
  else draw_lines(c, cat, p);
}

void check(cairo_status_t status, const std::string& path) {
  if (status != CAIRO_STATUS_SUCCESS) fail(ErrorKind::io, path + ": " + cairo_status_to_string(status));
}

}  // namespace

void write_chart(const ChartSpec& c, const Catalog& cat, const std::string& dir) {
  const double h = chart_height(c);
  const std::string png = dir + "/" + c.name + ".png", svg = dir + "/" + c.name + ".svg";
  {
    cairo_surface_t* s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, static_cast<int>(kWidth), static_cast<int>(h));
    cairo_t* cr = cairo_create(s);
    draw(c, cat, cr);
    cairo_destroy(cr);
    const cairo_status_t st = cairo_surface_write_to_png(s, png.c_str());
    cairo_surface_destroy(s);
    check(st, png);
  }
  cairo_surface_t* s = cairo_svg_surface_create(svg.c_str(), kWidth, h);
  cairo_t* cr = cairo_create(s);
  draw(c, cat, cr);
  cairo_destroy(cr);
  cairo_surface_finish(s);
  const cairo_status_t st = cairo_surface_status(s);
  cairo_surface_destroy(s);
  check(st, svg);
}

int unknown_glyphs(const std::string& text, Lang lang) {
  cairo_surface_t* s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 8, 8);
  cairo_t* cr = cairo_create(s);
  const int unknown = pango_layout_get_unknown_glyphs_count(Layout(cr, lang, text, 11).get());
  cairo_destroy(cr);
  cairo_surface_destroy(s);
  return unknown;
}

}  // namespace anatomy::report
