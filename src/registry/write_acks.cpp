#include "registry/write_acks.hpp"

namespace polaris::detail {

std::uint64_t WriteAcks::begin(const std::vector<std::string>& peers, std::size_t parts) {
  std::lock_guard lock(mutex_);
  const std::uint64_t write = next_++;
  auto& waiting = open_[write];
  if (parts == 0) return write;
  for (const auto& peer : peers) waiting[peer] = parts;
  return write;
}

bool WriteAcks::confirm(std::uint64_t write, const std::string& peer) {
  std::lock_guard lock(mutex_);
  auto it = open_.find(write);
  if (it == open_.end()) return false;
  auto waiting = it->second.find(peer);
  if (waiting == it->second.end()) return false;
  if (--waiting->second == 0) it->second.erase(waiting);
  return it->second.empty();
}

bool WriteAcks::complete(std::uint64_t write) const {
  std::lock_guard lock(mutex_);
  auto it = open_.find(write);
  return it == open_.end() || it->second.empty();
}

std::vector<std::string> WriteAcks::missing(std::uint64_t write) const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> peers;
  if (auto it = open_.find(write); it != open_.end()) {
    for (const auto& [peer, parts] : it->second) peers.push_back(peer);
  }
  return peers;
}

void WriteAcks::end(std::uint64_t write) {
  std::lock_guard lock(mutex_);
  open_.erase(write);
}

}  // namespace polaris::detail
