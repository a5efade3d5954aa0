// ObjectDigest: a 64-bit digest of a decoded model object, so that the watcher can tell
// whether an object changed without keeping a copy of it (the agent's compiler keeps the
// objects; the watcher keeps one digest per key).
//
// The digest covers every field of the model (policy-compiler/model.h), so a change the
// compiler would see changes it, and a change in a field the decoder drops does not. Each
// model struct is taken apart with a structured binding, which fails to compile when a
// field is added: the new field must then be added to the digest too.
//
// Not here: decoding (api_object_decoder.h), the watcher's use (resource_watcher.h).
#ifndef FLATWALL_API_WATCH_OBJECT_DIGEST_H_
#define FLATWALL_API_WATCH_OBJECT_DIGEST_H_

#include <cstdint>

#include "policy-compiler/model.h"

namespace flatwall::apiwatch {

// Equal objects (operator==) have equal digests, in one process; unequal objects have
// unequal digests except with a probability of about 2^-64 (not cryptographic: the input
// is the API server's, not an adversary's choice of colliding objects). Not stable across
// builds; never persist it.
uint64_t ObjectDigest(const compiler::ClusterObject& object);

}  // namespace flatwall::apiwatch

#endif  // FLATWALL_API_WATCH_OBJECT_DIGEST_H_
