// LLM agents served as tools on a real registry: agents answer with tools of other connections,
// call each other (a planner over two workers), refuse cycles and chains that are too deep, and
// end with their caller's deadline. The models are a local server answering scripted Anthropic
// exchanges, chosen by the agent's system prompt and the conversation's length.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <fstream>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>

#include "fixtures.hpp"
#include "polaris/connection.hpp"
#include "polaris/llm_agent.hpp"
#include "polaris/registry.hpp"
#include "polaris/security.hpp"
#include "polaris/typed.hpp"
#include "process/child_process.hpp"
#include "square_root.hpp"
#include "support/run_program.hpp"

namespace polaris::test {
namespace {

struct Recipe {
  std::string name;
  int servings = 0;
  std::vector<std::string> steps;
  std::optional<std::string> note;
};
POLARIS_DESCRIBE_STRUCT(Recipe, "a recipe", (name, "the dish"), (servings, "for how many"),
                        (steps, "what to do, in order"), (note, "anything else"));

Json text_reply(const std::string& text) {
  return {{"id", "msg"},
          {"type", "message"},
          {"role", "assistant"},
          {"content", {{{"type", "text"}, {"text", text}}}},
          {"stop_reason", "end_turn"},
          {"usage", {{"input_tokens", 10}, {"output_tokens", 3}}}};
}

struct Use {
  std::string id;
  std::string name;
  Json input;
};

Json tool_reply(const std::vector<Use>& uses) {
  Json content = Json::array();
  for (const auto& use : uses) {
    content.push_back(
        {{"type", "tool_use"}, {"id", use.id}, {"name", use.name}, {"input", use.input}});
  }
  return {{"id", "msg"},
          {"type", "message"},
          {"role", "assistant"},
          {"content", content},
          {"stop_reason", "tool_use"},
          {"usage", {{"input_tokens", 20}, {"output_tokens", 5}}}};
}

// One script per agent (by system prompt): reply N answers the request holding N earlier
// assistant turns. Stateless, so agents running in parallel get their own replies.
class ScriptedModel {
 public:
  using Turn = std::function<Json(const Json& request)>;

  ScriptedModel() {
    server_.on("POST", "/v1/messages", [this](const Received& r) { return answer(r); });
  }

  void script(const std::string& system, std::vector<Turn> turns) {
    std::lock_guard lock(mutex_);
    scripts_[system] = std::move(turns);
  }

  [[nodiscard]] std::string url() const { return server_.url(); }
  [[nodiscard]] std::vector<Received> received() const { return server_.received(); }

 private:
  Reply answer(const Received& r) {
    const Json body = r.json();
    const std::string system =
        body.contains("system") ? body["system"][0]["text"].get<std::string>() : std::string();
    std::size_t turn = 0;
    for (const auto& m : body["messages"]) turn += m["role"] == "assistant" ? 1 : 0;
    Turn reply;
    {
      std::lock_guard lock(mutex_);
      const auto it = scripts_.find(system);
      if (it != scripts_.end() && turn < it->second.size()) reply = it->second[turn];
    }
    if (!reply) {
      return Reply{.status = 400,
                   .body = R"({"type":"error","error":{"type":"invalid_request_error",)"
                           R"("message":"no scripted reply"}})"};
    }
    // Outside the lock: a script may wait for another agent's request.
    return Reply{.body = reply(body).dump()};
  }

