// The agents' NATS service-discovery answers (ADR-32, "NATS micro") as the official NATS
// JavaScript service client (@nats-io/services, pinned in package.json) receives them: ping, info
// and stats for all services, for the name `polaris` and for name + id. The peer also starts a
// service with the official implementation, so our answers are compared with its answers too.
#include <gtest/gtest.h>

#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <future>
#include <map>
#include <regex>
#include <set>

#include "polaris/polaris.hpp"
#include "process/child_process.hpp"
#include "protocol/wire.hpp"
#include "support/calculator.hpp"
#include "support/run_program.hpp"
#include "support/wait.hpp"

namespace polaris {
namespace {

using test::add;
using test::calculator;

const std::vector<std::string> kVerbs = {"ping", "info", "stats"};

// A JSON value's type as JavaScript (and so the official client) sees it.
std::string js_type(const Json& value) {
  if (value.is_number()) return "number";
  if (value.is_string()) return "string";
  if (value.is_boolean()) return "boolean";
  if (value.is_object()) return "object";
  if (value.is_array()) return "array";
  return "null";
}

// The answers of `answers` from services named `name`.
std::vector<Json> from_service(const Json& answers, const std::string& name) {
  std::vector<Json> found;
  for (const auto& answer : answers) {
    if (answer.at("name") == name) found.push_back(answer);
  }
  return found;
}

const Json& with_id(const std::vector<Json>& answers, const std::string& id) {
  for (const auto& answer : answers) {
    if (answer.at("id") == id) return answer;
  }
  throw std::runtime_error("no answer from " + id);
}

const Json& endpoint(const Json& answer, const std::string& name) {
  for (const auto& one : answer.at("endpoints")) {
    if (one.at("name") == name) return one;
  }
  throw std::runtime_error("no endpoint " + name);
}

// The fields ADR-32 requires, with their types ("integer": a whole number).
using Fields = std::vector<std::pair<std::string, std::string>>;
const Fields kStandard = {{"type", "string"},
                          {"name", "string"},
                          {"id", "string"},
                          {"version", "string"},
                          {"metadata", "object"}};
const std::map<std::string, Fields> kAnswerFields = {
    {"ping", {}},
    {"info", {{"description", "string"}, {"endpoints", "array"}}},
    {"stats", {{"started", "string"}, {"endpoints", "array"}}},
};
const std::map<std::string, Fields> kEndpointFields = {
    {"info",
     {{"name", "string"},
      {"subject", "string"},
      {"queue_group", "string"},
      {"metadata", "object"}}},
    {"stats",
     {{"name", "string"},
      {"subject", "string"},
      {"queue_group", "string"},
      {"num_requests", "integer"},
      {"num_errors", "integer"},
      {"last_error", "string"},
      {"processing_time", "integer"},
      {"average_processing_time", "integer"}}},
};

void expect_fields(const Json& object, const Fields& fields, const std::string& where) {
  for (const auto& [field, type] : fields) {
    ASSERT_TRUE(object.contains(field)) << where << " lacks " << field << ": " << object;
    if (type == "integer") {
      EXPECT_TRUE(object[field].is_number_integer()) << where << "." << field << ": " << object;
    } else {
      EXPECT_EQ(js_type(object[field]), type) << where << "." << field << ": " << object;
    }
  }
}

void expect_string_map(const Json& metadata, const std::string& where) {
  for (const auto& [key, value] : metadata.items()) {
    EXPECT_TRUE(value.is_string()) << where << " metadata " << key << ": " << metadata;
  }
}

// Every field the official implementation sends, we send with the same type.
void expect_like(const Json& ours, const Json& theirs, const std::string& where) {
  for (const auto& [field, value] : theirs.items()) {
    ASSERT_TRUE(ours.contains(field))
        << where << " lacks " << field << " (official: " << theirs << ")";
    EXPECT_EQ(js_type(ours[field]), js_type(value)) << where << "." << field;
  }
}

class ServiceClientTest : public ::testing::Test {
 protected:
  ~ServiceClientTest() override { release(); }  // before the agents close

  void release() {
    if (!released_flag_.exchange(true)) release_.set_value();
  }

