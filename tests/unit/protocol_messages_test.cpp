// The typed wire messages of protocol/messages.hpp: what polaris sends is what docs/PROTOCOL.md
// shows, and reading a peer's message never throws, whatever the shapes of its fields.
#include <gtest/gtest.h>

#include "client/payload_split.hpp"
#include "protocol/messages.hpp"

namespace polaris::wire {
namespace {

TEST(ProtocolMessages, StatusReplyReadsOnlyABooleanSuccess) {
  EXPECT_EQ(StatusReply({true, "OK"}).to_json(), Json::parse(R"({"success":true,"msg":"OK"})"));
  const auto refused = StatusReply::from_json(Json::parse(R"({"success":false,"msg":"taken"})"));
  ASSERT_TRUE(refused);
  EXPECT_FALSE(refused->success);
  EXPECT_EQ(refused->msg, "taken");
  // A refusal without a (string) reason still reads as one.
  EXPECT_EQ(StatusReply::from_json(Json::parse(R"({"success":false,"msg":7})"))->msg, "refused");
  EXPECT_FALSE(StatusReply::from_json(Json::parse(R"({"success":"true"})")));
  EXPECT_FALSE(StatusReply::from_json(Json::parse(R"([true])")));
  EXPECT_FALSE(StatusReply::from_json(Json(Json::value_t::discarded)));
}

TEST(ProtocolMessages, BatchRegisterReplyRefusesAResultWithoutSuccess) {
  const auto reply = BatchRegisterReply::from_json(Json::parse(
      R"({"success":false,"msg":"b taken","results":[{"name":"a","success":true,"msg":"OK"},
          {"name":"b","success":false,"msg":"b taken"},{"success":true},"junk"]})"));
  ASSERT_TRUE(reply);
  ASSERT_EQ(reply->results.size(), 2U);
  EXPECT_EQ(reply->results[1].name, "b");
  EXPECT_EQ(reply->results[1].status.msg, "b taken");
  EXPECT_EQ(BatchRegisterReply::from_json(reply->to_json())->to_json(), reply->to_json());
  EXPECT_FALSE(BatchRegisterReply::from_json(
      Json::parse(R"({"success":true,"results":[{"name":"a","success":1}]})")));
}

TEST(ProtocolMessages, ErrorReplyKeepsAnyValueAsText) {
  EXPECT_EQ(ErrorReply{"boom"}.to_json(), Json::parse(R"({"_error":"boom"})"));
  EXPECT_EQ(ErrorReply::from_json(Json::parse(R"({"_error":{"code":3}})"))->message,
            R"({"code":3})");
  EXPECT_EQ(ErrorReply::from_json(Json::parse(R"({"_error":null})"))->message, "null");
  EXPECT_FALSE(ErrorReply::from_json(Json::parse(R"({"result":1})")));
  EXPECT_TRUE(ErrorReply{"x"}.to_json().dump().starts_with(ErrorReply::text_prefix()));
  EXPECT_EQ(ErrorReply::text_prefix(), R"({"_error":)");
}

TEST(ProtocolMessages, AgentGoneReadsOddFieldsAsAbsent) {
  const auto gone = AgentGone::from_json(Json::parse(
      R"({"agent":"a1","departed":"yes","tools":[{"name":"t","idempotent":"1"},
          {"name":"u","idempotent":true},{"idempotent":true},3]})"));
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->agent, "a1");
  EXPECT_FALSE(gone->departed);
  ASSERT_EQ(gone->tools.size(), 2U);
  EXPECT_FALSE(gone->tools[0].idempotent);
  EXPECT_TRUE(gone->tools[1].idempotent);
  EXPECT_FALSE(AgentGone::from_json(Json::parse(R"({"agent":5})")));
  EXPECT_TRUE(AgentGone::from_json(Json::parse(R"({"agent":"a","tools":"x"})"))->tools.empty());
}

TEST(ProtocolMessages, AgentMessagesRoundTrip) {
  const AgentBack back{"a1", {"_INBOX.x.1", "_INBOX.x.2"}};
  EXPECT_EQ(AgentBack::from_json(back.to_json())->reply_subjects, back.reply_subjects);
  EXPECT_EQ(AgentBack::from_json(Json::parse(R"({"agent":"a","reply_subjects":[1,"s"]})"))
                ->reply_subjects,
            std::vector<std::string>{"s"});
  EXPECT_EQ(CallerAsk::from_json(CallerAsk{"_INBOX.c"}.to_json())->caller, "_INBOX.c");
  EXPECT_FALSE(CallerAsk::from_json(Json::parse(R"({"caller":null})")));
  EXPECT_EQ(Revocation::from_json(Json::parse(R"({"name":"t","msg":false})"))->msg, "revoked");
  EXPECT_EQ(UnregisterRequest({"t", "a1"}).to_json(),
            Json::parse(R"({"name":"t","polaris":{"agent":"a1"}})"));
  EXPECT_EQ(Heartbeat({"a1", 3}).to_json(), Json::parse(R"({"agent":"a1","tools":3})"));
  EXPECT_EQ(LeaveRequest{"a1"}.to_json(), Json::parse(R"({"agent":"a1"})"));
}

TEST(ProtocolMessages, ListPages) {
  EXPECT_EQ((ListPageRequest{.limit = 1, .after = "b"}.to_json()),
            Json::parse(R"({"limit":1,"after":"b"})"));
  EXPECT_EQ((ListPageRequest{.limit = 10}.to_json()), Json::parse(R"({"limit":10})"));
  const auto page = ListPage::from_json(Json::parse(R"({"tools":[{"name":"a"}],"next":4})"));
  ASSERT_TRUE(page);
  EXPECT_EQ(page->tools.size(), 1U);
  EXPECT_EQ(page->next, "");
  EXPECT_FALSE(ListPage::from_json(Json::parse(R"({"tools":{},"msg":"no"})")));
}

// The envelopes the split bodies are built in are the messages' own JSON.
TEST(ProtocolMessages, SplitBodiesAreTheMessagesThemselves) {
  const auto [open, close] = BatchRegisterRequest::envelope();
  const auto split =
      detail::split_bodies({R"({"name":"a"})", R"({"name":"b"})"}, open, close, 1000);
  ASSERT_EQ(split.bodies.size(), 1U);
  EXPECT_EQ(Json::parse(split.bodies[0]), Json::parse(R"({"tools":[{"name":"a"},{"name":"b"}]})"));
  const auto [array_open, array_close] = KeepaliveRequest::envelope();
  EXPECT_EQ(array_open + array_close, "[]");
}

}  // namespace
}  // namespace polaris::wire
