// `polaris console` against a real 3-node cluster and real agents: the page in headless Chromium
// (browser.mjs, puppeteer-core) and the API's security over plain HTTP.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/stat.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "fake_server.hpp"  // tests/llm: a model provider's side
#include "polaris/polaris.hpp"
#include "process/child_process.hpp"
#include "support/calculator.hpp"
#include "support/cluster.hpp"
#include "support/process_fixtures.hpp"
#include "support/run_program.hpp"
#include "support/wait.hpp"

namespace polaris {
namespace {

constexpr const char* kToken = "console-test-token";

std::string node_name(std::size_t i) { return "console-node-" + std::to_string(i + 1); }

// A gate the slow tool waits on after its progress, opened by the release tool (which the
// browser calls once it has seen the progress): the test never depends on how long things take.
struct Gate {
  std::mutex mutex;
  std::condition_variable cv;
  bool open = false;
};

// The agent: the calculator, a tool that reports progress and waits for its release, and one
// whose schema has nested objects, arrays and booleans (it echoes its arguments).
std::vector<Tool> agent_tools(const std::shared_ptr<Gate>& gate) {
  std::vector<Tool> tools{test::calculator()};
  tools.push_back(Tool{
      .name = "slow_steps",
      .description = "reports three steps of progress, then waits for release_slow_steps",
      .parameters = Object{.description = "none"},
      .handler = [gate](const Request& request) -> Result {
        for (int step = 1; step <= 3; ++step) {
          request.progress(step, 3, "step " + std::to_string(step));
          request.log("info", Json{{"step", step}}, "slow_steps");
        }
        std::unique_lock lock(gate->mutex);
        if (!gate->cv.wait_for(lock, std::chrono::seconds(60), [&] { return gate->open; })) {
          return error("never released");
        }
        return Json{{"steps", 3}};
      },
  });
  tools.push_back(Tool{
      .name = "release_slow_steps",
      .description = "lets slow_steps finish",
      .handler = [gate](const Request&) -> Result {
        {
          std::lock_guard lock(gate->mutex);
          gate->open = true;
        }
        gate->cv.notify_all();
        return Json{{"released", true}};
      },
  });
  tools
      .push_back(
          Tool{
              .name = "echo",
              .description = "answers its arguments",
              .parameters =
                  Object{
                      .description = "what to echo",
                      .properties =
                          {
                              {"title", String{.description = "a title", .required = true}},
                              {"loud", Bool{.description = "shout"}},
                              {"point", Object{.description = "a point",
                                               .properties = {{"x", Float{.description = "x"}},
                                                              {"y", Float{.description = "y"}}}}},
                              {"tags", StringArray{.description = "tags"}},
                          }},
              .handler = [](const Request& request) -> Result {
                return Json{{"echo", request.json()}};
              },
          });
  return tools;
}

class ConsoleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = std::make_unique<test::TestCluster>(
        test::TestCluster::Options{.name = "console-test", .node_args = [](std::size_t i) {
                                     return std::vector<std::string>{"--server-name", node_name(i)};
                                   }});
    // The agent and the console both dial node 0 first: killing the last node leaves them be.
    agent_ = std::make_unique<Connection>(ConnectOptions{.servers = cluster_->urls_from(0)});
    agent_->register_tools(agent_tools(gate_));
    std::vector<std::string> argv{test::polaris_program(), "console",   "--http",
                                  "127.0.0.1:0",           "--refresh", "300ms"};
    for (const auto& url : cluster_->urls_from(0)) argv.insert(argv.end(), {"--server", url});
    console_ = std::make_unique<detail::ChildProcess>(
        detail::ChildProcessOptions{.argv = argv,
                                    .extra_env = {std::string("POLARIS_CONSOLE_TOKEN=") + kToken},
                                    .on_line = [this](const std::string& line) {
                                      if (line.rfind("http://", 0) != 0) return;
                                      std::lock_guard lock(mutex_);
                                      url_ = line;
                                      cv_.notify_all();
                                    }});
    std::unique_lock lock(mutex_);
    ASSERT_TRUE(cv_.wait_for(lock, std::chrono::seconds(20), [&] { return !url_.empty(); }))
        << console_->describe_exit();
    port_ = std::stoi(url_.substr(url_.rfind(':') + 1));
  }

