#include "transport/publish.hpp"

#include <array>
#include <cstdlib>

#include "transport/nats_error.hpp"
#include "transport/nats_handles.hpp"

namespace polaris::detail {
namespace {

const char* or_null(const std::string& text) { return text.empty() ? nullptr : text.c_str(); }

// Adds every value of every header of `from` to `to`.
natsStatus copy_headers(natsMsg* from, natsMsg* to) {
  const char** keys = nullptr;
  int count = 0;
  natsStatus status = NATS_OK;
  if (natsMsgHeader_Keys(from, &keys, &count) != NATS_OK) return NATS_OK;  // none
  for (int i = 0; i < count && status == NATS_OK; ++i) {
    const char** values = nullptr;
    int value_count = 0;
    if (natsMsgHeader_Values(from, keys[i], &values, &value_count) != NATS_OK) continue;
    for (int v = 0; v < value_count && status == NATS_OK; ++v) {
      status = natsMsgHeader_Add(to, keys[i], values[v]);
    }
    // nats.c allocated the array with malloc.
    // NOLINTNEXTLINE(cppcoreguidelines-no-malloc,cppcoreguidelines-owning-memory)
    std::free(static_cast<void*>(values));
  }
  // NOLINTNEXTLINE(cppcoreguidelines-no-malloc,cppcoreguidelines-owning-memory)
  std::free(static_cast<void*>(keys));
  return status;
}

}  // namespace

natsStatus publish(natsConnection* connection, const std::string& subject, const std::string& reply,
                   std::string_view body, const Headers& headers) {
  const int size = static_cast<int>(body.size());
  if (headers.empty()) {
    return reply.empty() ? natsConnection_Publish(connection, subject.c_str(), body.data(), size)
                         : natsConnection_PublishRequest(connection, subject.c_str(), reply.c_str(),
                                                         body.data(), size);
  }
  natsMsg* raw = nullptr;
  natsStatus status = natsMsg_Create(&raw, subject.c_str(), or_null(reply), body.data(), size);
  const NatsMsgPtr msg(raw);
  for (const auto& [name, value] : headers) {
    if (status == NATS_OK) status = natsMsgHeader_Set(raw, name.c_str(), value.c_str());
  }
  if (status == NATS_OK) status = natsConnection_PublishMsg(connection, raw);
  return status;
}

natsStatus republish(natsConnection* connection, natsMsg* msg) {
  natsMsg* raw = nullptr;
  natsStatus status = natsMsg_Create(&raw, natsMsg_GetSubject(msg), natsMsg_GetReply(msg),
                                     natsMsg_GetData(msg), natsMsg_GetDataLength(msg));
  const NatsMsgPtr copy(raw);
  if (status == NATS_OK) status = copy_headers(msg, raw);
  if (status == NATS_OK) status = natsConnection_PublishMsg(connection, raw);
  return status;
}

bool lost_with_connection(natsStatus status) noexcept {
  switch (status) {
    case NATS_CONNECTION_DISCONNECTED:
    case NATS_STALE_CONNECTION:
    case NATS_IO_ERROR:
    case NATS_SSL_ERROR:
    case NATS_INSUFFICIENT_BUFFER:
      return true;
    default:
      return false;
  }
}

std::string connected_url(natsConnection* connection) {
  std::array<char, 512> buffer{};
  if (natsConnection_GetConnectedUrl(connection, buffer.data(), buffer.size()) != NATS_OK) {
    return {};
  }
  return buffer.data();
}

std::string new_inbox(const std::string& prefix) {
  // natsInbox_Create always says "_INBOX.<nuid>": swap in our prefix (security: per-user inbox
  // prefixes, docs/SECURITY.md).
  natsInbox* inbox = nullptr;
  check_nats(natsInbox_Create(&inbox), "cannot create an inbox");
  std::string text(inbox);
  natsInbox_Destroy(inbox);
  return prefix + text.substr(text.find('.'));
}

}  // namespace polaris::detail