  FakeServer server_;
  mutable std::mutex mutex_;
  std::map<std::string, std::vector<Turn>> scripts_;
};

ScriptedModel::Turn fixed(Json reply) {
  return [reply = std::move(reply)](const Json&) { return reply; };
}

// The text of the last message's first tool_result (what a tool answered the model).
std::string last_tool_result(const Json& request) {
  return request["messages"].back()["content"][0]["content"].get<std::string>();
}

std::vector<std::string> with(std::vector<std::string> more, const std::vector<std::string>& env) {
  more.insert(more.end(), env.begin(), env.end());
  return more;
}

// `polaris agent serve` in a child process, returned once it serves.
class AgentProcess {
 public:
  AgentProcess(const std::vector<std::string>& args, const std::string& model_url,
               const std::vector<std::string>& env = {}) {
    std::vector<std::string> argv = {POLARIS_CLI_PATH, "agent", "serve"};
    argv.insert(argv.end(), args.begin(), args.end());
    process_ = std::make_unique<detail::ChildProcess>(detail::ChildProcessOptions{
        .argv = argv,
        .extra_env =
            with(env, {"ANTHROPIC_API_KEY=sk-ant-test", "ANTHROPIC_BASE_URL=" + model_url}),
        .on_line =
            [this](const std::string& line) {
              if (line.rfind("serving LLM agent ", 0) != 0) return;
              std::lock_guard lock(mutex_);
              ready_ = true;
              ready_cv_.notify_all();
            },
    });
    std::unique_lock lock(mutex_);
    if (!ready_cv_.wait_for(lock, std::chrono::seconds(20), [this] { return ready_; })) {
      throw std::runtime_error("agent serve did not start: " + process_->describe_exit());
    }
  }
  ~AgentProcess() { process_->stop(); }
  AgentProcess(const AgentProcess&) = delete;
  AgentProcess& operator=(const AgentProcess&) = delete;
  detail::ChildProcess& process() { return *process_; }

 private:
  std::mutex mutex_;
  std::condition_variable ready_cv_;
  bool ready_ = false;
  std::unique_ptr<detail::ChildProcess> process_;  // last: stopped before the members above go
};

class LlmAgents : public testing::Test {
 protected:
  LlmAgents()
      : registry_(Registry::start({.bind = {.port = 0}})),
        tools_(connect({.servers = {registry_.client_url()}})),
        agents_(connect({.servers = {registry_.client_url()}})),
        client_(connect(
            {.servers = {registry_.client_url()}, .request_timeout = std::chrono::seconds(20)})) {
    tools_.register_tool(square_root_tool());
  }

  LlmAgentOptions agent(const std::string& name, std::vector<std::string> tools) {
    LlmAgentOptions o;
    o.name = name;
    o.description = "agent " + name;
    o.system = "You are " + name + ".";
    o.provider = Provider::anthropic;
    o.model = "claude-test";
    o.tools = std::move(tools);
    o.session.base_url = model_.url();
    o.session.api_key = "sk-ant-test";
    o.session.stream = false;
    o.session.retry.max_attempts = 1;
    return o;
  }

