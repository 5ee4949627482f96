// A progress sink: long work (filling or casting weights, scanning tensors, profiling passes,
// measuring ceilings) says what it is doing and how far it is. Commands receive one; the CLI's
// draws a bar on stderr when it is a terminal, tests pass a silent one. Calls come from one thread.
#pragma once

#include <cstdint>
#include <string>

namespace anatomy {

class Progress {
 public:
  virtual ~Progress() = default;
  // A new task of `total` units (bytes, tensors, passes); 0 when the total is unknown.
  virtual void begin(const std::string& task, uint64_t total) = 0;
  // `done` units of the current task are finished (absolute, not a delta).
  virtual void update(uint64_t done) = 0;
  virtual void end() = 0;
  // A short status shown beside the bar (a training step's loss and rate); optional.
  virtual void detail(const std::string&) {}
};

// Reports nothing.
Progress& silent_progress();

// A task for the lifetime of a scope: begin on construction, end on destruction (also when an
// exception leaves the scope, so a bar is never left half drawn).
class ProgressTask {
 public:
  ProgressTask(Progress& p, const std::string& task, uint64_t total) : p_(p) { p_.begin(task, total); }
  ~ProgressTask() { p_.end(); }
  ProgressTask(const ProgressTask&) = delete;
  ProgressTask& operator=(const ProgressTask&) = delete;
  void update(uint64_t done) { p_.update(done); }

 private:
  Progress& p_;
};

}  // namespace anatomy
