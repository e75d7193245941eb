// Registry request bodies: register/unregister carry one declaration, keepalive an array of them,
// and every Connection reads the same declarations back from list replies. Any peer on the bus
// can send these, so they are untrusted.
#include "fuzz_support.hpp"
#include "polaris/error.hpp"
#include "polaris/schema.hpp"
#include "polaris/tool.hpp"
#include "protocol/wire.hpp"
#include "registry/catalogue.hpp"

namespace {

using polaris::Json;

void visit(const Json& declaration) {
  const auto checked = polaris::detail::check_declaration(declaration);
  // The registry answers every request with a status reply: it must always serialise.
  (void)polaris::wire::status_reply(checked.problem.empty(), checked.problem).dump();
  try {
    const auto parsed = polaris::ToolDeclaration::from_json(declaration);
    // What a Connection keeps must render to a declaration that parses to the same thing.
    const Json rendered = parsed.to_json();
    if (polaris::ToolDeclaration::from_json(rendered).to_json() != rendered) {
      polaris::fuzz::broken("ToolDeclaration to_json/from_json round trip");
    }
    (void)rendered.dump();
    if (parsed.parameters.is_object())
      (void)polaris::Schema::from_json(parsed.parameters).to_json();
  } catch (const polaris::Error&) {  // a refused declaration is the expected outcome
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Json body = Json::parse(polaris::fuzz::as_text(data, size), nullptr, false);
  if (body.is_discarded()) return 0;
  if (body.is_array()) {
    for (const auto& declaration : body) visit(declaration);  // keepalive
  } else {
    visit(body);  // register, unregister
  }
  return 0;
}