  ScriptedModel model_;
  Registry registry_;
  Connection tools_;
  Connection agents_;
  Connection client_;
};

struct Progress {
  std::mutex mutex;
  std::vector<Json> messages;
  std::function<void(const Json&)> callback() {
    return [this](const Json& m) {
      std::lock_guard lock(mutex);
      messages.push_back(m);
    };
  }
  // The LLM agent events (log data), in arrival order.
  std::vector<Json> events() {
    std::lock_guard lock(mutex);
    std::vector<Json> out;
    for (const auto& m : messages) {
      if (m.contains("log") && m["log"].value("logger", "") == "polaris.llm_agent") {
        out.push_back(m["log"]["data"]);
      }
    }
    return out;
  }
};

TEST_F(LlmAgents, AnswersWithAToolOfAnotherConnectionAndReportsItsWork) {
  model_.script(
      "You are researcher.",
      {fixed(tool_reply({{"t1", "square_root", {{"number", 132413}}}})), [](const Json& request) {
         // The tool's real answer reached the model.
         return text_reply("root is " +
                           Json::parse(last_tool_result(request))["response"].get<std::string>());
       }});
  serve_llm_agent(agents_, agent("researcher", {"square_*", "re*"}));  // re*: itself
  Progress progress;
  const Json reply = client_.call("researcher", {{"task", "Square root of 132413?"}},
                                  CallOptions{.on_progress = progress.callback()});

  EXPECT_EQ(reply["answer"], "root is 363.89");
  ASSERT_EQ(reply["tool_calls"].size(), 1u);
  const Json& call = reply["tool_calls"][0];
  EXPECT_EQ(call["name"], "square_root");
  EXPECT_EQ(call["arguments"], (Json{{"number", 132413}}));
  EXPECT_EQ(call["result"], (Json{{"response", "363.89"}}));
  EXPECT_TRUE(call["ms"].is_number_integer());
  EXPECT_EQ(reply["usage"], (Json{{"input_tokens", 30}, {"output_tokens", 8}}));

  // The model was offered the matching tool only: never the agent itself.
  const Json first = model_.received().at(0).json();
  ASSERT_EQ(first["tools"].size(), 1u);
  EXPECT_EQ(first["tools"][0]["name"], "square_root");
  EXPECT_EQ(first["system"][0]["text"], "You are researcher.");
  EXPECT_EQ(first["messages"][0]["content"][0]["text"], "Square root of 132413?");

  const auto events = progress.events();
  ASSERT_EQ(events.size(), 3u) << testing::PrintToString(progress.messages);
  EXPECT_EQ(events[0], (Json{{"agent", "researcher"},
                             {"depth", 1},
                             {"event", "call"},
                             {"name", "square_root"},
                             {"arguments", {{"number", 132413}}}}));
  EXPECT_EQ(events[1]["event"], "result");
  EXPECT_EQ(events[1]["ok"], true);
  EXPECT_EQ(events[1]["result"], (Json{{"response", "363.89"}}));
  EXPECT_EQ(
      events[2],
      (Json{{"agent", "researcher"}, {"depth", 1}, {"event", "text"}, {"text", "root is 363.89"}}));
}

TEST_F(LlmAgents, ContextFollowsTheTask) {
  model_.script("You are helper.", {fixed(text_reply("ok"))});
  serve_llm_agent(agents_, agent("helper", {}));
  const Json reply = client_.call("helper", {{"task", "Do it."}, {"context", "It is Tuesday."}});
  EXPECT_EQ(reply["answer"], "ok");
  EXPECT_EQ(reply["tool_calls"], Json::array());
  const Json first = model_.received().at(0).json();
  EXPECT_EQ(first["messages"][0]["content"][0]["text"], "Do it.\n\nContext:\nIt is Tuesday.");
  EXPECT_FALSE(first.contains("tools"));  // no --tool: no tools
}

// A planner calls two workers in parallel; each worker calls square_root. Every call is reported
// in order in the nested replies, and the workers' events reach the client with depth 2.
TEST_F(LlmAgents, APlannerOverTwoWorkersInParallel) {
  std::mutex mutex;
  std::condition_variable both_cv;
  int arrived = 0;
  auto meet = [&] {
    // Both workers must be running at once: the planner's two calls overlap.
    std::unique_lock lock(mutex);
    ++arrived;
    both_cv.notify_all();
    return both_cv.wait_for(lock, std::chrono::seconds(10), [&] { return arrived >= 2; });
  };
  for (const auto& [name, number] :
       std::vector<std::pair<std::string, int>>{{"workerA", 16}, {"workerB", 81}}) {
    model_.script(
        "You are " + name + ".",
        {[&meet, number = number](const Json&) {
           if (!meet()) return text_reply("the workers did not overlap");
           return tool_reply({{"w1", "square_root", {{"number", number}}}});
         },
         [](const Json& request) {
           return text_reply(Json::parse(last_tool_result(request))["response"].get<std::string>());
         }});
  }
  model_.script("You are planner.",
                {fixed(tool_reply({{"p1", "workerA", {{"task", "root of 16"}}},
                                   {"p2", "workerB", {{"task", "root of 81"}}}})),
                 [](const Json& request) {
                   const Json& results = request["messages"].back()["content"];
                   const Json a = Json::parse(results[0]["content"].get<std::string>());
                   const Json b = Json::parse(results[1]["content"].get<std::string>());
                   return text_reply(a["answer"].get<std::string>() + " and " +
                                     b["answer"].get<std::string>());
                 }});
  Connection workers = connect({.servers = {registry_.client_url()}});
  serve_llm_agent(workers, agent("workerA", {"square_root"}));
  serve_llm_agent(workers, agent("workerB", {"square_root"}));
  serve_llm_agent(agents_, agent("planner", {"worker*"}));

  Progress progress;
  const Json reply = client_.call("planner", {{"task", "Both roots."}},
                                  CallOptions{.on_progress = progress.callback()});
  EXPECT_EQ(reply["answer"], "4.00 and 9.00");
  ASSERT_EQ(reply["tool_calls"].size(), 2u);
  EXPECT_EQ(reply["tool_calls"][0]["name"], "workerA");
  EXPECT_EQ(reply["tool_calls"][1]["name"], "workerB");
  const Json& nested = reply["tool_calls"][0]["result"]["tool_calls"];
  ASSERT_EQ(nested.size(), 1u);
  EXPECT_EQ(nested[0]["name"], "square_root");
  EXPECT_EQ(nested[0]["result"], (Json{{"response", "4.00"}}));
  EXPECT_EQ(reply["tool_calls"][1]["result"]["tool_calls"][0]["result"],
            (Json{{"response", "9.00"}}));
  // Usage is each agent's own: the planner's two model requests.
  EXPECT_EQ(reply["usage"], (Json{{"input_tokens", 30}, {"output_tokens", 8}}));

  // Nested events come through the planner with their depth; each worker's own events are in
  // order (call, result, text).
  std::map<std::string, std::vector<std::string>> by_agent;
  for (const auto& e : progress.events()) {
    by_agent[e["agent"].get<std::string>()].push_back(e["event"].get<std::string>());
    EXPECT_EQ(e["depth"], e["agent"] == "planner" ? 1 : 2) << e.dump();
  }
  const std::vector<std::string> worker = {"call", "result", "text"};
  EXPECT_EQ(by_agent["workerA"], worker);
  EXPECT_EQ(by_agent["workerB"], worker);
  const std::vector<std::string> planner = {"call", "call", "result", "result", "text"};
  EXPECT_EQ(by_agent["planner"], planner);
}

TEST_F(LlmAgents, ACycleFailsWithAClearError) {
  // A calls B, B calls A: the second A refuses, B and A then answer with what they saw.
  model_.script("You are agentA.",
                {fixed(tool_reply({{"a1", "agentB", {{"task", "go"}}}})),
                 [](const Json& request) { return text_reply(last_tool_result(request)); }});
  model_.script(
      "You are agentB.",
      {fixed(tool_reply({{"b1", "agentA", {{"task", "back"}}}})), [](const Json& request) {
         const Json& block = request["messages"].back()["content"][0];
         return text_reply(block.value("is_error", false)
                               ? "error: " + block["content"].get<std::string>()
                               : "no error");
       }});
  Connection other = connect({.servers = {registry_.client_url()}});
  serve_llm_agent(agents_, agent("agentA", {"agentB"}));
  serve_llm_agent(other, agent("agentB", {"agentA"}));
  const Json reply = client_.call("agentA", {{"task", "start"}});
  const Json& inner = reply["tool_calls"][0]["result"]["tool_calls"][0];
  EXPECT_EQ(inner["name"], "agentA");
  EXPECT_EQ(inner["error"],
            "agentA: call cycle: agentA -> agentB -> agentA (agentA is already in the chain)");
  EXPECT_EQ(reply["tool_calls"][0]["result"]["answer"],
            "error: agentA: call cycle: agentA -> agentB -> agentA (agentA is already in the "
            "chain)");
  EXPECT_EQ(model_.received().size(), 4u);  // the refused call never reached a model
}

// The chain travels as a header: a caller may pass one on (on_behalf_of does); an agent refuses
// a call that would make it too long, or that already holds it.
TEST_F(LlmAgents, ChainLimitAndCycleFromTheHeader) {
  model_.script("You are deep.", {fixed(text_reply("fine"))});
  serve_llm_agent(agents_, agent("deep", {}));
  EXPECT_EQ(client_.call("deep", {{"task", "t"}}, CallOptions{.chain = {"a", "b", "c"}})["answer"],
            "fine");
  try {
    client_.call("deep", {{"task", "t"}}, CallOptions{.chain = {"a", "b", "c", "d"}});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::tool_failed);
    EXPECT_STREQ(e.what(),
                 "deep: the chain of LLM agents is too deep: a -> b -> c -> d -> deep (limit 4)");
  }
  try {
    client_.call("deep", {{"task", "t"}}, CallOptions{.chain = {"x", "deep", "y"}});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "deep: call cycle: x -> deep -> y -> deep (deep is already in the chain)");
  }
  EXPECT_EQ(model_.received().size(), 1u);
}

