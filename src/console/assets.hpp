// Internal: the console's page, compiled into the program (assets.cpp is generated at build time
// from src/console/web/ by embed_assets.cmake).
#pragma once

#include <span>
#include <string_view>

namespace polaris::console {

struct Asset {
  std::string_view path;          ///< "/console.js"; the page is "/index.html"
  std::string_view content_type;  ///< "text/javascript; charset=utf-8"
  std::string_view body;
};

/// Every asset of the page.
std::span<const Asset> assets();

}  // namespace polaris::console
