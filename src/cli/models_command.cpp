// `anatomy models`: the built-in catalog, usable by name with no file.
#include <fmt/format.h>

#include "analysis/params.h"
#include "cli/commands.h"
#include "cli/render.h"
#include "models/catalog.h"
#include "models/registry.h"

namespace anatomy::cli {

std::string models_command(const std::string& format) {
  const Format f = parse_format(format);
  io::ordered_json list = io::ordered_json::array();
  Table t({"name", "architecture", "model_type", "parameters", "description"},
          {Table::Align::left, Table::Align::left, Table::Align::left, Table::Align::right, Table::Align::left});
  for (const auto& e : models::catalog()) {
    const auto m = models::build_model(e.config, "catalog/" + e.name + ".json");
    const auto r = analysis::count_params(m);
    t.add({e.name, m.architecture, m.model_type, with_commas(r.total), e.description});
    list.push_back({{"name", e.name}, {"architecture", m.architecture}, {"model_type", m.model_type},
                    {"params", r.total}, {"params_with_tied", r.total_with_tied}, {"description", e.description}});
  }
  if (f == Format::json) return io::ordered_json{{"schema", "anatomy.models/1"}, {"models", list}}.dump(2) + "\n";
  std::string families;
  for (const auto& fam : models::families()) families += (families.empty() ? "" : ", ") + std::string(fam.model_type);
  return heading("Built-in models (use the name wherever a MODEL is expected)", f, 1) + t.render(f) +
         fmt::format("\nSupported model_type values: {}\n", families);
}

}  // namespace anatomy::cli