// A tool called by an agent sees the chain and a deadline no later than the client's.
TEST_F(LlmAgents, ToolCallsCarryTheCallersDeadlineAndChain) {
  std::atomic<long long> remaining{-1};
  std::vector<std::string> chain;
  std::atomic<bool> saw_cancel{false};
  tools_.register_tool(
      Tool{.name = "slow",
           .description = "waits for its deadline",
           .parameters = Object{},
           .response = {},
           .handler = [&](const Request& req) -> Result {
             remaining = req.remaining() ? req.remaining()->count() : -2;
             chain = req.chain();
             const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(15);
             while (!req.cancelled() && std::chrono::steady_clock::now() < give_up) {
               std::this_thread::sleep_for(std::chrono::milliseconds(10));
             }
             saw_cancel = req.cancelled();
             return Json{{"late", true}};
           },
           .timeout = std::chrono::seconds(30)});
  model_.script("You are waiter.", {fixed(tool_reply({{"s1", "slow", Json::object()}})),
                                    fixed(text_reply("too late"))});
  serve_llm_agent(agents_, agent("waiter", {"slow"}));
  const auto start = std::chrono::steady_clock::now();
  try {
    client_.call("waiter", {{"task", "wait"}},
                 CallOptions{.timeout = std::chrono::milliseconds(1500), .chain = {"outer"}});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::timeout) << e.what();
  }
  // The tool below the agent ended with the client's deadline, not with its own 30 s.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!saw_cancel && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(saw_cancel);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_GT(remaining.load(), 0);
  EXPECT_LE(remaining.load(), 1500);
  EXPECT_EQ(chain, (std::vector<std::string>{"outer", "waiter"}));
}

