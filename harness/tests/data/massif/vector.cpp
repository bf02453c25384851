// A C++ program whose growth goes through std::vector and operator new: the site is the
// program's own function that pushes, not the standard library's frames below it.
// Usage: vector TRANSACTIONS
#include <cstdlib>
#include <vector>

static std::vector<unsigned> log_;

static void log_transaction(unsigned v) { log_.push_back(v); }

int main(int argc, char **argv) {
  long n = argc > 1 ? std::atol(argv[1]) : 20000;
  for (long i = 0; i < n; i++) log_transaction(static_cast<unsigned>(i * 2654435761u));
  return log_.size() == static_cast<size_t>(n) ? 0 : 1;
}
