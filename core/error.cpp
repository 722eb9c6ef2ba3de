#include "core/error.h"

#include <c10/util/Exception.h>

namespace zoo {

std::string first_line(const std::exception& e) {
  const auto* c10_error = dynamic_cast<const c10::Error*>(&e);
  const std::string message = c10_error ? c10_error->what_without_backtrace() : e.what();
  return message.substr(0, message.find('\n'));
}

}  // namespace zoo