TEST_F(LlmAgents, BadOptionsAreRefused) {
  auto o = agent("selfish", {"selfish"});
  EXPECT_THROW(serve_llm_agent(agents_, o), Error);
  o = agent("bad name!", {});
  EXPECT_THROW(serve_llm_agent(agents_, o), Error);
  o = agent("nokey", {});
  o.session.api_key.clear();
  o.session.base_url.clear();
  ::unsetenv("ANTHROPIC_API_KEY");
  try {
    serve_llm_agent(agents_, o);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "anthropic: no API key (set ANTHROPIC_API_KEY)");
  }
  EXPECT_TRUE(agents_.local_tools().empty());
}

TEST(ToolPattern, Globs) {
  EXPECT_TRUE(matches_tool_pattern("search_*", "search_web"));
  EXPECT_TRUE(matches_tool_pattern("*", "x"));
  EXPECT_TRUE(matches_tool_pattern("a?c", "abc"));
  EXPECT_TRUE(matches_tool_pattern("*_b*", "a_b_c"));
  EXPECT_FALSE(matches_tool_pattern("search_*", "research_web"));
  EXPECT_FALSE(matches_tool_pattern("a?c", "ac"));
  EXPECT_FALSE(matches_tool_pattern("calculator", "calculatorA"));
}