  void TearDown() override {
    if (console_) console_->stop();
    if (agent_) agent_->close();
  }

  std::string url() {
    std::lock_guard lock(mutex_);
    return url_;
  }

  std::string node_names() const {
    std::string names;
    for (std::size_t i = 0; i < cluster_->size(); ++i) {
      names += (names.empty() ? "" : ",") + node_name(i);
    }
    return names;
  }

  // Runs browser.mjs SCENARIO in a process group of its own (node and the Chromium it starts),
  // which is killed afterwards, whatever happened: no browser outlives the test. `on_line`
  // sees what the script prints.
  void run_browser(const std::string& scenario,
                   const std::function<void(const std::string&)>& on_line = {}) {
    const std::string artifacts = std::string(POLARIS_CONSOLE_ARTIFACTS);
    std::vector<std::string> lines;
    std::mutex lines_mutex;
    const detail::TempDir profiles("polaris-console-test-");
    detail::ChildProcess driver(detail::ChildProcessOptions{
        .argv = {"setsid", "node", std::string(POLARIS_CONSOLE_TEST_DIR) + "/browser.mjs",
                 scenario},
        .extra_env = {"CONSOLE_URL=" + url(), std::string("CONSOLE_TOKEN=") + kToken,
                      "CHROMIUM=chromium", "ARTIFACTS=" + artifacts, "NODE_NAMES=" + node_names(),
                      "PROFILE_ROOT=" + profiles.path(),
                      std::string("PEERS_DIR=") + POLARIS_CONSOLE_PEERS},
        .on_line =
            [&](const std::string& line) {
              {
                std::lock_guard lock(lines_mutex);
                lines.push_back(line);
              }
              if (on_line) on_line(line);
            },
        .kept_lines = 200});
    const int group = driver.pid();  // setsid made node the leader of a new process group
    const bool ended = driver.wait_for_exit(std::chrono::seconds(150));
    ::kill(-group, SIGKILL);
    if (!ended) driver.stop(std::chrono::milliseconds(0));
    // Nothing of the group is left (a process being reaped by its parent may linger briefly).
    EXPECT_TRUE(test::wait_until([&] { return ::kill(-group, 0) != 0; }, std::chrono::seconds(10)))
        << "a process of the browser's group outlived it";
    std::string output;
    {
      std::lock_guard lock(lines_mutex);
      for (const auto& line : lines) output += line + "\n";
    }
    ASSERT_TRUE(ended) << "browser.mjs " << scenario << " did not end:\n" << output;
    EXPECT_EQ(driver.exit_status(), 0) << output;
  }

  httplib::Result get(const std::string& path, const httplib::Headers& headers) {
    httplib::Client client("127.0.0.1", port_);
    return client.Get(path, headers);
  }

  std::unique_ptr<test::TestCluster> cluster_;
  std::shared_ptr<Gate> gate_ = std::make_shared<Gate>();
  std::unique_ptr<Connection> agent_;
  std::unique_ptr<detail::ChildProcess> console_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::string url_;
  int port_ = 0;
};

class ConsoleBrowserTest : public ConsoleTest {};
class ConsoleHttpTest : public ConsoleTest {};

TEST_F(ConsoleBrowserTest, PageLoadsWithNodesAndCalculatorAndNoConsoleErrors) {
  run_browser("load");
}

TEST_F(ConsoleBrowserTest, CalculatorFormHasTheOperationsAndAddsOneAndTwo) {
  run_browser("calculator");
}

TEST_F(ConsoleBrowserTest, ToolErrorAndValidationErrorShowTheirMessages) { run_browser("errors"); }

TEST_F(ConsoleBrowserTest, LongToolShowsProgressBeforeItsResult) { run_browser("progress"); }

TEST_F(ConsoleBrowserTest, NestedObjectsArraysBooleansAndRawJson) { run_browser("nested"); }

TEST_F(ConsoleBrowserTest, PhoneWidth) { run_browser("phone"); }

TEST_F(ConsoleBrowserTest, KeyboardOnly) { run_browser("keyboard"); }

