// llm/text_stream.cpp - send() as a range: the session runs on a worker thread and hands text
// pieces over through a queue.
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "llm/session_impl.hpp"

namespace polaris {

struct TextStream::State {
  Session::Impl* session = nullptr;  // not owned; the Session outlives the stream
  std::string prompt;
  std::mutex mutex;
  std::condition_variable ready;
  std::deque<std::string> pieces;  // guarded by mutex
  bool finished = false;           // guarded by mutex
  bool stop = false;               // guarded by mutex: the consumer went away
  std::exception_ptr error;        // guarded by mutex
  std::thread worker;              // started by begin(), joined by ~TextStream
  std::size_t history_mark = 0;    // the conversation's length before this send
  bool exhausted = false;          // the consumer saw the end (or the error): keep the turn

  void run() {
    try {
      session->send_text(prompt, [this](std::string_view text) {
        std::lock_guard lock(mutex);
        if (stop) return false;
        pieces.emplace_back(text);
        ready.notify_one();
        return true;
      });
    } catch (...) {
      std::lock_guard lock(mutex);
      error = std::current_exception();
    }
    std::lock_guard lock(mutex);
    finished = true;
    ready.notify_one();
  }

  // Blocks until a piece or the end; false at the end. Rethrows the session's error.
  bool next(std::string& out) {
    std::unique_lock lock(mutex);
    ready.wait(lock, [this] { return !pieces.empty() || finished; });
    if (!pieces.empty()) {
      out = std::move(pieces.front());
      pieces.pop_front();
      return true;
    }
    exhausted = true;
    if (error) std::rethrow_exception(std::exchange(error, nullptr));
    return false;
  }
};

TextStream::TextStream(Session& session, std::string prompt) : state_(std::make_shared<State>()) {
  state_->session = session.impl_.get();
  state_->prompt = std::move(prompt);
}

TextStream::TextStream(TextStream&&) noexcept = default;

TextStream::~TextStream() {
  if (!state_ || !state_->worker.joinable()) return;
  {
    std::lock_guard lock(state_->mutex);
    state_->stop = true;
  }
  state_->session->cancel();  // also stops a transfer that is waiting for the model
  state_->worker.join();
  // The consumer left before the end. Even when the model had already finished, the caller did not
  // see the whole answer: drop the exchange, as a stopped send_text does.
  if (!state_->exhausted) state_->session->truncate_history(state_->history_mark);
}

TextStream::iterator TextStream::begin() {
  if (state_->worker.joinable() || state_->finished) {
    throw Error(Errc::invalid_argument, "TextStream::begin() called twice");
  }
  state_->session->reset_cancel();
  state_->history_mark = state_->session->history_size();
  state_->worker = std::thread([state = state_.get()] { state->run(); });
  iterator it(this);
  ++it;
  return it;
}

TextStream::iterator& TextStream::iterator::operator++() {
  done_ = !stream_->state_->next(current_);
  return *this;
}

}  // namespace polaris
