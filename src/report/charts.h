// The report's charts: which figures of the report document each chart shows (chart_specs, a
// selection, never a computation), and drawing them with cairo + pango as PNG and SVG. The HTML
// page draws the same specs with ECharts.
#pragma once

#include <string>
#include <vector>

#include "io/json.h"
#include "report/catalog.h"

namespace anatomy::report {

struct Series {
  std::string name_key;        // catalog key of the legend entry
  std::vector<double> values;  // one per label (bars) or per x (lines)
};

struct ChartSpec {
  enum class Kind { bars, lines };
  std::string name;  // file stem under charts/: layer_time, type_time, block_time, runtime_scaling, training
  Kind kind = Kind::bars;
  std::string title_key, value_key, x_key;  // catalog keys: title, value axis, x axis (lines)
  std::vector<std::string> labels;  // bars: one row each (module paths, types: never translated)
  std::vector<std::string> notes;   // bars: text after each bar's value (may be empty)
  std::string note_prefix;          // when set, each note is a catalog key after this prefix ("bound.")
  std::vector<double> x;            // lines
  std::vector<Series> series;
  bool log_x = false, log_y = false;
};

// The charts a report document can have, from the sections it holds (profile, bench, training).
std::vector<ChartSpec> chart_specs(const io::ordered_json& report);
// The spec as JSON for the HTML page, with its words in the catalog's language.
io::ordered_json chart_json(const ChartSpec& spec, const Catalog& catalog);

// Writes DIR/<name>.png and DIR/<name>.svg.
void write_chart(const ChartSpec& spec, const Catalog& catalog, const std::string& dir);
// Glyphs the chart fonts cannot draw in `text` (0 when every character renders).
int unknown_glyphs(const std::string& text, Lang lang);

}  // namespace anatomy::report