// An LLM agent (`polaris agent serve`, its model a scripted Anthropic server) that calls the
// calculator: the page shows the agent's nested call from its progress events, then its answer.
TEST_F(ConsoleBrowserTest, LlmAgentShowsItsNestedCalls) {
  test::FakeServer model;
  model.on("POST", "/v1/messages", [](const test::Received& request) {
    const Json body = request.json();
    std::size_t turn = 0;
    for (const auto& message : body["messages"]) turn += message["role"] == "assistant" ? 1 : 0;
    Json content;
    std::string stop = "end_turn";
    if (turn == 0) {
      content = Json::array({{{"type", "tool_use"},
                              {"id", "use-1"},
                              {"name", "calculator"},
                              {"input", {{"operation", "add"}, {"a", 1}, {"b", 2}}}}});
      stop = "tool_use";
    } else {
      const std::string result =
          body["messages"].back()["content"][0]["content"].get<std::string>();
      content = Json::array({{{"type", "text"}, {"text", "the calculator says " + result}}});
    }
    return test::Reply{.body = Json{{"id", "msg"},
                                    {"type", "message"},
                                    {"role", "assistant"},
                                    {"content", content},
                                    {"stop_reason", stop},
                                    {"usage", {{"input_tokens", 10}, {"output_tokens", 3}}}}
                                   .dump()};
  });
  std::mutex mutex;
  std::condition_variable ready_cv;
  bool ready = false;
  detail::ChildProcess agent(detail::ChildProcessOptions{
      .argv = {test::polaris_program(), "agent", "serve", "--server",
               cluster_->node(0).client_url(), "--name", "planner", "--description",
               "plans with the calculator", "--system", "You are planner.", "--tool", "calculator",
               "--provider", "anthropic", "--model", "claude-test", "--no-stream"},
      .extra_env = {"ANTHROPIC_API_KEY=sk-ant-test", "ANTHROPIC_BASE_URL=" + model.url()},
      .on_line = [&](const std::string& line) {
        if (line.rfind("serving LLM agent ", 0) != 0) return;
        std::lock_guard lock(mutex);
        ready = true;
        ready_cv.notify_all();
      }});
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(ready_cv.wait_for(lock, std::chrono::seconds(20), [&] { return ready; }))
        << agent.describe_exit();
  }
  run_browser("agent");
  agent.stop();
}

TEST_F(ConsoleBrowserTest, KilledNodeTurnsDown) {
  std::atomic<bool> kill_now{false};
  std::thread killer;
  run_browser("nodedown", [&](const std::string& line) {
    if (line.rfind("kill ", 0) == 0 && !kill_now.exchange(true)) {
      killer = std::thread([this] { cluster_->node(cluster_->size() - 1).kill_hard(); });
    }
  });
  if (killer.joinable()) killer.join();
  EXPECT_TRUE(kill_now.load());
}

// ---- Plain HTTP: the API's guards ----

// A console started with a caller's credentials, on a registry with roles: only the caller's
// tools, and a notice (naming the user) where status and statistics are admin-only.
class ConsoleCallerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string hash = hash_password("pw");
    const std::string config = dir_.path() + "/registry.yaml";
    std::ofstream(config) << "auth:\n  users:\n"
                          << "    - {name: worker, password_hash: '" << hash
                          << "', role: agent, tools: [calculator, echo]}\n"
                          << "    - {name: alice, password_hash: '" << hash
                          << "', role: caller, tools: [calculator]}\n";
    registry_ =
        std::make_unique<test::RegistryProcess>(std::vector<std::string>{"--config", config});
    agent_ = std::make_unique<Connection>(
        ConnectOptions{.servers = {registry_->client_url()}, .user = "worker", .password = "pw"});
    auto tools = agent_tools(std::make_shared<Gate>());
    std::erase_if(
        tools, [](const Tool& tool) { return tool.name != "calculator" && tool.name != "echo"; });
    agent_->register_tools(std::move(tools));
    console_ = std::make_unique<detail::ChildProcess>(detail::ChildProcessOptions{
        .argv = {test::polaris_program(), "console", "--http", "127.0.0.1:0", "--server",
                 registry_->client_url(), "--refresh", "300ms"},
        .extra_env = {"POLARIS_USER=alice", "POLARIS_PASSWORD=pw"},
        .on_line = [this](const std::string& line) {
          if (line.rfind("http://", 0) != 0) return;
          std::lock_guard lock(mutex_);
          port_ = std::stoi(line.substr(line.rfind(':') + 1));
          cv_.notify_all();
        }});
    std::unique_lock lock(mutex_);
    ASSERT_TRUE(cv_.wait_for(lock, std::chrono::seconds(20), [&] { return port_ != 0; }))
        << console_->describe_exit();
  }
  void TearDown() override {
    if (console_) console_->stop();
    if (agent_) agent_->close();
  }

  // The API's answer once the refresher has been through a round.
  Json loaded(const std::string& path) {
    Json body;
    EXPECT_TRUE(test::wait_until(
        [&] {
          httplib::Client client("127.0.0.1", port_);
          auto response = client.Get(path);
          if (!response || response->status != 200) return false;
          body = Json::parse(response->body);
          return body.value("loaded", false);
        },
        std::chrono::seconds(30)))
        << path;
    return body;
  }

  detail::TempDir dir_{"console-caller-"};
  std::unique_ptr<test::RegistryProcess> registry_;
  std::unique_ptr<Connection> agent_;
  std::unique_ptr<detail::ChildProcess> console_;
  std::mutex mutex_;
  std::condition_variable cv_;
  int port_ = 0;
};

