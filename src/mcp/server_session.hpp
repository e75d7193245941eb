// Internal: what the MCP server keeps of its clients: SSE streams as replayable logs of events,
// sessions, and the table of sessions of the Streamable HTTP transport.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "mcp/server_core.hpp"
#include "polaris/json.hpp"

namespace polaris::mcp::detail {

/// An SSE stream as an append-only log of events: every reader (connection) has its own cursor,
/// so a client that reconnects with Last-Event-ID continues where it left off.
/// Thread safety: all methods from any thread.
class EventStream {
 public:
  explicit EventStream(std::string id) : id_(std::move(id)) {}
  [[nodiscard]] const std::string& id() const { return id_; }

  /// Appends a message; returns false once the stream is finished.
  bool push(const Json& message);
  /// An event with an id and no data, so that a client can resume from the very start.
  void prime(long retry_ms);
  void finish();
  [[nodiscard]] bool done() const;
  /// Waits up to `wait` for event `index` (0-based); returns it, or nullopt.
  std::optional<std::string> event(std::size_t index, std::chrono::milliseconds wait,
                                   bool& finished);

 private:
  std::string id_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::string> events_;
  bool done_ = false;
};

/// One MCP session (one client). Thread safety: guarded by mutex (ClientState's).
struct Session : ClientState {
  std::string id;
  std::size_t next_stream = 0;
  std::map<std::string, std::shared_ptr<EventStream>> streams;  // by stream id, for resumption
  std::shared_ptr<EventStream> get_stream;  // the standalone GET stream, if open
  std::vector<Json> pending_notifications;  // server-initiated, held while no GET stream is open

  /// A new stream of `kind` ('p' a POST's answer, 'g' the GET stream), kept for resumption.
  std::shared_ptr<EventStream> new_stream(char kind);
  /// Sends `note` on the GET stream, or holds it until one opens.
  void notify(const Json& note);
  /// Ends every stream (the server closes or the session is deleted).
  void finish_streams();
};

/// The sessions of the Streamable HTTP transport, by id.
/// Thread safety: all methods from any thread.
class SessionTable {
 public:
  void add(const std::shared_ptr<Session>& session);
  /// The session `id`; null when unknown.
  [[nodiscard]] std::shared_ptr<Session> find(const std::string& id) const;
  /// Removes and returns session `id`; null when unknown.
  std::shared_ptr<Session> remove(const std::string& id);
  [[nodiscard]] std::vector<std::shared_ptr<Session>> all() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<Session>> sessions_;
};

/// `bytes` random bytes as lower-case hex (session ids).
std::string random_hex(std::size_t bytes);

}  // namespace polaris::mcp::detail
