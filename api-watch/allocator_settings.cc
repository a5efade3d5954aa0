#include "api-watch/allocator_settings.h"

#include <malloc.h>

#include <cstdlib>

namespace flatwall::apiwatch {

void LimitMallocArenas() {
  if (std::getenv("MALLOC_ARENA_MAX") != nullptr) return;
  // Two, not one: threads that allocate at once wait less on an arena's lock, and the
  // resident memory differs little (docs/benchmarks.md).
  mallopt(M_ARENA_MAX, 2);
}

}  // namespace flatwall::apiwatch
