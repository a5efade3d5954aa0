// Process-wide glibc allocator settings for a process that lists large collections from
// the API server (the agent; the api-watch benchmark).
//
// Why: a list page is megabytes of JSON, received by cpprestsdk's pool threads. glibc gives
// each thread that allocates concurrently its own arena (up to 8 per core), and a freed
// arena's top is kept resident up to the trim threshold, which glibc raises to twice the
// largest freed mmapped block (a page body): ~4 MB per arena stayed resident after the
// list, most of the client's RSS (docs/benchmarks.md, "api-watch"). malloc_trim does not
// release an arena's top, only the main heap's.
//
// Not here: returning freed pages after each list (ResourceWatcher does: malloc_trim).
#ifndef FLATWALL_API_WATCH_ALLOCATOR_SETTINGS_H_
#define FLATWALL_API_WATCH_ALLOCATOR_SETTINGS_H_

namespace flatwall::apiwatch {

// Limits glibc to two malloc arenas (the main one and one shared by every other thread),
// unless MALLOC_ARENA_MAX is set in the environment (the operator's choice wins). Call
// before the transport's threads start: arenas that exist stay. Idempotent.
void LimitMallocArenas();

}  // namespace flatwall::apiwatch

#endif  // FLATWALL_API_WATCH_ALLOCATOR_SETTINGS_H_
