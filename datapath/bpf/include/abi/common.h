/* Flatwall ABI: basics shared by every other abi/ header — the layout-assertion macro,
 * the address type, reserved identities and the traffic directions.
 *
 * Everything under abi/ is compiled both by clang -target bpf and by g++ (C++20), and
 * depends on <linux/types.h> alone. Map structs live in maps.h, enums of verdicts and drop
 * reasons in verdict.h, ring-buffer records in event.h. */
#ifndef FLATWALL_ABI_COMMON_H_
#define FLATWALL_ABI_COMMON_H_

#include <linux/types.h>

#ifdef __cplusplus
#define FW_ABI_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define FW_ABI_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

/* Asserts a struct's size and that it has no tail padding, after its definition. */
#define FW_ABI_SIZE(type, size) FW_ABI_ASSERT(sizeof(type) == (size), #type " size")
#define FW_ABI_OFFSET(type, field, off) \
  FW_ABI_ASSERT(__builtin_offsetof(type, field) == (off), #type "." #field " offset")

/* An IP address in network byte order. IPv4 is stored IPv4-mapped (::ffff:a.b.c.d), so one
 * key type and one map serve both families, and an IPv4 prefix of length L is the IPv6
 * prefix of length 96 + L.
 * Aligned to 4 bytes so that clang copies it in words even through a pointer whose target
 * it cannot see (a BPF subprogram's argument): byte-wise copies cost ~50 instructions
 * per address. Every struct below already places it at a multiple of 4, so no layout
 * changes (the offset assertions hold). */
struct fw_addr {
  __u8 bytes[16];
} __attribute__((aligned(4)));
FW_ABI_SIZE(struct fw_addr, 16);
FW_ABI_ASSERT(__alignof__(struct fw_addr) == 4, "struct fw_addr alignment");

/* Identities: pods with equal namespace, namespace labels, pod labels and named-port table
 * share one. Values below FW_IDENTITY_FIRST_POD are reserved. */
enum fw_reserved_identity {
  FW_IDENTITY_UNKNOWN = 0,
  FW_IDENTITY_HOST = 1,  /* an address of the local node: always allowed */
  FW_IDENTITY_WORLD = 2, /* any address that is not a known pod */
  FW_IDENTITY_FIRST_POD = 256,
};

/* Policy direction, from the local pod's point of view. */
enum fw_direction {
  FW_DIR_INGRESS = 0, /* to the pod: judged on the host veth's tc egress hook */
  FW_DIR_EGRESS = 1,  /* from the pod: judged on the host veth's tc ingress hook */
  FW_DIR_COUNT = 2,
};

#endif /* FLATWALL_ABI_COMMON_H_ */
