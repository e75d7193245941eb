// polaris/polaris.hpp - the one header users include.
#pragma once

#include "polaris/connection.hpp"  // IWYU pragma: export
#include "polaris/describe.hpp"    // IWYU pragma: export
#include "polaris/error.hpp"       // IWYU pragma: export
#include "polaris/json.hpp"        // IWYU pragma: export
#include "polaris/llm.hpp"         // IWYU pragma: export
#include "polaris/llm_agent.hpp"   // IWYU pragma: export
#include "polaris/mcp.hpp"         // IWYU pragma: export
#include "polaris/registry.hpp"    // IWYU pragma: export
#include "polaris/schema.hpp"      // IWYU pragma: export
#include "polaris/shutdown.hpp"    // IWYU pragma: export
#include "polaris/tool.hpp"        // IWYU pragma: export
#include "polaris/typed.hpp"       // IWYU pragma: export
#include "polaris/version.hpp"     // IWYU pragma: export
