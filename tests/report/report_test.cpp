// The report layer: catalogs complete in every language and drawable by the chart fonts, number
// formats per language, charts written as PNG and SVG, the Mermaid diagram from a module tree, and
// the HTML page's escaping of what a document may hold.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <cctype>
#include <set>

#include "cli/commands.h"
#include "core/error.h"
#include "report/charts.h"
#include "report/diagram.h"
#include "report/page.h"

namespace anatomy::report {
namespace {

namespace fs = std::filesystem;

// "{0}", "{1}", … in a message. (No std::regex: GCC 12 warns inside it at -O1 under the sanitizers.)
std::set<std::string> placeholders(const std::string& text) {
  std::set<std::string> out;
  for (size_t open = text.find('{'); open != std::string::npos; open = text.find('{', open + 1)) {
    const size_t close = text.find('}', open);
    if (close != std::string::npos && close > open + 1 &&
        text.find_first_not_of("0123456789", open + 1) == close)
      out.insert(text.substr(open, close - open + 1));
  }
  return out;
}

// A message with words, not only names and units: four Latin letters in a row.
bool has_word(const std::string& text) {
  int run = 0;
  for (const char ch : text) {
    run = std::isalpha(static_cast<unsigned char>(ch)) ? run + 1 : 0;
    if (run >= 4) return true;
  }
  return false;
}

TEST(ReportCatalog, EveryLanguageHasEveryEnglishMessageWithTheSamePlaceholders) {
  const Catalog en(Lang::en);
  EXPECT_GT(en.messages().size(), 150u);
  for (const Lang lang : all_langs()) {
    const Catalog c(lang);
    for (const auto& [key, text] : en.messages()) {
      ASSERT_TRUE(c.has(key)) << lang_code(lang) << " lacks " << key;
      EXPECT_EQ(placeholders(c.text(key)), placeholders(text)) << lang_code(lang) << " " << key;
    }
    for (const auto& [key, text] : c.messages()) EXPECT_TRUE(en.has(key)) << lang_code(lang) << " has an extra key " << key;
  }
}

TEST(ReportCatalog, NonEnglishCatalogsAreTranslated) {
  const Catalog en(Lang::en);
  for (const Lang lang : {Lang::ru, Lang::zh_TW, Lang::zh_CN}) {
    const Catalog c(lang);
    int same = 0;
    for (const auto& [key, text] : en.messages())
      if (key.rfind("unit.", 0) != 0 && key.rfind("norm.", 0) != 0 && key != "section.flops" && key != "col.flops" &&
          has_word(text) && c.text(key) == text) {
        ADD_FAILURE() << lang_code(lang) << " " << key << " is still English: " << text;
        ++same;
      }
    EXPECT_EQ(same, 0) << lang_code(lang);
  }
}

TEST(ReportCatalog, ChartFontsDrawEveryMessageOfEveryLanguage) {
  for (const Lang lang : all_langs()) {
    const Catalog c(lang);
    for (const auto& [key, text] : c.messages()) EXPECT_EQ(unknown_glyphs(text, lang), 0) << lang_code(lang) << " " << key << ": " << text;
  }
  // The check can fail: a character no installed font has is reported.
  EXPECT_GT(unknown_glyphs("\U000F0000", Lang::en), 0);
}

TEST(ReportCatalog, NumbersAreWrittenAsEachLanguageWritesThem) {
  const Catalog en(Lang::en), ru(Lang::ru), tw(Lang::zh_TW);
  EXPECT_EQ(en.integer(3212749824), "3,212,749,824");
  EXPECT_EQ(ru.integer(3212749824), "3\u00a0212\u00a0749\u00a0824");
  EXPECT_EQ(tw.integer(-1234), "-1,234");
  EXPECT_EQ(en.number(1234.567, 2), "1,234.57");
  EXPECT_EQ(ru.number(1234.567, 2), "1\u00a0234,57");
  EXPECT_EQ(ru.number(-0.0001, 2), "0,00");
  EXPECT_EQ(en.bytes(9.43 * 1024 * 1024), "9.43 MiB");
  EXPECT_EQ(ru.bytes(512), "512 Б");
  EXPECT_EQ(en.flops(913.98e9), "913.98 GFLOP");
  EXPECT_EQ(en.flops(0), "0 FLOP");
  EXPECT_EQ(ru.rate(5.89e12), "5,89 TFLOP/с");
  EXPECT_EQ(tw.ms(155.07), "155.1 毫秒");
  EXPECT_EQ(en.percent(12.345), "12.3 %");
}

TEST(ReportCatalog, UnknownLanguageIsBadInputNamingTheChoices) {
  try {
    parse_lang("de");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::config);
    EXPECT_NE(std::string(e.what()).find("en, ru, zh-TW, zh-CN"), std::string::npos);
  }
}

uint32_t png_height(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  unsigned char h[24] = {};
  f.read(reinterpret_cast<char*>(h), 24);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(h + 1), 3), "PNG");
  return (uint32_t{h[20]} << 24) | (uint32_t{h[21]} << 16) | (uint32_t{h[22]} << 8) | h[23];
}

