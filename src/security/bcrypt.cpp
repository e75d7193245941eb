// bcrypt through libxcrypt (Debian's libcrypt): the hashes nats-server accepts as passwords.
#include <crypt.h>
#include <sys/random.h>

#include <array>
#include <memory>
#include <string>

#include "polaris/error.hpp"
#include "polaris/security.hpp"
#include "security/secrets.hpp"

namespace polaris {
namespace {

// crypt_rn() needs a large scratch area; allocate it instead of putting it on the stack.
std::string crypt_with(std::string_view password, const char* setting) {
  auto data = std::make_unique<crypt_data>();
  const std::string phrase(password);
  const char* hash = crypt_rn(phrase.c_str(), setting, data.get(), sizeof(crypt_data));
  // libxcrypt reports failure with a null pointer or a string starting with '*'.
  if (hash == nullptr || hash[0] == '*') return {};
  return hash;
}

}  // namespace

std::string hash_password(std::string_view password) {
  return detail::bcrypt_hash(password, kPasswordHashCost);
}

namespace detail {

std::string bcrypt_hash(std::string_view password, int cost) {
  if (password.empty()) throw Error(Errc::invalid_argument, "the password is empty");
  std::array<char, CRYPT_GENSALT_OUTPUT_SIZE> salt{};
  // A null random source makes libxcrypt take the salt from the operating system.
  if (crypt_gensalt_rn("$2b$", cost, nullptr, 0, salt.data(), static_cast<int>(salt.size())) ==
      nullptr) {
    throw Error(Errc::internal, "libcrypt cannot make a bcrypt salt");
  }
  std::string hash = crypt_with(password, salt.data());
  if (hash.empty()) throw Error(Errc::internal, "libcrypt cannot compute a bcrypt hash");
  return hash;
}

}  // namespace detail

bool password_matches(std::string_view password, const std::string& hash) {
  const std::string again = crypt_with(password, hash.c_str());
  if (again.empty() || again.size() != hash.size()) return false;
  // Constant time, so the comparison tells nothing about where the strings differ.
  unsigned char difference = 0;
  for (std::size_t i = 0; i < hash.size(); ++i) {
    difference |= static_cast<unsigned char>(again[i] ^ hash[i]);
  }
  return difference == 0;
}

namespace detail {

std::string random_secret(std::size_t bytes) {
  std::string raw(bytes, '\0');
  std::size_t filled = 0;
  while (filled < bytes) {
    const ssize_t got = ::getrandom(raw.data() + filled, bytes - filled, 0);
    if (got < 0) throw Error(Errc::internal, "getrandom failed");
    filled += static_cast<std::size_t>(got);
  }
  static constexpr std::string_view kHex = "0123456789abcdef";
  std::string text;
  text.reserve(bytes * 2);
  for (const char c : raw) {
    const auto byte = static_cast<unsigned char>(c);
    text += kHex[byte >> 4U];
    text += kHex[byte & 0xFU];
  }
  return text;
}

}  // namespace detail
}  // namespace polaris