  // The official client: {"versions", "all", "name", "ids"} (see srv_client.mjs).
  Json run_client(int all_count, int name_count, const std::vector<std::string>& flags = {}) {
    std::vector<std::string> argv = {detail::find_executable("node"),
                                     std::string(POLARIS_SRV_TEST_DIR) + "/srv_client.mjs",
                                     registry_.client_url(),
                                     "polaris",
                                     std::to_string(all_count),
                                     std::to_string(name_count),
                                     "--reference"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    const auto run =
        test::run_program(argv, {"POLARIS_SRV_PEERS=" + std::string(POLARIS_SRV_PEERS)});
    EXPECT_EQ(run.exit_code, 0) << run.err;
    return Json::parse(run.out);
  }

  Registry registry_ = Registry::start({.bind = {.port = 0}});
  std::promise<void> release_;
  std::shared_future<void> released_ = release_.get_future().share();
  std::atomic<bool> released_flag_{false};
  std::atomic<int> waiting_{0};

  Connection calculator_agent_ = [this] {
    auto agent = connect({.servers = {registry_.client_url()}, .name = "srv-calculator"});
    agent.register_tool(calculator());
    agent.register_tool({.name = "echo",
                         .description = "returns its text",
                         .parameters = Object{.properties = {{"text", String{.required = true}}}},
                         .handler = [](const Request& r) -> Result {
                           return Json{{"text", r.string("text")}};
                         }});
    return agent;
  }();
  // "gate" answers at once, or with {"wait": true} only once the test releases it.
  Connection gate_agent_ = [this] {
    auto agent = connect({.servers = {registry_.client_url()}, .name = "srv-gate"});
    agent.register_tool({.name = "gate",
                         .description = "waits for the test when asked to",
                         .parameters = Object{.properties = {{"wait", Bool{}}}},
                         .handler = [this](const Request& r) -> Result {
                           if (r.has("wait") && r.boolean("wait")) {
                             ++waiting_;
                             released_.wait();
                           }
                           return Json{{"passed", true}};
                         }});
    return agent;
  }();
  Connection client_ = connect({.servers = {registry_.client_url()}});
};

TEST_F(ServiceClientTest, OfficialClientFindsEveryAgentWithItsToolsAndCounts) {
  // calculator: 3 calls that succeed, 1 that fails; echo: 2; gate: 2 done and 1 in flight.
  for (int i = 0; i < 3; ++i) ASSERT_EQ(client_.call("calculator", add(i, 1))["result"], i + 1.0);
  EXPECT_THROW(client_.call("calculator", {{"operation", "divide"}, {"a", 1}, {"b", 0}}), Error);
  for (int i = 0; i < 2; ++i) ASSERT_EQ(client_.call("echo", {{"text", "hi"}})["text"], "hi");
  for (int i = 0; i < 2; ++i) ASSERT_EQ(client_.call("gate")["passed"], true);
  auto held = client_.call_async("gate", {{"wait", true}});
  ASSERT_TRUE(test::wait_until([&] { return waiting_ == 1; }));

  // Two agents and the official client's own reference service; the client (no tool) is none.
  // The official client also calls calculator once, failing: a service error to it (ADR-32
  // headers) with the reference wire format's body.
  const Json out = run_client(
      3, 2, {"--call", "polaris:user-func:calculator", R"({"operation":"divide","a":1,"b":0})"});
  ASSERT_TRUE(out.is_object()) << out;
  EXPECT_EQ(out.at("call"), (Json{{"body", R"({"_error":"divide by zero"})"},
                                  {"service_error", true},
                                  {"code", 500},
                                  {"description", "divide by zero"}}));
  EXPECT_EQ(out.at("versions").at("@nats-io/services"), "3.0.0-25");
  EXPECT_EQ(out.at("versions").at("@nats-io/transport-node"), "3.4.0");

  // Every agent is found by ping, once, with our name, a 22-character id and our version.
  const Json& all = out.at("all");
  const auto pings = from_service(all.at("ping"), "polaris");
  ASSERT_EQ(pings.size(), 2U) << all.at("ping");
  std::map<std::string, std::string> ids;  // connection name -> id
  for (const auto& ping : pings) {
    EXPECT_EQ(ping.at("type"), "io.nats.micro.v1.ping_response");
    EXPECT_EQ(ping.at("version"), std::string(version()));
    EXPECT_EQ(ping.at("id").get<std::string>().size(), 22U);
    ids[ping.at("metadata").at("connection").get<std::string>()] = ping.at("id");
  }
  ASSERT_EQ(ids.size(), 2U);
  ASSERT_TRUE(ids.contains("srv-calculator") && ids.contains("srv-gate")) << all.at("ping");
  EXPECT_NE(ids["srv-calculator"], ids["srv-gate"]);
  // One id: the service id is the agent id (the one in the catalogue and Polaris-Agent), and
  // the metadata say which process serves it.
  EXPECT_EQ(ids["srv-calculator"], calculator_agent_.agent_id());
  EXPECT_EQ(ids["srv-gate"], gate_agent_.agent_id());
  for (const auto& ping : pings) {
    const Json& metadata = ping.at("metadata");
    EXPECT_EQ(metadata.at("agent"), ping.at("id")) << metadata;
    EXPECT_EQ(metadata.at("pid"), std::to_string(::getpid())) << metadata;
    EXPECT_EQ(metadata.at("program"), std::string(program_invocation_short_name)) << metadata;
    EXPECT_EQ(metadata.at("version"), std::string(version())) << metadata;
    std::array<char, 256> host{};
    ASSERT_EQ(::gethostname(host.data(), host.size() - 1), 0);
    EXPECT_EQ(metadata.at("host"), std::string(host.data())) << metadata;
  }

  // ADR-32: "version" is SemVer (the official implementation refuses anything else).
  static const std::regex semver(
      R"(^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$)");
  EXPECT_TRUE(std::regex_match(std::string(version()), semver)) << version();

  // Every answer has the fields ADR-32 requires, with their types, and at least every field
  // the official implementation sends, with the same types.
  for (const auto& verb : kVerbs) {
    const auto ours = from_service(all.at(verb), "polaris");
    const auto theirs = from_service(all.at(verb), "reference");
    ASSERT_EQ(ours.size(), 2U) << verb << ": " << all.at(verb);
    ASSERT_EQ(theirs.size(), 1U) << verb << ": " << all.at(verb);
    EXPECT_EQ(theirs[0].at("type"), "io.nats.micro.v1." + verb + "_response");
    for (const auto& answer : ours) {
      EXPECT_EQ(answer.at("type"), theirs[0].at("type"));
      expect_fields(answer, kStandard, verb);
      expect_fields(answer, kAnswerFields.at(verb), verb);
      expect_string_map(answer.at("metadata"), verb);
      expect_like(answer, theirs[0], verb);
      if (verb == "ping") continue;
      for (const auto& one : answer.at("endpoints")) {
        expect_fields(one, kEndpointFields.at(verb), verb + " endpoint");
        if (one.contains("metadata")) expect_string_map(one.at("metadata"), verb + " endpoint");
        for (const auto& reference : theirs[0].at("endpoints")) {
          expect_like(one, reference, verb + " endpoint");
        }
      }
    }
  }

  // INFO: the tools as endpoints, on the subjects and in the queue group docs/PROTOCOL.md gives.
  const auto infos = from_service(all.at("info"), "polaris");
  const Json& calculator_info = with_id(infos, ids["srv-calculator"]);
  EXPECT_EQ(calculator_info.at("description"), "polaris agent srv-calculator");
  ASSERT_EQ(calculator_info.at("endpoints").size(), 2U) << calculator_info;
  for (const auto& [tool, description] : std::vector<std::pair<std::string, std::string>>{
           {"calculator", "simple calculator"}, {"echo", "returns its text"}}) {
    const Json& one = endpoint(calculator_info, tool);
    EXPECT_EQ(one.at("subject"), "polaris:user-func:" + tool);
    EXPECT_EQ(one.at("queue_group"), wire::kToolQueueGroup);
    EXPECT_EQ(one.at("queue_group"), "polaris");
    EXPECT_EQ(one.at("metadata").at("description"), description);
  }
  const Json& gate_info = with_id(infos, ids["srv-gate"]);
  ASSERT_EQ(gate_info.at("endpoints").size(), 1U) << gate_info;
  EXPECT_EQ(endpoint(gate_info, "gate").at("subject"), "polaris:user-func:gate");

  // STATS: the calls made, as the client parsed them.
  static const std::regex utc(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$)");
  const auto stats = from_service(all.at("stats"), "polaris");
  const Json& calculator_stats = with_id(stats, ids["srv-calculator"]);
  const Json& gate_stats = with_id(stats, ids["srv-gate"]);
  for (const Json* answer : {&calculator_stats, &gate_stats}) {
    EXPECT_TRUE(std::regex_match(answer->at("started").get<std::string>(), utc)) << *answer;
  }
  struct Expected {
    const Json* answer;
    std::string tool;
    int requests;
    int errors;
    std::string last_error;
  };
  for (const auto& expected : std::vector<Expected>{
           // 4 calls of ours (1 failing) and the official client's failing one
           {&calculator_stats, "calculator", 5, 2, "divide by zero"},
           {&calculator_stats, "echo", 2, 0, ""},
           {&gate_stats, "gate", 3, 0, ""},  // the held call is counted, not yet completed
       }) {
    const Json& one = endpoint(*expected.answer, expected.tool);
    EXPECT_EQ(one.at("subject"), "polaris:user-func:" + expected.tool);
    EXPECT_EQ(one.at("queue_group"), "polaris");
    EXPECT_EQ(one.at("num_requests"), expected.requests) << one;
    EXPECT_EQ(one.at("num_errors"), expected.errors) << one;
    EXPECT_EQ(one.at("last_error"), expected.last_error) << one;
    const auto processing = one.at("processing_time").get<std::int64_t>();
    EXPECT_GT(processing, 0) << one;
    // ADR-32: processing_time / num_requests, truncated (not over completed calls only).
    EXPECT_EQ(one.at("average_processing_time").get<std::int64_t>(), processing / expected.requests)
        << one;
  }
  EXPECT_EQ(endpoint(gate_stats, "gate").at("data").at("in_flight"), 1);
  EXPECT_EQ(endpoint(gate_stats, "gate").at("data").at("completed"), 2);

  // $SRV.<verb>.polaris: the agents and nothing else; $SRV.<verb>.polaris.<id>: that agent.
  for (const auto& verb : kVerbs) {
    const Json& by_name = out.at("name").at(verb);
    ASSERT_EQ(by_name.size(), 2U) << verb << ": " << by_name;
    std::set<std::string> found;
    for (const auto& answer : by_name) {
      EXPECT_EQ(answer.at("name"), "polaris") << verb;
      found.insert(answer.at("id").get<std::string>());
    }
    EXPECT_EQ(found, (std::set<std::string>{ids["srv-calculator"], ids["srv-gate"]})) << verb;
  }
  ASSERT_EQ(out.at("ids").size(), 2U) << out.at("ids");
  for (const auto& [connection, id] : ids) {
    ASSERT_TRUE(out.at("ids").contains(id)) << connection;
    for (const auto& verb : kVerbs) {
      const Json& by_id = out.at("ids").at(id).at(verb);
      ASSERT_EQ(by_id.size(), 1U) << connection << " " << verb << ": " << by_id;
      EXPECT_EQ(by_id[0].at("id"), id);
      EXPECT_EQ(by_id[0].at("type"), "io.nats.micro.v1." + verb + "_response");
    }
    EXPECT_EQ(out.at("ids").at(id).at("info").at(0), with_id(infos, id));
  }

  release();
  EXPECT_EQ(held.get()["passed"], true);
}

// An agent id under roles is <user>.<random>: the service id is the same id with `_` for the
// `.`, so that $SRV.<verb>.polaris.<id> is a subject; metadata `agent` keeps the id itself.
TEST(ServiceClientIds, UserAgentIdSubstitutesTheDot) {
  // A registry with a user (roles off, so alice may do everything); the id takes its namespace
  // from the user. (An open registry refuses credentials it does not know.)
  SecurityConfig security;
  security.users.push_back({.name = "alice", .password_hash = hash_password("x")});
  security.reference_compat = true;
  Registry registry = Registry::start({.bind = {.port = 0}, .security = security});
  Connection agent = connect(
      {.servers = {registry.client_url()}, .name = "srv-alice", .user = "alice", .password = "x"});
  agent.register_tool(calculator());
  ASSERT_EQ(agent.agent_id().rfind("alice.", 0), 0U) << agent.agent_id();
  std::string expected = agent.agent_id();
  expected[5] = '_';
  const auto run = test::run_program(
      {detail::find_executable("node"), std::string(POLARIS_SRV_TEST_DIR) + "/srv_client.mjs",
       registry.client_url(), "polaris", "1", "1"},
      {"POLARIS_SRV_PEERS=" + std::string(POLARIS_SRV_PEERS), "POLARIS_SRV_USER=alice",
       "POLARIS_SRV_PASSWORD=x"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const Json out = Json::parse(run.out);
  const Json& ping = out.at("name").at("ping").at(0);
  EXPECT_EQ(ping.at("id"), expected);
  EXPECT_EQ(ping.at("metadata").at("agent"), agent.agent_id());
  // The official client reaches it by that id.
  ASSERT_TRUE(out.at("ids").contains(expected)) << out.at("ids");
  EXPECT_EQ(out.at("ids").at(expected).at("stats").at(0).at("id"), expected);
}

}  // namespace
}  // namespace polaris
