#include "client/agent_id.hpp"

#include <array>
#include <random>
#include <string_view>

namespace polaris::detail {

std::string new_agent_id() {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  // Seeded from the OS for every id: ids of agents started at the same moment must differ.
  std::random_device entropy;
  std::array<std::uint32_t, 8> seed{};
  for (auto& word : seed) word = entropy();
  std::seed_seq sequence(seed.begin(), seed.end());
  std::mt19937_64 generator(sequence);
  std::uniform_int_distribution<std::size_t> pick(0, kAlphabet.size() - 1);
  std::string id(22, 'A');
  for (auto& c : id) c = kAlphabet[pick(generator)];
  return id;
}

}  // namespace polaris::detail
