// The Mermaid flowchart of a model, drawn from the inspect document's module tree and its parameter
// components: each kind of layer appears once, with its repeat count and layer indices.
#pragma once

#include <string>

#include "io/json.h"

namespace anatomy::report {

std::string mermaid_diagram(const io::ordered_json& inspect);
// The same path in one line: "input_ids → model.embed_tokens → model.layers ×28 → … → logits".
std::string data_flow(const io::ordered_json& inspect);

}  // namespace anatomy::report
