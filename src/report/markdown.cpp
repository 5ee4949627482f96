// The report as Markdown (GitHub's dialect: pipe tables, ```mermaid fences, images of the PNG charts
// with their SVG beside them).
#include <map>

#include <fmt/format.h>

#include "report/charts.h"
#include "report/page.h"

namespace anatomy::report {

namespace {

std::string cell(std::string s) {
  for (size_t i = 0; (i = s.find('|', i)) != std::string::npos; i += 2) s.replace(i, 1, "\\|");
  return s;
}

std::string md_table(const Block& b) {
  std::string out = "|";
  for (const auto& h : b.header) out += " " + cell(h) + " |";
  out += "\n|";
  for (size_t i = 0; i < b.header.size(); ++i) out += i < b.right.size() && b.right[i] ? " ---: |" : " :--- |";
  out += "\n";
  for (const auto& row : b.rows) {
    out += "|";
    for (const auto& v : row) out += " " + cell(v) + " |";
    out += "\n";
  }
  return out;
}

}  // namespace

std::string render_markdown(const std::vector<Section>& page, const io::ordered_json& report, const Catalog& c) {
  std::map<std::string, std::string> chart_titles;
  for (const auto& spec : chart_specs(report)) chart_titles[spec.name] = c.text(spec.title_key);
  std::string out = "# " + c.text("title", report.at("model").at("name").get<std::string>()) + "\n";
  for (const auto& section : page)
    for (const auto& b : section.blocks) {
      out += "\n";
      switch (b.kind) {
        case Block::Kind::heading: out += std::string(static_cast<size_t>(b.level), '#') + " " + b.text + "\n"; break;
        case Block::Kind::paragraph: out += b.text + "\n"; break;
        case Block::Kind::bullets:
          for (const auto& i : b.items) out += "- " + i + "\n";
          break;
        case Block::Kind::table: out += md_table(b); break;
        case Block::Kind::chart:
          out += fmt::format("![{0}](charts/{1}.png)\n\n[SVG](charts/{1}.svg)\n", chart_titles.count(b.text) ? chart_titles[b.text] : b.text, b.text);
          break;
        case Block::Kind::mermaid: out += "```mermaid\n" + b.text + "```\n"; break;
      }
    }
  return out;
}

}  // namespace anatomy::report
