#include "mcp/http_responses.hpp"

#include <algorithm>
#include <cstring>

namespace polaris::mcp::detail {
namespace {

struct StreamReader {
  std::shared_ptr<EventStream> stream;
  std::size_t next = 0;    // index of the next event
  std::size_t offset = 0;  // bytes of that event already sent
  const std::atomic<bool>* closing = nullptr;
  std::shared_ptr<Session> session;  // keeps a GET stream's session alive
  bool is_get = false;
};

ssize_t read_stream(void* cls, uint64_t /*pos*/, char* buffer, size_t max) {
  auto* reader = static_cast<StreamReader*>(cls);
  for (;;) {
    if (reader->closing->load()) return MHD_CONTENT_READER_END_OF_STREAM;
    bool finished = false;
    auto event = reader->stream->event(reader->next, std::chrono::milliseconds(500), finished);
    if (event) {
      const std::size_t n = std::min(max, event->size() - reader->offset);
      std::memcpy(buffer, event->data() + reader->offset, n);
      reader->offset += n;
      if (reader->offset == event->size()) {
        ++reader->next;
        reader->offset = 0;
      }
      return static_cast<ssize_t>(n);
    }
    if (finished) return MHD_CONTENT_READER_END_OF_STREAM;
  }
}

void free_stream(void* cls) {
  std::unique_ptr<StreamReader> reader(static_cast<StreamReader*>(cls));
  if (reader->is_get && reader->session) {
    std::lock_guard lock(reader->session->mutex);
    if (reader->session->get_stream == reader->stream) {
      reader->stream->finish();
      reader->session->get_stream.reset();
    }
  }
}

}  // namespace

std::string request_header(MHD_Connection* connection, const char* name) {
  const char* value = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, name);
  return value == nullptr ? std::string() : std::string(value);
}

MHD_Result send_text(MHD_Connection* connection, unsigned status, const std::string& body,
                     const char* content_type, const std::string& session_id) {
  MHD_Response* response = MHD_create_response_from_buffer(
      body.size(), const_cast<char*>(body.data()), MHD_RESPMEM_MUST_COPY);  // NOLINT
  if (response == nullptr) return MHD_NO;
  if (!body.empty()) MHD_add_response_header(response, "Content-Type", content_type);
  if (!session_id.empty()) MHD_add_response_header(response, "Mcp-Session-Id", session_id.c_str());
  if (status == MHD_HTTP_UNAUTHORIZED) {
    MHD_add_response_header(response, "WWW-Authenticate", "Bearer");
  }
  const MHD_Result result = MHD_queue_response(connection, status, response);
  MHD_destroy_response(response);
  return result;
}

MHD_Result send_error(MHD_Connection* connection, unsigned status, int code,
                      const std::string& message) {
  return send_text(connection, status, rpc_error(nullptr, code, message).dump());
}

MHD_Result send_stream(MHD_Connection* connection, std::shared_ptr<EventStream> stream,
                       std::size_t from, std::shared_ptr<Session> session, bool is_get,
                       const std::atomic<bool>& closing) {
  auto reader = std::make_unique<StreamReader>();
  reader->stream = std::move(stream);
  reader->next = from;
  reader->closing = &closing;
  reader->session = std::move(session);
  reader->is_get = is_get;
  const std::string session_id = reader->session ? reader->session->id : std::string();
  MHD_Response* response = MHD_create_response_from_callback(
      MHD_SIZE_UNKNOWN, 16 * 1024, &read_stream, reader.get(), &free_stream);
  if (response == nullptr) return MHD_NO;
  (void)reader.release();  // owned by the response now: free_stream deletes it
  MHD_add_response_header(response, "Content-Type", "text/event-stream");
  MHD_add_response_header(response, "Cache-Control", "no-cache");
  if (!session_id.empty()) MHD_add_response_header(response, "Mcp-Session-Id", session_id.c_str());
  const MHD_Result result = MHD_queue_response(connection, MHD_HTTP_OK, response);
  MHD_destroy_response(response);
  return result;
}

MHD_Result send_method_not_allowed(MHD_Connection* connection) {
  MHD_Response* response = MHD_create_response_from_buffer(0, nullptr, MHD_RESPMEM_PERSISTENT);
  MHD_add_response_header(response, "Allow", "GET, POST, DELETE");
  const MHD_Result result = MHD_queue_response(connection, MHD_HTTP_METHOD_NOT_ALLOWED, response);
  MHD_destroy_response(response);
  return result;
}

}  // namespace polaris::mcp::detail
