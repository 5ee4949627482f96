// A report as sections of blocks (headings, sentences, lists, tables, charts, the diagram) in one
// language: `compose` writes the words and formats the document's figures once; the Markdown and
// HTML renderers only lay the blocks out.
#pragma once

#include <string>
#include <vector>

#include "io/json.h"
#include "report/catalog.h"
#include "report/charts.h"

namespace anatomy::report {

struct Block {
  enum class Kind { heading, paragraph, bullets, table, chart, mermaid };
  Kind kind = Kind::paragraph;
  int level = 2;                  // heading
  std::string text;               // heading, paragraph (`code` spans allowed), chart name, mermaid source
  std::vector<std::string> items;  // bullets
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::vector<bool> right;  // table: right-aligned (numeric) columns
};

struct Section {
  std::string name;  // summary, config, …, footer
  std::vector<Block> blocks;
};

// Everything a report writes, from its document: a document lacking what a section reads (a
// report.json edited or written elsewhere) is bad input, ErrorKind::format naming the field.
struct Rendering {
  std::string markdown, html;  // html: only when asked for
  std::vector<ChartSpec> charts;
};
Rendering render(const io::ordered_json& report, const Catalog& catalog, bool html);

// The section names `--sections` accepts, in report order.
const std::vector<std::string>& section_names();
std::vector<Section> compose(const io::ordered_json& report, const Catalog& catalog);

std::string render_markdown(const std::vector<Section>& page, const io::ordered_json& report, const Catalog& catalog);
std::string render_html(const std::vector<Section>& page, const io::ordered_json& report, const Catalog& catalog);
// `anatomy compare --format html`: the anatomy.compare/1 document as one offline page — the table of
// figures and ratios (sortable) and a chart of each document's ratio to the first.
std::string render_compare_html(const io::ordered_json& compare);

}  // namespace anatomy::report