TEST_F(ConsoleCallerTest, ShowsOnlyTheCallersToolsAndSaysStatusAndStatsAreAdminOnly) {
  const Json tools = loaded("/api/tools");
  ASSERT_EQ(tools.at("tools").size(), 1U) << tools.dump();
  EXPECT_EQ(tools.at("tools").at(0).at("name"), "calculator");
  const Json status = loaded("/api/status");
  EXPECT_TRUE(status.at("nodes").empty()) << status.dump();
  const std::string notice = status.at("notice");
  EXPECT_NE(notice.find("admin-only"), std::string::npos) << notice;
  EXPECT_NE(notice.find("'alice'"), std::string::npos) << notice;
  const Json stats = loaded("/api/stats");
  EXPECT_NE(stats.at("notice").get<std::string>().find("admin-only"), std::string::npos)
      << stats.dump();
  // What the caller may call, it calls.
  httplib::Client client("127.0.0.1", port_);
  auto result = client.Post(
      "/api/call", R"({"tool": "calculator", "arguments": {"operation": "add", "a": 1, "b": 2}})",
      "application/json");
  ASSERT_TRUE(result);
  EXPECT_NE(result->body.find("\"result\":{\"result\":3.0}"), std::string::npos) << result->body;
}

TEST_F(ConsoleHttpTest, WrongTokenGets401AndRightTokenGetsTheStatus) {
  auto missing = get("/api/status", {});
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 401);
  auto wrong = get("/api/status", {{"Authorization", "Bearer wrong-token"}});
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  EXPECT_EQ(wrong->get_header_value("WWW-Authenticate"), "Bearer");
  auto right = get("/api/info", {{"Authorization", std::string("Bearer ") + kToken}});
  ASSERT_TRUE(right);
  EXPECT_EQ(right->status, 200);
  EXPECT_EQ(Json::parse(right->body).at("auth"), true);
  // The page itself holds no data: it loads without the token (and then asks for it).
  auto page = get("/", {});
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->body.find("polaris console"), std::string::npos);
}

TEST_F(ConsoleHttpTest, ForeignOriginAndHostGet403) {
  const httplib::Headers auth{{"Authorization", std::string("Bearer ") + kToken}};
  auto foreign = get("/api/status", {{"Authorization", std::string("Bearer ") + kToken},
                                     {"Origin", "http://evil.example"}});
  ASSERT_TRUE(foreign);
  EXPECT_EQ(foreign->status, 403);
  EXPECT_NE(foreign->body.find("Origin"), std::string::npos);
  // A page of another port of localhost is another origin too.
  auto other_port = get("/api/status", {{"Authorization", std::string("Bearer ") + kToken},
                                        {"Origin", "http://127.0.0.1:1"}});
  ASSERT_TRUE(other_port);
  EXPECT_EQ(other_port->status, 403);
  // DNS rebinding: a name that resolves to us, but is not a loopback name.
  httplib::Client client("127.0.0.1", port_);
  auto rebound = client.Get("/", {{"Host", "evil.example:" + std::to_string(port_)}});
  ASSERT_TRUE(rebound);
  EXPECT_EQ(rebound->status, 403);
  auto same = get("/api/info", {{"Authorization", std::string("Bearer ") + kToken},
                                {"Origin", "http://127.0.0.1:" + std::to_string(port_)}});
  ASSERT_TRUE(same);
  EXPECT_EQ(same->status, 200);
}