// `polaris agent serve` as an operator runs it, called with `polaris call`.
TEST_F(LlmAgents, AgentServeCommandAnswersPolarisCall) {
  const std::string dir = testing::TempDir();
  const std::string prompt_file = dir + "/researcher-prompt.txt";
  {
    std::ofstream out(prompt_file);
    out << "You are researcher.";
  }
  model_.script("You are researcher.",
                {fixed(tool_reply({{"t1", "square_root", {{"number", 132413}}}})),
                 fixed(text_reply("363.89"))});
  AgentProcess agent_process(
      {"--server", registry_.client_url(), "--name", "researcher", "--description", "Finds roots",
       "--system", "@" + prompt_file, "--tool", "square_*", "--provider", "anthropic", "--model",
       "claude-test", "--no-stream"},
      model_.url());
  const auto result = run_polaris({"call", "--server", registry_.client_url(), "researcher",
                                   R"({"task": "Square root of 132413?"})"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  const Json reply = Json::parse(result.out, nullptr, false);
  ASSERT_FALSE(reply.is_discarded()) << result.out;
  EXPECT_EQ(reply["answer"], "363.89");
  EXPECT_EQ(reply["tool_calls"][0]["result"], (Json{{"response", "363.89"}}));
  const Json first = model_.received().at(0).json();
  EXPECT_EQ(first["model"], "claude-test");
  EXPECT_EQ(model_.received().at(0).header("x-api-key"), "sk-ant-test");
}

// `polaris chat` over a planner agent that calls a worker agent that calls a tool, each agent
// served by `polaris agent serve`: the nested agents' calls show live on stderr, indented by
// their depth under the chat's own call that started them, in the order they happened.
TEST_F(LlmAgents, ChatShowsNestedAgentsIndentedUnderTheirCall) {
  const auto answer_of = [](const Json& request) {
    const Json reply = Json::parse(last_tool_result(request));
    return text_reply(reply.contains("answer") ? reply["answer"].get<std::string>()
                                               : reply["response"].get<std::string>());
  };
  model_.script("You are chat.",
                {fixed(tool_reply({{"c1", "planner", {{"task", "root of 16"}}}})), answer_of});
  model_.script("You are planner.",
                {fixed(tool_reply({{"p1", "worker", {{"task", "root of 16"}}}})), answer_of});
  model_.script("You are worker.",
                {fixed(tool_reply({{"w1", "square_root", {{"number", 16}}}})), answer_of});
  const std::vector<std::string> common = {
      "--server", registry_.client_url(), "--provider", "anthropic",
      "--model",  "claude-test",          "--no-stream"};
  auto serve = [&](const std::string& name, const std::string& tool) {
    std::vector<std::string> args = {"--name", name, "--system", "You are " + name + ".",
                                     "--tool", tool};
    args.insert(args.end(), common.begin(), common.end());
    return std::make_unique<AgentProcess>(args, model_.url());
  };
  const auto worker = serve("worker", "square_root");
  const auto planner = serve("planner", "worker");

  std::vector<std::string> chat = {POLARIS_CLI_PATH, "chat",   "--system",
                                   "You are chat.",  "--tool", "planner"};
  chat.insert(chat.end(), common.begin(), common.end());
  chat.push_back("What is the square root of 16?");
  const auto result =
      run_program(chat, {"ANTHROPIC_API_KEY=sk-ant-test", "ANTHROPIC_BASE_URL=" + model_.url()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "4.00\n");

  std::vector<std::string> lines;
  std::istringstream err(result.err);
  for (std::string line; std::getline(err, line);) {
    lines.push_back(std::regex_replace(line, std::regex(R"(\(\d+ ms\)$)"), "(N ms)"));
  }
  const std::vector<std::string> expected = {
      R"(-> planner {"task":"root of 16"})",
      R"(   [planner] -> worker {"task":"root of 16"})",
      R"(      [worker] -> square_root {"number":16})",
      R"(      [worker] <- square_root {"response":"4.00"} (N ms))",
  };
  ASSERT_GE(lines.size(), expected.size() + 2) << result.err;
  EXPECT_EQ(std::vector<std::string>(lines.begin(), lines.begin() + 4), expected) << result.err;
  EXPECT_EQ(lines[4].rfind("   [planner] <- worker {\"answer\":\"4.00\",", 0), 0U) << result.err;
  EXPECT_EQ(lines[5].rfind("<- planner {\"answer\":\"4.00\",", 0), 0U) << result.err;
  EXPECT_EQ(lines.size(), 6U) << result.err;
}

// Under roles an LLM agent runs as one agent user whose `calls` list holds the tools it uses
// (docs/SECURITY.md, "LLM agents"): `polaris agent serve` with that user's credentials serves the
// agent and calls square_root. The model is offered only what the user may call among the
// agent's --tool patterns; a tool the patterns allow but the user may not call, and one outside
// the patterns, are refused with clear errors the model (and the caller's reply) sees.
TEST(LlmAgentRoles, AnAgentUserServesItsAgentAndCallsTheToolsOfItsCallsList) {
  const std::string pw = hash_password("pw");
  SecurityConfig security;
  security.users = {
      {.name = "toolsrv",
       .password_hash = pw,
       .role = Role::agent,
       .tools = {"square_root", "secret_root", "calculator"}},
      {.name = "researcher-user",
       .password_hash = pw,
       .role = Role::agent,
       .tools = {"researcher"},
       .calls = {"square_root"}},
      {.name = "alice", .password_hash = pw, .role = Role::caller, .tools = {"researcher"}},
  };
  Registry registry = Registry::start({.bind = {.port = 0}, .security = security});
  const std::string url = registry.client_url();
  Connection tools = connect({.servers = {url}, .user = "toolsrv", .password = "pw"});
  tools.register_tool(square_root_tool());
  Tool secret = square_root_tool();
  secret.name = "secret_root";
  tools.register_tool(secret);
  Tool calculator = square_root_tool();
  calculator.name = "calculator";
  tools.register_tool(calculator);

  ScriptedModel model;
  model.script("You are researcher.", {fixed(tool_reply({{"t1", "square_root", {{"number", 16}}},
                                                         {"t2", "secret_root", {{"number", 16}}},
                                                         {"t3", "calculator", {{"number", 16}}}})),
                                       fixed(text_reply("4"))});
  AgentProcess agent(
      {"--server", url, "--name", "researcher", "--system", "You are researcher.", "--tool",
       "*_root", "--provider", "anthropic", "--model", "claude-test", "--no-stream"},
      model.url(), {"POLARIS_USER=researcher-user", "POLARIS_PASSWORD=pw"});

  const auto result =
      run_program({POLARIS_CLI_PATH, "call", "--server", url, "researcher", R"({"task": "16?"})"},
                  {"POLARIS_USER=alice", "POLARIS_PASSWORD=pw"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const Json reply = Json::parse(result.out, nullptr, false);
  ASSERT_FALSE(reply.is_discarded()) << result.out;
  EXPECT_EQ(reply["answer"], "4");
  const Json& calls = reply["tool_calls"];
  ASSERT_EQ(calls.size(), 3U) << reply.dump(2);
  EXPECT_EQ(calls[0]["result"], (Json{{"response", "4.00"}})) << calls[0].dump();
  EXPECT_EQ(calls[1]["name"], "secret_root");
  EXPECT_EQ(calls[1].value("error", ""),
            "permission denied: the server does not let this user publish to "
            "polaris:user-func:secret_root (Permissions Violation for Publish to "
            "\"polaris:user-func:secret_root\")")
      << calls[1].dump();
  EXPECT_EQ(calls[2]["name"], "calculator");
  EXPECT_EQ(calls[2].value("error", ""),
            "researcher may not use the tool calculator (its tools: *_root)")
      << calls[2].dump();

  // The model was offered square_root only: secret_root matches the pattern, but the user may
  // not call it, so the registry does not list it.
  const Json first = model.received().at(0).json();
  ASSERT_EQ(first["tools"].size(), 1U) << first["tools"].dump();
  EXPECT_EQ(first["tools"][0]["name"], "square_root");
}

// Two processes serve one replicable LLM agent: calls are shared; one killed mid-task leaves its
// call's outcome unknown (an LLM agent is never idempotent: its session is not repeated).
TEST_F(LlmAgents, ReplicasShareCallsAndAKilledOneLeavesTheOutcomeUnknown) {
  // Declared before the models: a held request may still be waking when the test ends.
  std::mutex mutex;
  std::condition_variable changed;
  bool hold = false;
  int held = 0;  // 1 or 2: which model's request is being held
  ScriptedModel model_one;
  ScriptedModel model_two;
  auto script = [&](ScriptedModel& model, int which) {
    model.script("You are twin.", {[&, which](const Json& request) {
                   const std::string task =
                       request["messages"][0]["content"][0]["text"].get<std::string>();
                   std::unique_lock lock(mutex);
                   if (task == "hold" && hold) {
                     held = which;
                     changed.notify_all();
                     changed.wait_for(lock, std::chrono::seconds(20), [&] { return !hold; });
                   }
                   return text_reply("from " + std::to_string(which));
                 }});
  };
  script(model_one, 1);
  script(model_two, 2);
  const std::vector<std::string> args = {
      "--server",      registry_.client_url(), "--name",    "twin",        "--system",
      "You are twin.", "--provider",           "anthropic", "--no-stream", "--replicable"};
  auto one = std::make_unique<AgentProcess>(args, model_one.url());
  auto two = std::make_unique<AgentProcess>(args, model_two.url());
  std::set<std::string> answers;
  for (int i = 0; i < 24 && answers.size() < 2; ++i) {
    answers.insert(client_.call("twin", {{"task", "hi"}})["answer"].get<std::string>());
  }
  EXPECT_EQ(answers, (std::set<std::string>{"from 1", "from 2"}));

  {
    std::lock_guard lock(mutex);
    hold = true;
  }
  auto pending = client_.call_async("twin", {{"task", "hold"}});
  int victim = 0;
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(changed.wait_for(lock, std::chrono::seconds(20), [&] { return held != 0; }));
    victim = held;
  }
  (victim == 1 ? one : two)->process().signal(SIGKILL);
  try {
    pending.get();
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::outcome_unknown) << e.what();
  }
  {
    std::lock_guard lock(mutex);
    hold = false;
  }
  changed.notify_all();
  // The survivor still answers.
  EXPECT_EQ(client_.call("twin", {{"task", "hi"}})["answer"], victim == 1 ? "from 2" : "from 1");
}

// generate_json<T>() asks for the struct's schema and parses the answer as the struct; an answer
// that does not fit is an error naming the member.
TEST(TypedGenerateJson, TheStructIsTheOutputSchemaAndTheAnswerIsParsed) {
  ScriptedModel model;
  SessionOptions options;
  options.provider = Provider::anthropic;
  options.model = "claude-test";
  options.system = "You are a cook.";
  options.base_url = model.url();
  options.api_key = "sk-ant-test";
  options.stream = false;
  options.retry.max_attempts = 1;
  model.script("You are a cook.",
               {fixed(text_reply(R"({"name":"soup","servings":4,"steps":["chop","boil"]})"))});
  const auto recipe = generate_json<Recipe>(options)("A soup for four.");
  EXPECT_EQ(recipe.name, "soup");
  EXPECT_EQ(recipe.servings, 4);
  EXPECT_EQ(recipe.steps, (std::vector<std::string>{"chop", "boil"}));
  EXPECT_FALSE(recipe.note.has_value());
  const auto received = model.received();
  ASSERT_EQ(received.size(), 1U);
  const Json schema = received[0].json()["output_config"]["format"]["schema"];
  EXPECT_EQ(schema["description"], "a recipe") << schema;
  EXPECT_EQ(schema["properties"]["servings"]["type"], "integer") << schema;
  EXPECT_EQ(schema["properties"]["steps"]["items"]["type"], "string") << schema;
  for (const char* member : {"name", "servings", "steps"}) {
    EXPECT_NE(std::find(schema["required"].begin(), schema["required"].end(), member),
              schema["required"].end())
        << member << " " << schema;
  }

  model.script("You are a cook.", {fixed(text_reply(R"({"name":"soup","servings":"four"})"))});
  EXPECT_THROW((void)generate_json<Recipe>(options)("Again."), Error);
}

}  // namespace
}  // namespace polaris::test
