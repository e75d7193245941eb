// Read-your-writes across registry nodes (docs/ARCHITECTURE.md, "One catalogue"): registry
// requests are shared among the nodes of a queue group, so a client's next request may reach a
// node other than the one that acknowledged its last change. Every request must still see every
// change acknowledged to that client before, idle and beside a CPU load.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "polaris/polaris.hpp"
#include "process/child_process.hpp"
#include "support/cluster.hpp"
#include "support/cpu_load.hpp"
#include "support/errors.hpp"
#include "support/process_fixtures.hpp"

namespace polaris {
namespace {

using test::RawNats;

using test::CpuLoad;

/// What went wrong in the rounds of one test, by kind.
struct Anomalies {
  int missed_in_list = 0;           ///< a list missed the tool the client had just kept alive
  int unregister_not_found = 0;     ///< an unregister of that tool was answered "not found"
  int register_refused = 0;         ///< the re-registration after the unregister was refused
  int duplicate_accepted = 0;       ///< the second, duplicate registration was accepted
  int listed_after_unregister = 0;  ///< a list still showed the tool the client unregistered
  int listed_after_leave = 0;       ///< a node still listed a tool of an agent that had left
  std::vector<std::string> examples;

  [[nodiscard]] int total() const {
    return missed_in_list + unregister_not_found + register_refused + duplicate_accepted +
           listed_after_unregister + listed_after_leave;
  }
  [[nodiscard]] std::string line() const {
    std::ostringstream out;
    out << "missed in list " << missed_in_list << ", unregister not found " << unregister_not_found
        << ", re-registration refused " << register_refused << ", duplicate accepted "
        << duplicate_accepted << ", listed after unregister " << listed_after_unregister
        << ", listed after leave " << listed_after_leave;
    for (const auto& example : examples) out << "\n  " << example;
    return out.str();
  }
  void note(int& counter, std::string example) {
    ++counter;
    if (examples.size() < 5) examples.push_back(std::move(example));
  }
};

/// The rounds, spoken as a reference client would (no headers, reference subjects):
/// keepalive a new tool, list, unregister it, register it twice.
Anomalies reference_rounds(RawNats& client, const std::string& prefix, int rounds) {
  Anomalies found;
  for (int round = 0; round < rounds; ++round) {
    const std::string name = prefix + std::to_string(round);
    const Json declaration{{"name", name}, {"description", "read your writes"}};
    const Json kept = Json::parse(
        client.request("polaris:tool:keepalive", Json::array({declaration}).dump(), 5000));
    EXPECT_TRUE(kept["success"].get<bool>()) << kept;
    const Json listed = Json::parse(client.request("polaris:tool:list", "", 5000));
    const bool seen = std::any_of(listed.begin(), listed.end(),
                                  [&](const Json& tool) { return tool["name"] == name; });
    if (!seen) found.note(found.missed_in_list, name + ": not listed after its keepalive");
    const Json gone =
        Json::parse(client.request("polaris:tool:unregister", declaration.dump(), 5000));
    if (!gone["success"].get<bool>()) {
      found.note(found.unregister_not_found, name + ": unregister said " + gone.dump());
    }
    const Json first =
        Json::parse(client.request("polaris:tool:register", declaration.dump(), 5000));
    if (!first["success"].get<bool>()) {
      found.note(found.register_refused, name + ": register said " + first.dump());
    }
    const Json second =
        Json::parse(client.request("polaris:tool:register", declaration.dump(), 5000));
    if (second["success"].get<bool>()) {
      found.note(found.duplicate_accepted, name + ": the duplicate registration was accepted");
    }
  }
  return found;
}

/// The same promise for polaris agents: a tool registered by a Connection is listed by it and
/// refused to another agent at once; once unregistered, it is gone from the next list.
Anomalies agent_rounds(Connection& agent, Connection& rival, const std::string& prefix,
                       int rounds) {
  Anomalies found;
  auto listed = [](Connection& connection, const std::string& name) {
    const auto tools = connection.list_tools();
    return std::any_of(tools.begin(), tools.end(),
                       [&](const ToolDeclaration& tool) { return tool.name == name; });
  };
  for (int round = 0; round < rounds; ++round) {
    const std::string name = prefix + std::to_string(round);
    agent.register_tool(
        Tool{.name = name, .handler = [](const Request&) -> Result { return Json::object(); }});
    if (!listed(agent, name)) found.note(found.missed_in_list, name + ": not listed");
    try {
      rival.register_tool(
          Tool{.name = name, .handler = [](const Request&) -> Result { return Json::object(); }});
      found.note(found.duplicate_accepted, name + ": a second agent registered it too");
      rival.unregister_tool(name);
    } catch (const Error& error) {
      EXPECT_EQ(error.code(), Errc::registration_failed) << error.what();
    }
    agent.unregister_tool(name);
    if (listed(agent, name))
      found.note(found.listed_after_unregister, name + ": listed after unregister");
  }
  return found;
}

/// Leaving (polaris.registry.agent.leave, sent by a closing Connection and awaited) is a change
/// acknowledged to the agent too: once closed, its tool is gone from every node's own list.
Anomalies leave_rounds(const test::TestCluster& cluster, const std::string& prefix, int rounds) {
  Anomalies found;
  for (int round = 0; round < rounds; ++round) {
    const std::string name = prefix + std::to_string(round);
    {
      Connection agent(ConnectOptions{.servers = {cluster.node(1).client_url()}});
      agent.register_tool(
          Tool{.name = name, .handler = [](const Request&) -> Result { return Json::object(); }});
    }  // closing leaves
    for (std::size_t node = 0; node < cluster.size(); ++node) {
      if (test::names_on(cluster.node(node)).count(name) != 0) {
        found.note(found.listed_after_leave,
                   name + ": listed by node " + std::to_string(node + 1) + " after the leave");
      }
    }
  }
  return found;
}

class HaConsistency : public ::testing::Test {
 protected:
  test::TestCluster cluster_;
};

TEST_F(HaConsistency, AReferenceClientReadsItsOwnWritesWhicheverNodeAnswers) {
  RawNats client(cluster_.node(2).client_url());
  const Anomalies found = reference_rounds(client, "ryw", 200);
  std::cout << "[read-your-writes] reference client, idle: " << found.line() << std::endl;
  EXPECT_EQ(found.total(), 0) << found.line() << "\n" << ::testing::PrintToString(found.examples);
}

TEST_F(HaConsistency, AReferenceClientReadsItsOwnWritesBesideACpuLoad) {
  RawNats client(cluster_.node(2).client_url());
  const CpuLoad load;
  const Anomalies found = reference_rounds(client, "loaded", 200);
  std::cout << "[read-your-writes] reference client, CPU load: " << found.line() << std::endl;
  EXPECT_EQ(found.total(), 0) << found.line() << "\n" << ::testing::PrintToString(found.examples);
}

TEST_F(HaConsistency, PolarisAgentsReadTheirOwnWritesIdleAndBesideACpuLoad) {
  Connection agent(ConnectOptions{.servers = {cluster_.node(2).client_url()}});
  Connection rival(ConnectOptions{.servers = {cluster_.node(1).client_url()}});
  const Anomalies idle = agent_rounds(agent, rival, "idle", 100);
  std::cout << "[read-your-writes] polaris agents, idle: " << idle.line() << std::endl;
  EXPECT_EQ(idle.total(), 0) << idle.line() << "\n" << ::testing::PrintToString(idle.examples);
  const CpuLoad load;
  const Anomalies loaded = agent_rounds(agent, rival, "busy", 100);
  std::cout << "[read-your-writes] polaris agents, CPU load: " << loaded.line() << std::endl;
  EXPECT_EQ(loaded.total(), 0) << loaded.line() << "\n"
                               << ::testing::PrintToString(loaded.examples);
}

// Issue 11, gap (f): a leave is answered once every live node withdrew the agent's tools.
TEST_F(HaConsistency, ALeavingAgentsToolsAreGoneFromEveryNodeIdleAndBesideACpuLoad) {
  const Anomalies idle = leave_rounds(cluster_, "left", 50);
  std::cout << "[read-your-writes] leaving agents, idle: " << idle.line() << std::endl;
  EXPECT_EQ(idle.total(), 0) << idle.line();
  const CpuLoad load;
  const Anomalies loaded = leave_rounds(cluster_, "gone", 50);
  std::cout << "[read-your-writes] leaving agents, CPU load: " << loaded.line() << std::endl;
  EXPECT_EQ(loaded.total(), 0) << loaded.line();
}

}  // namespace
}  // namespace polaris
