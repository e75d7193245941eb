#include "mcp/server_session.hpp"

#include <algorithm>
#include <random>

namespace polaris::mcp::detail {

bool EventStream::push(const Json& message) {
  std::lock_guard lock(mutex_);
  if (done_) return false;
  const std::size_t seq = events_.size() + 1;
  events_.push_back("id: " + id_ + ":" + std::to_string(seq) + "\nevent: message\ndata: " +
                    message.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n\n");
  cv_.notify_all();
  return true;
}

void EventStream::prime(long retry_ms) {
  std::lock_guard lock(mutex_);
  const std::size_t seq = events_.size() + 1;
  events_.push_back("id: " + id_ + ":" + std::to_string(seq) +
                    "\nretry: " + std::to_string(retry_ms) + "\ndata: \n\n");
  cv_.notify_all();
}

void EventStream::finish() {
  std::lock_guard lock(mutex_);
  done_ = true;
  cv_.notify_all();
}

bool EventStream::done() const {
  std::lock_guard lock(mutex_);
  return done_;
}

std::optional<std::string> EventStream::event(std::size_t index, std::chrono::milliseconds wait,
                                              bool& finished) {
  std::unique_lock lock(mutex_);
  cv_.wait_for(lock, wait, [&] { return index < events_.size() || done_; });
  finished = done_ && index >= events_.size();
  if (index < events_.size()) return events_[index];
  return std::nullopt;
}

std::shared_ptr<EventStream> Session::new_stream(char kind) {
  std::lock_guard lock(mutex);
  auto stream = std::make_shared<EventStream>(std::string(1, kind) + std::to_string(++next_stream));
  streams[stream->id()] = stream;
  // Bound the memory: forget the oldest finished streams.
  while (streams.size() > 256) {
    auto oldest = std::find_if(streams.begin(), streams.end(),
                               [](const auto& entry) { return entry.second->done(); });
    if (oldest == streams.end()) break;
    streams.erase(oldest);
  }
  return stream;
}

void Session::notify(const Json& note) {
  std::lock_guard lock(mutex);
  if (!get_stream || !get_stream->push(note)) pending_notifications.push_back(note);
}

void Session::finish_streams() {
  std::lock_guard lock(mutex);
  for (auto& [stream_id, stream] : streams) stream->finish();
}

void SessionTable::add(const std::shared_ptr<Session>& session) {
  std::lock_guard lock(mutex_);
  sessions_[session->id] = session;
}

std::shared_ptr<Session> SessionTable::find(const std::string& id) const {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : it->second;
}

std::shared_ptr<Session> SessionTable::remove(const std::string& id) {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return nullptr;
  auto session = std::move(it->second);
  sessions_.erase(it);
  return session;
}

std::vector<std::shared_ptr<Session>> SessionTable::all() const {
  std::lock_guard lock(mutex_);
  std::vector<std::shared_ptr<Session>> sessions;
  sessions.reserve(sessions_.size());
  for (const auto& [id, session] : sessions_) sessions.push_back(session);
  return sessions;
}

std::string random_hex(std::size_t bytes) {
  std::random_device device;
  std::string out;
  static constexpr char kHex[] = "0123456789abcdef";
  for (std::size_t i = 0; i < bytes; ++i) {
    const auto value = static_cast<unsigned>(device()) & 0xffU;
    out += kHex[value >> 4];
    out += kHex[value & 0xfU];
  }
  return out;
}

}  // namespace polaris::mcp::detail
