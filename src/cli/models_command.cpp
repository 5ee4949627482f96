// `anatomy models`: the built-in catalog, usable by name with no file.
#include <fmt/format.h>

#include "analysis/params.h"
#include "cli/commands.h"
#include "cli/render.h"
#include "models/catalog.h"
#include "models/registry.h"

namespace anatomy::cli {

io::ordered_json models_document() {
  io::ordered_json list = io::ordered_json::array();
  for (const auto& e : models::catalog()) {
    const auto m = models::build_model(e.config, "catalog/" + e.name + ".json");
    const auto r = analysis::count_params(m);
    list.push_back({{"name", e.name}, {"architecture", m.architecture}, {"model_type", m.model_type},
                    {"params", r.total}, {"params_with_tied", r.total_with_tied}, {"description", e.description}});
  }
  io::ordered_json families = io::ordered_json::array();
  for (const auto& fam : models::families()) families.push_back(fam.model_type);
  return {{"schema", "anatomy.models/2"}, {"models", list}, {"model_types", families}};
}

std::string models_command(const std::string& format) {
  const Format f = parse_format(format);
  const io::ordered_json d = models_document();
  if (f == Format::json) return d.dump(2) + "\n";
  Table t({"name", "architecture", "model_type", "parameters", "description"},
          {Table::Align::left, Table::Align::left, Table::Align::left, Table::Align::right, Table::Align::left});
  for (const auto& m : d["models"])
    t.add({m["name"], m["architecture"], m["model_type"], with_commas(m["params"]), m["description"]});
  std::string families;
  for (const auto& fam : d["model_types"]) families += (families.empty() ? "" : ", ") + fam.get<std::string>();
  return heading("Built-in models (use the name wherever a MODEL is expected)", f, 1) + t.render(f) +
         fmt::format("\nSupported model_type values: {}\n", families);
}

}  // namespace anatomy::cli
