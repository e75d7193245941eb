#include "registry/system_client.hpp"

#include <array>

#include "common/untrusted_json.hpp"
#include "polaris/error.hpp"
#include "transport/gather.hpp"
#include "transport/nats_options.hpp"

namespace polaris::detail {

SystemClient::SystemClient(const ConnectOptions& options) {
  auto nats_options = make_nats_options(options, {});
  connection_ = connect_nats(nats_options.get(), options.servers);
}

SystemClient::~SystemClient() { close(); }

void SystemClient::close() {
  if (connection_) natsConnection_Close(connection_.get());
}

std::string SystemClient::server_id() const {
  std::array<char, 128> id{};
  if (natsConnection_GetConnectedServerId(connection_.get(), id.data(), id.size()) != NATS_OK) {
    return {};
  }
  return id.data();
}

Json SystemClient::server_request(const std::string& server_id, std::string_view kind,
                                  std::chrono::milliseconds timeout) const {
  const std::string subject = "$SYS.REQ.SERVER." + server_id + "." + std::string(kind);
  const auto replies =
      gather(connection_.get(), subject, "", GatherOptions{.timeout = timeout, .max_replies = 1});
  if (replies.empty()) throw Error(Errc::timeout, "no answer on " + subject);
  Json answer = parse_untrusted_json(replies.front());
  if (!answer.is_object()) throw Error(Errc::protocol, subject + ": the answer is not JSON");
  if (const auto error = answer.find("error"); error != answer.end() && !error->is_null()) {
    throw Error(Errc::protocol, subject + ": " + error->dump());
  }
  const auto data = answer.find("data");
  if (data == answer.end() || !data->is_object()) {
    throw Error(Errc::protocol, subject + ": the answer has no data");
  }
  return *data;
}

std::vector<Json> SystemClient::ping(std::string_view kind, std::chrono::milliseconds timeout,
                                     std::chrono::milliseconds quiet) const {
  std::vector<Json> answers;
  for (const auto& body : gather(connection_.get(), "$SYS.REQ.SERVER.PING." + std::string(kind), "",
                                 GatherOptions{.timeout = timeout, .quiet = quiet})) {
    Json answer = parse_untrusted_json(body);
    if (answer.is_object() && answer.contains("server") && answer.contains("data")) {
      answers.push_back(std::move(answer));
    }
  }
  return answers;
}

}  // namespace polaris::detail