TEST_F(ConsoleHttpTest, CallOverHttpStreamsTheResultAndRefusesBadBodies) {
  httplib::Client client("127.0.0.1", port_);
  const httplib::Headers auth{{"Authorization", std::string("Bearer ") + kToken}};
  auto result =
      client.Post("/api/call", auth,
                  R"({"tool": "calculator", "arguments": {"operation": "add", "a": 1, "b": 2}})",
                  "application/json");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->get_header_value("Content-Type"), "text/event-stream");
  EXPECT_NE(result->body.find("event: result\ndata: {\"ms\":"), std::string::npos) << result->body;
  EXPECT_NE(result->body.find("\"result\":{\"result\":3.0}"), std::string::npos) << result->body;
  auto text_plain = client.Post("/api/call", auth, R"({"tool": "calculator"})", "text/plain");
  ASSERT_TRUE(text_plain);
  EXPECT_EQ(text_plain->status, 415);
  auto no_tool = client.Post("/api/call", auth, R"({"arguments": {}})", "application/json");
  ASSERT_TRUE(no_tool);
  EXPECT_EQ(no_tool->status, 400);
  auto unknown = client.Post("/api/call", auth, R"({"tool": "no_such"})", "application/json");
  ASSERT_TRUE(unknown);
  EXPECT_NE(unknown->body.find("event: error"), std::string::npos);
  EXPECT_NE(unknown->body.find("no_such_tool"), std::string::npos) << unknown->body;
  auto bad_name = client.Post("/api/call", auth, R"({"tool": "two words"})", "application/json");
  ASSERT_TRUE(bad_name);
  EXPECT_EQ(bad_name->status, 200);
  EXPECT_NE(bad_name->body.find("\"code\":\"invalid_argument\""), std::string::npos)
      << bad_name->body;
}

TEST_F(ConsoleHttpTest, ReadOnlyRefusesCalls) {
  std::mutex mutex;
  std::condition_variable cv;
  int port = 0;
  detail::ChildProcess read_only(detail::ChildProcessOptions{
      .argv = {test::polaris_program(), "console", "--http", "127.0.0.1:0", "--read-only",
               "--server", cluster_->node(0).client_url()},
      .on_line = [&](const std::string& line) {
        if (line.rfind("http://", 0) != 0) return;
        std::lock_guard lock(mutex);
        port = std::stoi(line.substr(line.rfind(':') + 1));
        cv.notify_all();
      }});
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(20), [&] { return port != 0; }))
        << read_only.describe_exit();
  }
  httplib::Client client("127.0.0.1", port);
  auto info = client.Get("/api/info");
  ASSERT_TRUE(info);
  EXPECT_EQ(Json::parse(info->body).at("read_only"), true);
  EXPECT_EQ(Json::parse(info->body).at("auth"), false);  // no token given: none asked
  auto refused = client.Post("/api/call", R"({"tool": "release_slow_steps"})", "application/json");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 403);
  EXPECT_NE(refused->body.find("read-only"), std::string::npos) << refused->body;
  std::lock_guard lock(gate_->mutex);
  EXPECT_FALSE(gate_->open);  // the tool never ran
}

TEST_F(ConsoleHttpTest, BadFlagsAreUsageErrors) {
  for (const auto& http : {"nonsense", "127.0.0.1:99999", "127.0.0.1:80x", ":8080"}) {
    const auto result =
        test::run_polaris({"console", "--http", http, "--server", cluster_->node(0).client_url()});
    EXPECT_EQ(result.exit_code, 2) << http << ": " << result.err;
    EXPECT_NE(result.err.find("--http"), std::string::npos) << result.err;
  }
  const auto unreachable =
      test::run_polaris({"console", "--http", "127.0.0.1:0", "--server", "nats://127.0.0.1:1"});
  EXPECT_EQ(unreachable.exit_code, 3) << unreachable.err;
}

}  // namespace
}  // namespace polaris
