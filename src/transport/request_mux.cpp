#include "transport/request_mux.hpp"

#include <charconv>
#include <optional>
#include <vector>

#include "polaris/json.hpp"
#include "transport/nats_error.hpp"

namespace polaris::detail {

RequestMux::RequestMux(natsConnection* connection, std::string inbox_prefix)
    : connection_(connection), inbox_(std::move(inbox_prefix)) {
  subscription_ = Subscription(connection_, inbox_ + ".*", "",
                               [this](NatsMsgPtr msg) { on_reply(std::move(msg)); });
  timer_ = std::thread([this] { run_timer(); });
}

RequestMux::~RequestMux() { close(); }

void RequestMux::close() {
  {
    std::lock_guard lock(mutex_);
    if (closed_) return;
    closed_ = true;
  }
  timer_cv_.notify_all();
  if (timer_.joinable()) timer_.join();
  subscription_.unsubscribe();
  fail_all(Errc::not_connected, "the connection is closed");
}

void RequestMux::request(const std::string& subject, std::string_view body,
                         std::chrono::milliseconds timeout, const Headers& headers,
                         ReplyCallback done, ProgressCallback progress) {
  std::uint64_t id = 0;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  {
    std::lock_guard lock(mutex_);
    if (closed_) {
      done(Error(Errc::not_connected, "the connection is closed"));
      return;
    }
    id = next_id_++;
    const bool earliest = deadlines_.empty() || deadline < deadlines_.begin()->first;
    pending_.emplace(id, Pending{subject, std::move(done), deadline, timeout, progress});
    deadlines_.emplace(deadline, id);
    if (earliest) timer_cv_.notify_one();
  }
  const std::string reply = inbox_ + "." + std::to_string(id);
  Headers all_headers = headers;
  if (progress) all_headers.emplace_back("Polaris-Progress", inbox_ + ".p" + std::to_string(id));
  natsStatus status = NATS_OK;
  if (all_headers.empty()) {
    status = natsConnection_PublishRequest(connection_, subject.c_str(), reply.c_str(), body.data(),
                                           static_cast<int>(body.size()));
  } else {
    natsMsg* raw = nullptr;
    status = natsMsg_Create(&raw, subject.c_str(), reply.c_str(), body.data(),
                            static_cast<int>(body.size()));
    NatsMsgPtr msg(raw);
    for (const auto& [name, value] : all_headers) {
      if (status == NATS_OK) status = natsMsgHeader_Set(raw, name.c_str(), value.c_str());
    }
    if (status == NATS_OK) status = natsConnection_PublishMsg(connection_, raw);
  }
  if (status != NATS_OK) {
    if (auto pending = take(id)) {
      try {
        throw_nats_error(status, "cannot send the request to " + subject);
      } catch (Error& error) {
        pending->done(std::move(error));
      }
    }
  }
}

std::optional<RequestMux::Pending> RequestMux::take(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  auto it = pending_.find(id);
  if (it == pending_.end()) return std::nullopt;
  Pending pending = std::move(it->second);
  pending_.erase(it);
  auto [first, last] = deadlines_.equal_range(pending.deadline);
  for (auto d = first; d != last; ++d) {
    if (d->second == id) {
      deadlines_.erase(d);
      break;
    }
  }
  return pending;
}

void RequestMux::on_reply(NatsMsgPtr msg) {
  const std::string_view subject = natsMsg_GetSubject(msg.get());
  std::string_view token = subject.substr(subject.rfind('.') + 1);
  const bool is_progress = token.starts_with('p');
  if (is_progress) token.remove_prefix(1);
  std::uint64_t id = 0;
  if (std::from_chars(token.data(), token.data() + token.size(), id).ec != std::errc{}) return;
  if (is_progress) {
    ProgressCallback progress;
    {
      std::lock_guard lock(mutex_);
      auto it = pending_.find(id);
      if (it == pending_.end()) return;  // the call already ended
      progress = it->second.progress;
    }
    const char* data = natsMsg_GetData(msg.get());
    if (progress) {
      progress(std::string_view(data != nullptr ? data : "",
                                static_cast<std::size_t>(natsMsg_GetDataLength(msg.get()))));
    }
    return;
  }
  auto pending = take(id);
  if (!pending) return;  // a late reply (timed out) or a second reply from another node
  if (natsMsg_IsNoResponders(msg.get())) {
    pending->done(Error(Errc::no_such_tool, "nobody serves " + pending->subject));
    return;
  }
  const char* data = natsMsg_GetData(msg.get());
  std::string body(data != nullptr ? data : "",
                   static_cast<std::size_t>(natsMsg_GetDataLength(msg.get())));
  const char* status = nullptr;
  if (natsMsgHeader_Get(msg.get(), "Polaris-Status", &status) == NATS_OK && status != nullptr &&
      std::string_view(status) == "busy") {
    const Json reply = Json::parse(body, nullptr, /*allow_exceptions=*/false);
    const bool has_message =
        reply.is_object() && reply.contains("_error") && reply["_error"].is_string();
    pending->done(Error(Errc::busy, has_message ? reply["_error"].get<std::string>()
                                                : "busy: " + pending->subject));
    return;
  }
  pending->done(std::move(body));
}

void RequestMux::run_timer() {
  std::unique_lock lock(mutex_);
  while (!closed_) {
    if (deadlines_.empty()) {
      timer_cv_.wait(lock);
      continue;
    }
    const auto next = deadlines_.begin()->first;
    if (std::chrono::steady_clock::now() < next) {
      timer_cv_.wait_until(lock, next);
      continue;
    }
    std::vector<Pending> expired;
    const auto now = std::chrono::steady_clock::now();
    while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
      auto node = pending_.extract(deadlines_.begin()->second);
      deadlines_.erase(deadlines_.begin());
      if (!node.empty()) expired.push_back(std::move(node.mapped()));
    }
    lock.unlock();
    for (auto& pending : expired) {
      pending.done(Error(Errc::timeout, "no reply from " + pending.subject + " within " +
                                            std::to_string(pending.timeout.count()) + " ms"));
    }
    lock.lock();
  }
}

void RequestMux::fail_all(Errc code, const std::string& message) {
  std::unordered_map<std::uint64_t, Pending> failed;
  {
    std::lock_guard lock(mutex_);
    failed.swap(pending_);
    deadlines_.clear();
  }
  for (auto& [id, pending] : failed)
    pending.done(Error(code, message + " (" + pending.subject + ")"));
}

}  // namespace polaris::detail