TEST(ReportCharts, BarsGrowWithTheirRowsAndLinesSkipMissingPoints) {
  const fs::path dir = fs::temp_directory_path() / "anatomy_report_charts";
  fs::remove_all(dir);
  fs::create_directories(dir);
  ChartSpec bars{.name = "bars", .title_key = "chart.layer_time", .value_key = "axis.ms"};
  bars.series.push_back({"series.time_ms", {}});
  for (int i = 0; i < 150; ++i) {
    bars.labels.push_back("model.layers." + std::to_string(i));
    bars.series[0].values.push_back(1.0 + i % 7);
  }
  ChartSpec few = bars;
  few.name = "few";
  few.labels.resize(5);
  few.series[0].values.resize(5);
  ChartSpec lines{.name = "lines", .kind = ChartSpec::Kind::lines, .title_key = "chart.training", .value_key = "axis.loss",
                  .x_key = "axis.step", .x = {1, 2, 3, 4}, .log_x = true, .log_y = true};
  lines.series = {{"series.train_loss", {4.1, 3.9, 3.5, 3.2}}, {"series.val_loss", {NAN, 3.8, NAN, 3.3}}};
  for (const Lang lang : all_langs()) {
    const Catalog c(lang);
    for (const auto* spec : {&bars, &few, &lines}) write_chart(*spec, c, dir.string());
    EXPECT_GT(png_height((dir / "bars.png").string()), 150u * 14);
    EXPECT_LT(png_height((dir / "few.png").string()), 200u);
    std::ifstream svg(dir / "lines.svg");
    const std::string text((std::istreambuf_iterator<char>(svg)), std::istreambuf_iterator<char>());
    EXPECT_NE(text.find("<svg"), std::string::npos);
  }
  EXPECT_THROW(write_chart(bars, Catalog(Lang::en), (dir / "no" / "such").string()), Error);
  fs::remove_all(dir);
}

io::ordered_json meta_report(const std::string& model) {
  return cli::report_document({.model = model, .meta = true}, silent_progress());
}

TEST(ReportDiagram, EachLayerKindOnceWithItsCount) {
  const std::string nano = mermaid_diagram(meta_report("nanogpt-shakespeare-char")["inspect"]);
  EXPECT_EQ(nano.rfind("flowchart TD\n", 0), 0u);
  EXPECT_NE(nano.find("Block ×4 · layers 0–3"), std::string::npos);
  EXPECT_NE(nano.find("tied to transformer.wte.weight"), std::string::npos);
  const std::string zamba = mermaid_diagram(meta_report("zamba2-1.2b")["inspect"]);
  EXPECT_NE(zamba.find("Zamba2MambaDecoderLayer (Zamba2MambaMixer) ×32"), std::string::npos);
  EXPECT_NE(zamba.find("×6 · layers 5, 11, 17, 23, 29, 35"), std::string::npos);
  EXPECT_NE(zamba.find("shared, applied ×6"), std::string::npos);
  EXPECT_EQ(zamba.find("model.layers.7"), std::string::npos);  // one subgraph per kind, not per layer
}

TEST(ReportPage, MetaReportLeavesOutWhatNeedsARunWithOneSentenceEach) {
  const io::ordered_json r = meta_report("llama-3.2-3b");
  std::set<std::string> omitted;
  for (const auto& o : r["omitted"]) omitted.insert(o["section"].get<std::string>());
  EXPECT_EQ(omitted, (std::set<std::string>{"profile", "bench", "eval", "training"}));
  for (const Lang lang : all_langs()) {
    const Catalog c(lang);
    const std::string md = render_markdown(compose(r, c), r, c);
    EXPECT_NE(md.find(c.text("omitted.meta")), std::string::npos);
    EXPECT_NE(md.find(c.integer(3212749824)), std::string::npos);
    for (const char* bad : {"None", "nan", "NaN", "inf"}) EXPECT_EQ(md.find(std::string(" ") + bad + " "), std::string::npos) << bad;
  }
}

TEST(ReportPage, HtmlKeepsTheDocumentInsideItsScriptElement) {
  io::ordered_json r = meta_report("nanogpt-shakespeare-char");
  r["model"]["name"] = "</script><script>alert(1)</script><!--";
  const Catalog c(Lang::en);
  const std::string html = render_html(compose(r, c), r, c);
  EXPECT_EQ(html.find("<script>alert(1)"), std::string::npos);
  const size_t begin = html.find("id=\"anatomy-report\">"), end = html.find("</script>", begin);
  ASSERT_NE(begin, std::string::npos);
  EXPECT_EQ(html.substr(begin, end - begin).find('<'), std::string::npos);  // the JSON carries "\u003c"
  EXPECT_NE(html.substr(begin, end - begin).find("\\u003c/script>\\u003cscript>alert(1)"), std::string::npos);
  EXPECT_NE(html.find("default-src 'none'"), std::string::npos);
  size_t scripts = 0;
  for (size_t i = 0; (i = html.find("</script>", i)) != std::string::npos; ++i) ++scripts;
  EXPECT_EQ(scripts, 5u);  // the document, the chart specs, ECharts, Mermaid, the page's own code
}

}  // namespace
}  // namespace anatomy::report
